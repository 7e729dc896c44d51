"""The SGD explorer of lessons 5 and 6 (the spreadsheet, then ``lesson6-sgd``): fitting a
line ``y = a*x + b`` by mini-batch stochastic gradient descent, watched on the data and on
the loss surface.

The data are synthetic and seeded (:func:`sgd_data`): ``x`` uniform on [-1, 1] and
``y = 3x + 2`` plus Gaussian noise. Each step takes a random mini-batch ``B`` and
moves ``(a, b)`` against the gradient of the batch's mean squared error::

    L_B(a, b) = mean_{i in B} (a x_i + b - y_i)^2
    dL/da = 2 mean(err_i x_i),   dL/db = 2 mean(err_i),   err_i = a x_i + b - y_i
    (a, b) <- (a, b) - lr * (dL/da, dL/db)

:func:`sgd_path` returns the path of ``(a, b)``, :func:`sgd_frames` the paths and
losses of a few learning rates at the steps shown; :func:`sgd_explorer` animates them:
a rate too small (slow progress), a good one, a large and noisy one, and one too large
(divergence: the step overshoots the valley by more than it started from).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from course_utils.viz.style import (
    NEUTRAL,
    PALETTE,
    compact,
    control_label,
    finish_figure,
    frame_slider,
    option_masks,
    play_pause_buttons,
    slider_margin,
    style_figure,
    visibility_buttons,
)

__all__ = ["SGDFrames", "mse", "sgd_data", "sgd_explorer", "sgd_frames", "sgd_path"]

TRUE_A, TRUE_B = 3.0, 2.0
START = (-1.0, 1.0)  # where (a, b) starts, as in the course's notebook
A_RANGE, B_RANGE = (-2.0, 6.0), (-1.0, 5.0)  # the loss surface shown


def sgd_data(n: int = 100, noise: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points ``x ~ U(-1, 1)``, ``y = 3x + 2 + N(0, noise^2)``, from
    ``np.random.default_rng(seed)`` (x drawn first, then the noise)."""
    if n < 2:
        raise ValueError(f"need at least 2 points, got n={n}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    y = TRUE_A * x + TRUE_B + rng.normal(0.0, noise, n)
    return x, y


def mse(a, b, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean squared error of the line ``a*x + b`` on (x, y); ``a``, ``b`` may be arrays
    (of the same shape), giving the loss at each pair."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    # (..., 1) against (n,): one row of residuals per (a, b) pair
    residuals = a[..., None] * x + b[..., None] - y
    return (residuals**2).mean(axis=-1)


def sgd_path(
    lr: float,
    steps: int = 60,
    batch_size: int = 10,
    seed: int = 0,
    *,
    n: int = 100,
    noise: float = 0.5,
    start: tuple[float, float] = START,
) -> np.ndarray:
    """The parameters ``(a, b)`` after each of ``steps`` mini-batch SGD steps, from
    ``start``: an array of shape (steps + 1, 2), row 0 being ``start``.

    The data are ``sgd_data(n, noise, seed)``; the batches come from
    ``np.random.default_rng(seed + 1)``, each step drawing
    ``rng.choice(n, batch_size, replace=False)``. A diverging run overflows to inf/NaN.
    """
    if not lr > 0:
        raise ValueError(f"the learning rate must be positive, got {lr}")
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in 1..{n}, got {batch_size}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    x, y = sgd_data(n, noise, seed)
    rng = np.random.default_rng(seed + 1)
    path = np.empty((steps + 1, 2))
    a, b = path[0] = start
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            batch = rng.choice(n, batch_size, replace=False)
            err = a * x[batch] + b - y[batch]  # (batch_size,) residuals
            grad_a, grad_b = 2 * np.mean(err * x[batch]), 2 * np.mean(err)
            a, b = a - lr * grad_a, b - lr * grad_b
            path[t] = a, b
    return path


@dataclass(frozen=True)
class SGDFrames:
    """The numbers of :func:`sgd_explorer`: one run of T steps per learning rate (L of
    them), shown at F steps, on n data points and a loss surface over a grid of (a, b)."""

    lrs: tuple[float, ...]  # (L,)
    initial: int  # the index of the learning rate shown first
    batch_size: int
    x: np.ndarray  # (n,): the data
    y: np.ndarray  # (n,)
    paths: np.ndarray  # (L, T + 1, 2): (a, b) after each step, row 0 the start
    steps: np.ndarray  # (F,): the steps shown, 0 to T
    losses: np.ndarray  # (L, F): the MSE on all n points at each step shown
    grid_a: np.ndarray  # (41,): slopes, across A_RANGE
    grid_b: np.ndarray  # (31,): intercepts, across B_RANGE
    surface: np.ndarray  # (31, 41): the MSE at (grid_a[j], grid_b[i]); rows are b
    best: np.ndarray  # (2,): the least-squares (a, b), the surface's minimum


def sgd_frames(
    lrs: Sequence[float] = (0.01, 0.1, 0.5, 1.02),
    *,
    steps: int = 60,
    batch_size: int = 10,
    seed: int = 0,
    n_frames: int = 31,
    initial: int | None = None,
) -> SGDFrames:
    """The numbers of :func:`sgd_explorer`'s frames (same arguments), as arrays: a run of
    :func:`sgd_path` per learning rate, its loss at the ``n_frames`` steps shown (evenly
    spaced from 0 to ``steps``), and the loss surface."""
    lrs = [float(lr) for lr in lrs]
    if not lrs:
        raise ValueError("give at least one learning rate")
    if len(set(lrs)) != len(lrs):
        raise ValueError(f"the learning rates must be different, got {lrs}")
    initial = min(1, len(lrs) - 1) if initial is None else initial
    if not 0 <= initial < len(lrs):
        raise ValueError(f"initial must index lrs (0..{len(lrs) - 1}), got {initial}")
    x, y = sgd_data(seed=seed)
    paths = np.stack([sgd_path(lr, steps, batch_size, seed) for lr in lrs])  # (L, T + 1, 2)
    shown = np.unique(np.round(np.linspace(0, steps, min(n_frames, steps + 1))).astype(int))
    grid_a = np.linspace(*A_RANGE, 41)
    grid_b = np.linspace(*B_RANGE, 31)
    return SGDFrames(
        lrs=tuple(lrs),
        initial=initial,
        batch_size=batch_size,
        x=x,
        y=y,
        paths=paths,
        steps=shown,
        losses=mse(paths[:, shown, 0], paths[:, shown, 1], x, y),  # (L, F)
        grid_a=grid_a,
        grid_b=grid_b,
        surface=mse(grid_a[None, :], grid_b[:, None], x, y),  # (1, 41) with (31, 1)
        best=np.polyfit(x, y, 1),  # (slope, intercept)
    )


def sgd_explorer(
    lrs: Sequence[float] = (0.01, 0.1, 0.5, 1.02),
    *,
    steps: int = 60,
    batch_size: int = 10,
    seed: int = 0,
    n_frames: int = 31,
    initial: int | None = None,
    title: str | None = None,
) -> go.Figure:
    """Mini-batch SGD fitting ``y = a*x + b``: the data and the current line (left), the
    MSE over (a, b) with the path taken so far (right); a slider over the steps and one
    button per learning rate in ``lrs`` (each a precomputed run of ``steps`` steps).
    ``initial`` is the index of the learning rate shown first (default: the second, a
    good one among the defaults). The numbers are those of :func:`sgd_frames`."""
    data = sgd_frames(
        lrs, steps=steps, batch_size=batch_size, seed=seed, n_frames=n_frames, initial=initial
    )
    return _draw_sgd_explorer(data, title)


_PER_LR = 3  # the traces of each learning rate: the line, the path, the current point


def _draw_sgd_explorer(data: SGDFrames, title: str | None) -> go.Figure:
    """The explorer's figure: the data and the loss's contours, fixed; per learning rate,
    the line, the path and the current point, a frame per step shown."""
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.1,
        subplot_titles=("the data and the current line", "MSE loss over (a, b), and the path"),
    )
    _add_sgd_background(fig, data)
    first = _sgd_frame_traces(data, 0)
    for n, lr in enumerate(data.lrs):
        color, visible = PALETTE[n % len(PALETTE)], n == data.initial
        line, path, point = first[_PER_LR * n : _PER_LR * (n + 1)]
        fig.add_trace(
            go.Scatter(
                **line,
                mode="lines",
                line=dict(color=color, width=3),
                name=f"a x + b, learning rate {lr:g}",
                visible=visible,
                hoverinfo="skip",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                **path,
                mode="lines+markers",
                line=dict(color=color, width=2),
                marker=dict(size=4, color=color),
                name=f"path, learning rate {lr:g}",
                visible=visible,
                hovertemplate="a %{x:.3f}, b %{y:.3f}<extra></extra>",
            ),
            row=1,
            col=2,
        )
        fig.add_trace(
            go.Scatter(
                **point,
                mode="markers+text",
                textposition="top right",
                marker=dict(size=12, color=color, line=dict(width=1, color=NEUTRAL)),
                showlegend=False,
                visible=visible,
                hovertemplate="a %{x:.3f}, b %{y:.3f}<br>%{text}<extra></extra>",
            ),
            row=1,
            col=2,
        )

    changing = list(range(3, len(fig.data)))
    names = [f"step {s}" for s in data.steps]
    fig.frames = [
        dict(name=name, data=_sgd_frame_traces(data, f), traces=changing)
        for f, name in enumerate(names)
    ]

    fig.update_xaxes(title_text="x", range=[-1.1, 1.1], row=1, col=1)
    fig.update_yaxes(title_text="y", range=[-2.5, 6.5], row=1, col=1)
    fig.update_xaxes(title_text="slope a", range=list(A_RANGE), row=1, col=2)
    fig.update_yaxes(title_text="intercept b", range=list(B_RANGE), row=1, col=2)
    n_lrs = len(data.lrs)
    menus = [play_pause_buttons(frame_ms=200)]
    annotations = list(fig.layout.annotations)
    if n_lrs > 1:
        masks = option_masks(3, n_lrs, _PER_LR)
        labels = [f"{lr:g}" for lr in data.lrs]
        menus.append(visibility_buttons(labels, masks, active=data.initial, x=0.12, y=1.1))
        annotations.append(control_label("learning rate:", x=0.115, y=1.1))
    style_figure(
        fig,
        title or f"Mini-batch SGD fitting y = a x + b (batches of {data.batch_size})",
        height=580,
        margin=dict(l=60, r=30, t=120, b=slider_margin()),
    )
    fig.update_layout(
        updatemenus=menus,
        annotations=annotations,
        sliders=[frame_slider(names, [str(s) for s in data.steps], "step: ")],
        showlegend=False,
    )
    return finish_figure(fig)


def _add_sgd_background(fig: go.Figure, data: SGDFrames) -> None:
    """The traces every frame keeps: the data (left), the loss's contours and its
    minimum (right)."""
    fig.add_trace(
        go.Scatter(
            x=compact(data.x, 3),
            y=compact(data.y, 3),
            mode="markers",
            marker=dict(color=NEUTRAL, size=6),
            name="data",
            hovertemplate="x %{x:.2f}, y %{y:.2f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Contour(
            x=compact(data.grid_a, 3),
            y=compact(data.grid_b, 3),
            z=compact(data.surface, 3),
            contours=dict(coloring="lines", showlabels=True, start=1, end=41, size=2.5),
            colorscale=[[0, NEUTRAL], [1, NEUTRAL]],
            line=dict(width=1),
            showscale=False,
            name="MSE",
            hovertemplate="a %{x:.2f}, b %{y:.2f}<br>MSE %{z:.2f}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    best_a, best_b = data.best
    fig.add_trace(
        go.Scatter(
            x=[round(best_a, 3)],
            y=[round(best_b, 3)],
            mode="markers+text",
            text=["minimum"],
            textposition="bottom center",
            marker=dict(symbol="x", size=11, color=NEUTRAL),
            name=f"minimum: a {best_a:.2f}, b {best_b:.2f}",
            hovertemplate="least squares: a %{x:.2f}, b %{y:.2f}<extra></extra>",
        ),
        row=1,
        col=2,
    )


def _sgd_frame_traces(data: SGDFrames, f: int) -> list[dict]:
    """Frame ``f``'s data, per learning rate: the line, the path so far and the current
    point (plain dicts: plotly validates them once, when the frames are set)."""
    step = int(data.steps[f])
    traces = []
    for path, losses in zip(data.paths, data.losses, strict=True):
        a, b = path[step]
        traces += [
            # the line y = a x + b across the data's x range, [-1, 1]
            dict(type="scatter", x=[-1, 1], y=compact([b - a, b + a], 3)),
            dict(
                type="scatter",
                x=compact(path[: step + 1, 0], 3),
                y=compact(path[: step + 1, 1], 3),
            ),
            dict(
                type="scatter",
                x=compact([a], 3),
                y=compact([b], 3),
                text=[f"MSE {losses[f]:.3g}"],
            ),
        ]
    return traces
