"""Training diagnostics, the plots of lessons 1-2 (and every lesson after them): the
learning-rate finder, the schedules (one-cycle, SGDR), the losses of a fit, the
confusion matrix, a grid of images (the most confident mistakes) and a 2-D PCA of
embeddings (lesson 4's movie embeddings).

Each function takes the library's plain data (:class:`~course_utils.lr_finder.LRFinderResult`,
a :class:`~course_utils.callbacks.Recorder`, a confusion-matrix array,
:class:`~course_utils.interpret.Examples`) and returns a Plotly figure.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from course_utils.lr_finder import auto_beta
from course_utils.schedules import one_cycle_lr, one_cycle_mom, sgdr_epochs, sgdr_lr
from course_utils.viz.style import NEUTRAL, PALETTE, compact, finish_figure, style_figure

__all__ = [
    "example_titles",
    "pca_2d",
    "plot_confusion_matrix",
    "plot_embeddings_pca",
    "plot_image_grid",
    "plot_losses",
    "plot_lr_find",
    "plot_one_cycle",
    "plot_schedule",
    "plot_sgdr",
]

LR_AXIS_TITLE = "learning rate (log scale)"


# --------------------------------------------------------------------------- lr_find
def plot_lr_find(result, *, title: str | None = None) -> go.Figure:
    """The learning-rate finder's sweep: raw and smoothed loss against the learning rate
    (log axis), the suggestion (``result.suggestion``) as a vertical line, the minimum of
    the smoothed loss marked."""
    lrs = np.asarray(result.lrs, dtype=np.float64)
    raw = np.asarray(result.losses, dtype=np.float64)
    smoothed = np.asarray(result.smoothed_losses, dtype=np.float64)
    if len(lrs) < 2:
        raise ValueError(f"the finder's result has {len(lrs)} points: run lr_find first")
    if not len(lrs) == len(raw) == len(smoothed):
        raise ValueError(
            f"lrs, losses and smoothed_losses differ in length: "
            f"{len(lrs)}, {len(raw)}, {len(smoothed)}"
        )
    if not (np.isfinite(lrs).all() and (lrs > 0).all()):
        raise ValueError("learning rates must be positive and finite (they go on a log axis)")
    if not np.isfinite(smoothed).any():
        raise ValueError("every smoothed loss is NaN or infinite")
    i_min = int(np.nanargmin(np.where(np.isfinite(smoothed), smoothed, np.nan)))
    suggestion, lr_min = float(result.suggestion), float(lrs[i_min])

    # y range: from the lowest loss to the starting level, so a divergence at the end goes
    # off the top instead of squashing the interesting part
    low = float(np.nanmin(np.where(np.isfinite(raw), raw, np.nan)[: i_min + 1]))
    low = min(low, float(smoothed[i_min]))
    high = float(np.nanmax(smoothed[: i_min + 1]))
    pad = 0.15 * (high - low) if high > low else 0.1 * abs(high) or 0.1
    y_range = [low - pad, high + 2 * pad]

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=compact(lrs, significant=6),
            y=compact(raw, 4),
            mode="lines",
            line=dict(color=NEUTRAL, width=1),
            name="loss of each batch" + (" (stopped: diverged)" if result.diverged else ""),
            hovertemplate="lr %{x:.2e}: loss %{y:.4f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=compact(lrs, significant=6),
            y=compact(smoothed, 4),
            mode="lines",
            line=dict(color=PALETTE[0], width=3),
            name="smoothed loss",
            hovertemplate="lr %{x:.2e}: smoothed loss %{y:.4f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[suggestion, suggestion],
            y=y_range,
            mode="lines+text",
            text=["", f"suggestion: {suggestion:.1e}"],
            textposition="bottom right",
            line=dict(color=PALETTE[2], width=2, dash="dash"),
            name=f"suggestion: {suggestion:.1e} (minimum / 10)",
            hovertemplate=f"suggested learning rate {suggestion:.2e}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[lr_min],
            y=[round(float(smoothed[i_min]), 4)],
            mode="markers+text",
            text=[f"minimum at {lr_min:.1e}"],
            textposition="bottom center",
            marker=dict(color=PALETTE[3], size=12, symbol="diamond"),
            name="minimum of the smoothed loss",
            hovertemplate="lr %{x:.2e}: smoothed loss %{y:.4f}<extra></extra>",
        )
    )
    style_figure(fig, title or "Learning-rate finder", height=450)
    fig.update_xaxes(title_text=LR_AXIS_TITLE, type="log", exponentformat="power")
    fig.update_yaxes(title_text="loss", range=y_range)
    fig.update_layout(legend=dict(x=0.01, y=0.01, xanchor="left", yanchor="bottom"))
    return finish_figure(fig)


# --------------------------------------------------------------------------- schedules
def _schedule_figure(
    title: str, lrs: np.ndarray, moms: np.ndarray, restarts: Sequence[int] = ()
) -> go.Figure:
    """Learning rate (top) and momentum (bottom) against the iteration, one x axis for
    both; a constant momentum gets a note instead of a flat panel of its own."""
    constant = bool(len(moms)) and bool(np.all(moms == moms[0]))
    rows = 1 if constant else 2
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    iters = list(range(len(lrs)))
    fig.add_trace(
        go.Scatter(
            x=iters,
            y=compact(lrs, significant=6),
            mode="lines",
            line=dict(color=PALETTE[0], width=3),
            name="learning rate",
            hovertemplate="iteration %{x}: lr %{y:.3e}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if not constant:
        fig.add_trace(
            go.Scatter(
                x=iters,
                y=compact(moms, 5),
                mode="lines",
                line=dict(color=PALETTE[1], width=3),
                name="momentum",
                hovertemplate="iteration %{x}: momentum %{y:.3f}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    for it in restarts:  # a dotted line where each SGDR cycle restarts
        fig.add_vline(x=it, line=dict(color=NEUTRAL, width=1, dash="dot"), row="all", col=1)
    style_figure(fig, title, height=380 if constant else 470, hovermode="x unified")
    fig.update_yaxes(title_text="learning rate", exponentformat="e", row=1, col=1)
    # the x axis is shared: its title and tick labels under the bottom panel only
    fig.update_xaxes(title_text="iteration (mini-batch)", row=rows, col=1)
    if constant:
        fig.add_annotation(
            text=f"momentum: constant at {float(moms[0]):g} (only the learning rate changes)",
            x=0,
            y=1,
            xref="paper",
            yref="paper",
            xanchor="left",
            yanchor="bottom",
            yshift=6,
            showarrow=False,
        )
    else:
        fig.update_yaxes(title_text="momentum", row=2, col=1)
    fig.update_layout(showlegend=False)
    return finish_figure(fig)


def _positions(n_iter: int) -> list[float]:
    """The training progress before each batch, as the Learner computes it:
    ``pct_train = i / n_iter`` for i = 0 .. n_iter - 1."""
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"the number of iterations must be a positive int, got {n_iter!r}")
    return [i / n_iter for i in range(n_iter)]


def plot_one_cycle(
    n_iter: int = 300,
    max_lr: float = 1e-3,
    *,
    pct_start: float = 0.25,
    div: float = 25.0,
    div_final: float = 1e5,
    moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
    title: str | None = None,
) -> go.Figure:
    """The one-cycle policy over ``n_iter`` iterations: the learning rate from
    :func:`~course_utils.schedules.one_cycle_lr`, the momentum from
    :func:`~course_utils.schedules.one_cycle_mom`."""
    lr_sched = one_cycle_lr(max_lr, pct_start, div, div_final)
    mom_sched = one_cycle_mom(moms, pct_start)
    pos = _positions(n_iter)
    return _schedule_figure(
        title or f"One-cycle schedule (max lr {max_lr:g}, {n_iter} iterations)",
        np.array([lr_sched(p) for p in pos], dtype=np.float64),
        np.array([mom_sched(p) for p in pos], dtype=np.float64),
    )


def plot_sgdr(
    lr: float = 1e-2,
    n_cycles: int = 3,
    cycle_len: int = 1,
    cycle_mult: int = 2,
    *,
    iters_per_epoch: int = 100,
    lr_min: float = 0.0,
    momentum: float = 0.9,
    title: str | None = None,
) -> go.Figure:
    """SGDR, cosine annealing with warm restarts (:func:`~course_utils.schedules.sgdr_lr`):
    ``n_cycles`` cycles of ``cycle_len * cycle_mult**i`` epochs of ``iters_per_epoch``
    iterations; restarts dotted. SGDR leaves the momentum at ``momentum``, which a note
    says (no flat momentum panel)."""
    epochs = sgdr_epochs(n_cycles, cycle_len, cycle_mult)  # also checks the arguments
    sched = sgdr_lr(lr, n_cycles, cycle_len, cycle_mult, lr_min)
    pos = _positions(sum(epochs) * iters_per_epoch)
    restarts = np.cumsum(epochs)[:-1] * iters_per_epoch  # first iteration of cycles 2..
    return _schedule_figure(
        title
        or (
            f"SGDR: {n_cycles} cycles, cycle_len {cycle_len}, cycle_mult {cycle_mult} "
            f"({sum(epochs)} epochs)"
        ),
        np.array([sched(p) for p in pos], dtype=np.float64),
        np.full(len(pos), momentum),
        restarts=[int(r) for r in restarts],
    )


def plot_schedule(kind: str = "one-cycle", **kwargs) -> go.Figure:
    """``plot_one_cycle(**kwargs)`` for ``kind="one-cycle"``, ``plot_sgdr(**kwargs)`` for
    ``kind="sgdr"``."""
    builders = {"one-cycle": plot_one_cycle, "sgdr": plot_sgdr}
    if kind not in builders:
        raise ValueError(f"unknown schedule {kind!r}: choose one of {list(builders)}")
    return builders[kind](**kwargs)


# --------------------------------------------------------------------------- losses
def _smooth(values: np.ndarray, beta: float) -> np.ndarray:
    """Exponential moving average with bias correction, as the LR finder smooths:
    avg_i = beta avg_{i-1} + (1 - beta) x_i, smoothed_i = avg_i / (1 - beta^(i+1))."""
    out, avg = np.empty(len(values)), 0.0
    for i, value in enumerate(values):
        avg = beta * avg + (1 - beta) * value
        out[i] = avg / (1 - beta ** (i + 1))
    return out


LOG_LOSS_RANGE = 100.0  # plot_losses switches to a log axis when losses span more than this


def plot_losses(
    recorder, *, beta: float | None = None, log_y: bool | None = None, title: str | None = None
) -> go.Figure:
    """A fit's losses: the training loss of each batch (raw and smoothed, ``beta`` as the
    LR finder) and the validation loss after each epoch, against the iteration; the
    metrics against the epoch in a second panel (if the recorder has any).

    ``beta`` None: an average over about a tenth of the run (:func:`auto_beta`), so that
    the smoothed curve follows the loss instead of trailing behind it. ``log_y`` None: a
    logarithmic loss axis when the positive losses span more than ``LOG_LOSS_RANGE``
    (a validation loss that spikes to hundreds would flatten every other curve).

    Epochs are taken to be of equal length (``len(recorder.losses) / epochs`` batches).
    """
    losses = np.asarray(recorder.losses, dtype=np.float64)
    valid = np.asarray(recorder.valid_losses, dtype=np.float64)
    metrics = {name: list(v) for name, v in (getattr(recorder, "metrics", None) or {}).items()}
    if len(losses) == 0:
        raise ValueError("the recorder holds no losses: train first (learn.fit)")
    if beta is None:
        beta = auto_beta(len(losses), window_fraction=0.1)
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    for name, values in metrics.items():
        if len(values) != len(valid):
            raise ValueError(
                f"metric {name!r} has {len(values)} values for {len(valid)} epochs of "
                "validation losses"
            )
    n_epochs = len(valid)
    # the iteration at which each epoch ends (validation runs then)
    epoch_ends = [round((e + 1) * len(losses) / n_epochs) - 1 for e in range(n_epochs)]

    cols = 2 if metrics else 1
    fig = make_subplots(
        rows=1,
        cols=cols,
        column_widths=[0.62, 0.38] if cols == 2 else None,
        horizontal_spacing=0.1,
        subplot_titles=("losses", "metrics on the validation set")[:cols],
    )
    iters = list(range(len(losses)))
    fig.add_trace(
        go.Scatter(
            x=iters,
            y=compact(losses, 4),
            mode="lines",
            line=dict(color=NEUTRAL, width=1),
            name="training loss (each batch)",
            hovertemplate="iteration %{x}: loss %{y:.4f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=iters,
            y=compact(_smooth(losses, beta), 4),
            mode="lines",
            line=dict(color=PALETTE[0], width=3),
            name="training loss (smoothed)",
            hovertemplate="iteration %{x}: smoothed loss %{y:.4f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=epoch_ends,
            y=compact(valid, 4),
            mode="lines+markers",
            line=dict(color=PALETTE[1], width=3),
            marker=dict(size=9),
            name="validation loss (each epoch)",
            customdata=list(range(1, n_epochs + 1)),
            hovertemplate="epoch %{customdata}: validation loss %{y:.4f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    for n, (name, values) in enumerate(metrics.items()):
        fig.add_trace(
            go.Scatter(
                x=list(range(1, n_epochs + 1)),
                y=compact(values, 4),
                mode="lines+markers",
                line=dict(color=PALETTE[(n + 2) % len(PALETTE)], width=3),
                marker=dict(size=9),
                name=name,
                hovertemplate=f"epoch %{{x}}: {name} %{{y:.4f}}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    style_figure(fig, title or "Training and validation losses", height=450)
    fig.update_xaxes(title_text="iteration (mini-batch)", row=1, col=1)
    if log_y is None:
        shown = np.concatenate([losses, valid])
        shown = shown[np.isfinite(shown)]
        log_y = bool((shown > 0).all() and shown.max() > LOG_LOSS_RANGE * shown.min())
    fig.update_yaxes(
        title_text="loss (log scale)" if log_y else "loss",
        type="log" if log_y else "linear",
        row=1,
        col=1,
    )
    if metrics:
        fig.update_xaxes(title_text="epoch", dtick=1, row=1, col=2)
        fig.update_yaxes(title_text="metric value", row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.18, yanchor="top"))
    fig.update_layout(margin=dict(b=110))
    return finish_figure(fig)


# --------------------------------------------------------------------------- confusion
def plot_confusion_matrix(
    cm, classes: Sequence[str] | None = None, *, title: str | None = None
) -> go.Figure:
    """The confusion matrix ``cm[actual, predicted]`` (as
    :func:`course_utils.metrics.confusion_matrix` and
    :meth:`~course_utils.interpret.Interpretation.confusion_matrix` return it) as a
    heatmap with the count in each cell, read like a table: actual classes down the
    rows, predicted classes across the columns."""
    if hasattr(cm, "detach"):
        cm = cm.detach().cpu().numpy()
    counts = np.asarray(cm)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"a confusion matrix is square (C, C), got shape {counts.shape}")
    if not (np.isfinite(counts).all() and (counts >= 0).all() and (counts == counts.round()).all()):
        raise ValueError("a confusion matrix holds counts: non-negative whole numbers")
    counts = counts.astype(np.int64)
    n = len(counts)
    classes = [str(c) for c in classes] if classes is not None else [str(i) for i in range(n)]
    if len(classes) != n:
        raise ValueError(f"got {len(classes)} class names for a {n}x{n} confusion matrix")
    hover = [
        [f"actual {a}, predicted {p}: {counts[i, j]}" for j, p in enumerate(classes)]
        for i, a in enumerate(classes)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=counts.tolist(),
            x=classes,
            y=classes,
            text=[[str(v) for v in row] for row in counts.tolist()],
            texttemplate="%{text}",
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            colorscale="Viridis",  # sequential and colour-blind safe
            zmin=0,
            colorbar=dict(title=dict(text="count")),
        )
    )
    side = min(900, 260 + 36 * n)
    style_figure(fig, title or "Confusion matrix", height=side)
    # categories: class names such as "3" must not become numbers on a linear axis
    fig.update_xaxes(title_text="predicted", type="category", tickangle=-45 if n > 8 else 0)
    fig.update_yaxes(title_text="actual", type="category", autorange="reversed", scaleanchor="x")
    return finish_figure(fig)


# --------------------------------------------------------------------------- images
def _as_uint8_image(image, size: int) -> np.ndarray:
    """An image as uint8 (H, W) or (H, W, 3), shrunk (area averaging) to at most
    ``size`` px per side."""
    from PIL import Image

    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 4:
        array = array[..., :3]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)):
        raise ValueError(
            f"an image must be (H, W) or (H, W, 3) (channels last), got shape {array.shape}"
        )
    if array.dtype != np.uint8:
        if array.size and (np.nanmin(array) < 0 or np.nanmax(array) > 255):
            raise ValueError("image values must be in 0..255 (uint8) or 0..1 (float)")
        scale = 255.0 if array.size and np.nanmax(array) <= 1.0 else 1.0
        array = np.clip(np.round(np.nan_to_num(array) * scale), 0, 255).astype(np.uint8)
    if max(array.shape[:2]) > size:
        factor = size / max(array.shape[:2])
        height, width = (max(1, round(n * factor)) for n in array.shape[:2])
        array = np.asarray(Image.fromarray(array).resize((width, height), Image.Resampling.BOX))
    return array


def _png_data_uri(array: np.ndarray) -> str:
    """A uint8 image as a PNG ``data:`` URI: lossless and far smaller than the pixels
    written out in the JSON."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def example_titles(examples, classes: Sequence[str], *, sep: str = "<br>") -> list[str]:
    """Titles "actual X / predicted Y (p)" for :class:`~course_utils.interpret.Examples`
    (``Interpretation.most_confident_wrong()`` and the like)."""
    return [
        f"actual {classes[int(a)]}{sep}predicted {classes[int(p)]} ({prob:.2f})"
        for a, p, prob in zip(examples.actual, examples.predicted, examples.probs, strict=True)
    ]


# The book's content column, in pixels, and the size of the images' titles: the grid is
# laid out for that width, so that the titles stay readable and clear of each other.
COLUMN_PX = 700
IMAGE_TITLE_FONT = 12


def _grid_columns(n: int, most: int, longest_line: int, width_px: float, gap_px: float) -> int:
    """Columns for ``n`` images: at most ``most``, fewer if titles whose longest line has
    ``longest_line`` characters would not fit side by side in ``width_px``, then spread
    evenly over the rows (8 images in at most 6 columns: 2 rows of 4, not 6 and 2)."""
    title_px = 0.55 * IMAGE_TITLE_FONT * longest_line + 8  # about 0.55 em a character
    fit = max(1, int((width_px + gap_px) // (title_px + gap_px)))
    cols = max(1, min(most, fit, n))
    rows = math.ceil(n / cols)
    return math.ceil(n / rows)


def plot_image_grid(
    images: Sequence,
    titles: Sequence[str] | None = None,
    *,
    cols: int | None = None,
    size: int = 64,
    title: str | None = None,
) -> go.Figure:
    """A grid of small images (uint8 (H, W, 3) or (H, W), or floats in [0, 1]), each
    shrunk to at most ``size`` px per side, with ``titles`` above them (see
    :func:`example_titles`; ``"<br>"`` breaks a line).

    ``cols`` is the most columns (default 6): fewer are used when the titles would not fit
    side by side in the book's column (about 700 px), and the images are spread evenly
    over the rows.
    """
    images = list(images)
    if not images:
        raise ValueError("no images to show")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    if not 1 <= size <= 512:  # the page's column is about 700 px wide
        raise ValueError(f"size must be 1..512 px, got {size}")
    if cols is not None and cols < 1:
        raise ValueError(f"cols must be at least 1, got {cols}")
    pixels = [_as_uint8_image(image, size) for image in images]
    texts = [str(t) for t in titles] if titles is not None else None
    lines = [line for t in texts or [] for line in t.split("<br>")]
    margin = dict(l=20, r=20, b=20)
    width_px = COLUMN_PX - margin["l"] - margin["r"]
    gap_px = 16
    cols = _grid_columns(len(images), cols or 6, max(map(len, lines), default=0), width_px, gap_px)
    rows = math.ceil(len(images) / cols)
    # Pixels: each image as wide as its column (at most 200 px high, or `size` if larger),
    # its title above it
    cell_px = (width_px - (cols - 1) * gap_px) / cols
    aspect = max(a.shape[0] / a.shape[1] for a in pixels)  # the tallest image's height / width
    image_px = min(max(200.0, size), cell_px * min(aspect, 1.5))
    n_lines = max((t.count("<br>") + 1 for t in texts or []), default=0)
    title_px = round(1.35 * IMAGE_TITLE_FONT * n_lines) + 8 if n_lines else 0
    plot_px = rows * image_px + (rows - 1) * title_px
    margin["t"] = 60 + title_px
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=texts,
        horizontal_spacing=gap_px / width_px,
        vertical_spacing=title_px / plot_px if rows > 1 else 0.0,
    )
    for n, (array, text) in enumerate(zip(pixels, texts or [""] * len(pixels), strict=True)):
        fig.add_trace(
            go.Image(
                source=_png_data_uri(array),
                name=f"image {n}",
                hovertemplate=f"{text.replace('<br>', ', ') or f'image {n}'}<extra></extra>",
            ),
            row=n // cols + 1,
            col=n % cols + 1,
        )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_annotations(font_size=IMAGE_TITLE_FONT)
    style_figure(
        fig,
        title or "Examples",
        height=round(plot_px + margin["t"] + margin["b"]),
        margin=margin,
    )
    return finish_figure(fig)


# --------------------------------------------------------------------------- PCA
def pca_2d(embeddings) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of ``embeddings`` (N, D): the coordinates
    (N, 2) and the fraction of the variance each explains (2,).

    Centre the rows, take the SVD ``X_c = U S V^T``; the coordinates are
    ``X_c V[:, :2] = U[:, :2] S[:2]`` and component k explains ``S_k^2 / sum S^2`` of the
    variance. Signs are arbitrary; each axis is flipped so that its largest loading is
    positive.
    """
    if hasattr(embeddings, "detach"):
        embeddings = embeddings.detach().cpu().numpy()
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(
            f"embeddings must be 2-D (N, D) with N >= 2 rows and D >= 2 columns, got {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError("the embeddings have NaN or infinite values")
    centred = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)  # (N, K), (K,), (K, D)
    signs = np.sign(vt[np.arange(2), np.abs(vt[:2]).argmax(axis=1)])  # (2,)
    signs[signs == 0] = 1
    coords = u[:, :2] * s[:2] * signs  # (N, 2)
    total = float((s**2).sum())
    explained = (s[:2] ** 2) / total if total > 0 else np.zeros(2)
    return coords, explained


def plot_embeddings_pca(
    embeddings,
    labels: Sequence | None = None,
    hover: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> go.Figure:
    """Embeddings (N, D) projected on their first two principal components (:func:`pca_2d`),
    one colour per label, ``hover`` texts (e.g. movie titles) on each point; the axis
    titles give the share of the variance each component explains."""
    coords, explained = pca_2d(embeddings)
    n = len(coords)
    if labels is None:
        labels = ["all"] * n
    labels = [str(label) for label in labels]
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} embeddings")
    if hover is not None and len(hover) != n:
        raise ValueError(f"got {len(hover)} hover texts for {n} embeddings")
    groups = list(dict.fromkeys(labels))  # the labels in order of first appearance
    symbols = ["circle", "square", "diamond", "triangle-up", "x", "cross"]
    fig = go.Figure()
    for g, group in enumerate(groups):
        rows = [i for i, label in enumerate(labels) if label == group]
        names = [str(hover[i]) for i in rows] if hover is not None else [group] * len(rows)
        fig.add_trace(
            go.Scatter(
                x=compact(coords[rows, 0], 4),
                y=compact(coords[rows, 1], 4),
                mode="markers",
                marker=dict(
                    color=PALETTE[g % len(PALETTE)],
                    symbol=symbols[(g // len(PALETTE)) % len(symbols)],
                    size=8,
                    opacity=0.85,
                ),
                name=group,
                text=names,
                customdata=rows,  # the row of each point in `embeddings`
                hovertemplate="%{text}<br>PC1 %{x:.3f}, PC2 %{y:.3f}<extra>" + group + "</extra>",
            )
        )
    style_figure(fig, title or "Embeddings: the first two principal components", height=550)
    fig.update_xaxes(title_text=f"PC1 ({100 * explained[0]:.1f}% of the variance)")
    fig.update_yaxes(title_text=f"PC2 ({100 * explained[1]:.1f}% of the variance)")
    fig.update_layout(showlegend=len(groups) > 1)
    return finish_figure(fig)
