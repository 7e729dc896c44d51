"""The optimiser race of lesson 5: SGD, SGD with momentum and Adam on a 2-D function.

Two surfaces show why momentum and Adam help:

* ``"ill-conditioned"``: ``f(x, y) = (x^2 + 25 y^2) / 2``, a valley 25 times steeper
  across (y) than along (x). Plain SGD must keep ``lr < 2/25`` or it diverges across the
  valley, and with such a rate it crawls along it; momentum accumulates the consistent
  x-gradient and damps the alternating y one; Adam divides each coordinate's step by its
  own gradient scale.
* ``"rosenbrock"``: ``f(x, y) = (1 - x)^2 + 100 (y - x^2)^2``, a curved, flat-bottomed
  valley with its minimum at (1, 1): easy to reach, slow to follow.

The optimisers are those of :mod:`course_utils.optim` (the lesson's from-scratch
``SGD`` and ``Adam``, equal to ``torch.optim``'s), or ``torch.optim`` if that module
cannot be imported; :data:`OPTIMIZERS_FROM` says which. The momentum control sets
SGD's momentum and Adam's ``beta1`` (its momentum), as fastai's schedulers do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from course_utils.viz.style import (
    NEUTRAL,
    PALETTE,
    compact,
    control_label,
    finish_figure,
    frame_slider,
    play_pause_buttons,
    slider_margin,
    style_figure,
    visibility_buttons,
)

try:
    from course_utils.optim import SGD, Adam

    OPTIMIZERS_FROM = "course_utils.optim"
except ImportError:  # pragma: no cover - the from-scratch module is part of the package
    from torch.optim import SGD, Adam

    OPTIMIZERS_FROM = "torch.optim"

__all__ = ["OPTIMIZERS_FROM", "SURFACES", "optimizer_paths", "optimizer_race"]


def _ill_conditioned(x, y):
    return 0.5 * (x**2 + 25 * y**2)


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


# Per surface: the function (of tensors or arrays), its minimum, where the race starts,
# the view, the default steps and learning rates (SGD's and Adam's, matched pairs).
SURFACES: dict[str, dict] = {
    "ill-conditioned": dict(
        f=_ill_conditioned,
        formula="f(x, y) = (x² + 25 y²) / 2",
        minimum=(0.0, 0.0),
        start=(-7.0, 1.5),
        x_range=(-8.0, 2.0),
        y_range=(-2.5, 2.5),
        steps=60,
        lrs=(0.02, 0.05, 0.085),
        adam_lrs=(0.1, 0.3, 1.0),
        log_levels=False,
    ),
    "rosenbrock": dict(
        f=_rosenbrock,
        formula="f(x, y) = (1 − x)² + 100 (y − x²)²",
        minimum=(1.0, 1.0),
        start=(-1.5, 2.0),
        x_range=(-2.0, 2.0),
        y_range=(-1.0, 3.0),
        steps=400,
        lrs=(5e-4, 1e-3, 1.5e-3),
        adam_lrs=(0.03, 0.1, 0.3),
        log_levels=True,
    ),
}
NAMES = ("SGD", "SGD + momentum", "Adam")


def _surface(name: str) -> dict:
    if name not in SURFACES:
        raise ValueError(f"unknown surface {name!r}: choose one of {list(SURFACES)}")
    return SURFACES[name]


def _run_many(makers: Sequence[Callable], f: Callable, start, steps: int) -> np.ndarray:
    """Minimise ``f`` from ``start`` with one optimiser per maker (``params -> optimizer``),
    all at once: the paths, shape (steps + 1, len(makers), 2).

    Each run has its own (2,) parameter tensor and optimiser; one forward and backward
    pass serves them all, since the gradient of sum_k f(p_k) with respect to p_k is
    the gradient of f at p_k. (Much faster than one run after another: each step is a
    few dozen tiny tensor operations, whose cost is Python's, not the arithmetic's.)
    """
    params = [torch.tensor(start, dtype=torch.float64, requires_grad=True) for _ in makers]
    opts = [make(ps) for make, ps in zip(makers, ([p] for p in params), strict=True)]
    paths = torch.empty(steps + 1, len(params), 2, dtype=torch.float64)
    with torch.no_grad():
        paths[0] = torch.stack(params)
        for t in range(1, steps + 1):
            for opt in opts:
                opt.zero_grad()
            with torch.enable_grad():
                stacked = torch.stack(params)  # (runs, 2): rows (x, y)
                f(stacked[:, 0], stacked[:, 1]).sum().backward()  # p.grad = (df/dx, df/dy)
            for opt in opts:
                opt.step()
            paths[t] = torch.stack(params)
    return paths.numpy()


def _makers(lr: float, adam_lr: float, momentum: float) -> list[Callable]:
    """The three racers' optimisers, in the order of :data:`NAMES`."""
    return [
        lambda ps: SGD(ps, lr=lr),
        lambda ps: SGD(ps, lr=lr, momentum=momentum),
        lambda ps: Adam(ps, lr=adam_lr, betas=(momentum, 0.999)),
    ]


def _check_settings(lr: float, adam_lr: float, momentum: float, steps: int) -> None:
    if not (lr > 0 and adam_lr > 0):
        raise ValueError(f"learning rates must be positive, got lr={lr}, adam_lr={adam_lr}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")


def optimizer_paths(
    surface: str = "ill-conditioned",
    *,
    lr: float | None = None,
    momentum: float = 0.9,
    adam_lr: float | None = None,
    steps: int | None = None,
    start: tuple[float, float] | None = None,
) -> dict[str, np.ndarray]:
    """The paths of SGD, SGD with ``momentum`` and Adam (``betas=(momentum, 0.999)``)
    on ``surface``: ``{"SGD": (steps + 1, 2), "SGD + momentum": ..., "Adam": ...}``,
    row 0 being ``start``. Defaults (learning rates, steps, start) are the surface's
    middle settings in :data:`SURFACES`.
    """
    spec = _surface(surface)
    lr = spec["lrs"][1] if lr is None else lr
    adam_lr = spec["adam_lrs"][1] if adam_lr is None else adam_lr
    steps = spec["steps"] if steps is None else steps
    start = spec["start"] if start is None else start
    _check_settings(lr, adam_lr, momentum, steps)
    paths = _run_many(_makers(lr, adam_lr, momentum), spec["f"], start, steps)
    return {name: paths[:, k] for k, name in enumerate(NAMES)}


def optimizer_race(
    surface: str = "ill-conditioned",
    lrs: Sequence[float] | None = None,
    momentum: Sequence[float] = (0.5, 0.9),
    *,
    adam_lrs: Sequence[float] | None = None,
    steps: int | None = None,
    n_frames: int = 31,
    max_points: int = 60,
    initial: tuple[int, int] | None = None,
    title: str | None = None,
) -> go.Figure:
    """SGD, SGD + momentum and Adam racing down ``surface``'s contours, a frame per few
    steps; buttons choose the (learning rate, momentum) pair, among every combination of
    ``lrs`` (SGD's, matched with ``adam_lrs`` for Adam) and ``momentum``.

    Each path drawn holds at most ``max_points`` points (every k-th step), to keep the
    figure small; the current positions are exact. ``initial`` = (index in ``lrs``, index
    in ``momentum``) is the pair shown first; default the middle rate, the last momentum.
    """
    spec = _surface(surface)
    lrs = list(spec["lrs"] if lrs is None else lrs)
    adam_lrs = list(spec["adam_lrs"] if adam_lrs is None else adam_lrs)
    if len(adam_lrs) != len(lrs):
        raise ValueError(f"give one Adam learning rate per SGD one: {adam_lrs} for {lrs}")
    momentum = list(momentum)
    if not lrs or not momentum:
        raise ValueError("give at least one learning rate and one momentum")
    steps = spec["steps"] if steps is None else steps
    i_lr, i_mom = (len(lrs) // 2, len(momentum) - 1) if initial is None else initial
    if not (0 <= i_lr < len(lrs) and 0 <= i_mom < len(momentum)):
        raise ValueError(f"initial must index (lrs, momentum), got {initial}")
    shown_first = i_lr * len(momentum) + i_mom  # combos run over lrs, then momentum
    combos = [(lr, alr, mom) for lr, alr in zip(lrs, adam_lrs, strict=True) for mom in momentum]
    for lr, alr, mom in combos:
        _check_settings(lr, alr, mom, steps)
    # every run at once: (steps + 1, 3 * len(combos), 2), the racers of combo c at 3c..3c+2
    together = _run_many(
        [make for combo in combos for make in _makers(*combo)], spec["f"], spec["start"], steps
    )
    runs = [
        {name: together[:, 3 * c + k] for k, name in enumerate(NAMES)} for c in range(len(combos))
    ]
    shown = np.unique(np.round(np.linspace(0, steps, min(n_frames, steps + 1))).astype(int))
    stride = max(1, int(np.ceil(steps / max_points)))  # path points drawn: every stride-th step

    f = spec["f"]
    gx = np.linspace(*spec["x_range"], 81)
    gy = np.linspace(*spec["y_range"], 61)
    z = f(gx[None, :], gy[:, None])  # (61, 81): rows are y, columns x
    if spec["log_levels"]:
        # a curved valley spanning 4 orders of magnitude: contours of log10 f
        z, z_label = np.log10(z + 1e-3), "log₁₀ f"
        # one level per power of ten: finer levels crowd together along the valley floor
        contours = dict(coloring="lines", showlabels=True, start=-1, end=3, size=1)
    else:
        z, z_label = z, "f"
        contours = dict(coloring="lines", showlabels=True, start=1, end=121, size=8)
    fig = go.Figure(
        go.Contour(
            x=compact(gx, 3),
            y=compact(gy, 3),
            z=compact(z, 3),
            contours=contours,
            colorscale=[[0, NEUTRAL], [1, NEUTRAL]],
            line=dict(width=1),
            showscale=False,
            name=z_label,
            showlegend=False,
            hovertemplate=f"x %{{x:.2f}}, y %{{y:.2f}}<br>{z_label} %{{z:.3g}}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[spec["minimum"][0]],
            y=[spec["minimum"][1]],
            mode="markers+text",
            text=["minimum"],
            textposition="bottom center",
            marker=dict(symbol="star", size=14, color=NEUTRAL),
            showlegend=False,
            hoverinfo="skip",
        )
    )

    def frame_traces(step: int) -> list[dict]:
        """Per combination and optimiser: the path so far and the current point."""
        traces = []
        kept = np.arange(0, step + 1, stride)  # (k,) the steps drawn
        for paths in runs:
            for name in NAMES:
                path = paths[name]
                here = path[step]
                loss = float(f(*here))
                traces += [
                    dict(
                        type="scatter",
                        x=compact(np.append(path[kept, 0], here[0]), 3),
                        y=compact(np.append(path[kept, 1], here[1]), 3),
                    ),
                    dict(
                        type="scatter",
                        x=compact([here[0]], 4),
                        y=compact([here[1]], 4),
                        text=[f"{name}: f = {loss:.3g}"],
                    ),
                ]
        return traces

    first = frame_traces(int(shown[0]))
    for c, (lr, alr, mom) in enumerate(combos):
        for o, name in enumerate(NAMES):
            color, visible = PALETTE[o], c == shown_first
            label = {
                "SGD": f"SGD, lr {lr:g}",
                "SGD + momentum": f"SGD + momentum {mom:g}, lr {lr:g}",
                "Adam": f"Adam, lr {alr:g}, β₁ {mom:g}",
            }[name]
            line, point = first[6 * c + 2 * o : 6 * c + 2 * o + 2]
            fig.add_trace(
                go.Scatter(
                    **line,
                    mode="lines",
                    line=dict(color=color, width=2.5),
                    name=label,
                    legendgroup=name,
                    visible=visible,
                    hoverinfo="skip",
                )
            )
            fig.add_trace(
                go.Scatter(
                    **point,
                    mode="markers",
                    marker=dict(size=11, color=color, line=dict(width=1, color=NEUTRAL)),
                    name=label,
                    legendgroup=name,
                    showlegend=False,
                    visible=visible,
                    hovertemplate="x %{x:.3f}, y %{y:.3f}<br>%{text}<extra></extra>",
                )
            )

    changing = list(range(2, len(fig.data)))
    names = [f"step {s}" for s in shown]
    fig.frames = [
        dict(name=name, data=frame_traces(int(s)), traces=changing)
        for name, s in zip(names, shown, strict=True)
    ]
    masks = [
        [True, True] + [m == c for m in range(len(combos)) for _ in range(6)]
        for c in range(len(combos))
    ]
    # Pixels: the title, then a row of buttons above the plot; below it the x axis, the
    # legend in a row, and the slider with the play/pause buttons.
    height, top, legend_px = 640, 100, 30
    slider_top = 50 + legend_px
    bottom = slider_margin(slider_top)
    plot_px = height - top - bottom
    menus = [play_pause_buttons(frame_ms=150, top=slider_top)]
    annotations = []
    if len(combos) > 1:
        # short labels, "SGD's rate · momentum", so that six fit in one row
        labels = [f"{lr:g} · {mom:g}" for lr, _, mom in combos]
        buttons = visibility_buttons(labels, masks, active=shown_first, x=0.0, y=1.0)
        buttons.update(pad=dict(t=0, b=10, r=4))
        menus.append(buttons)
        label = control_label("lr ·<br>momentum:", x=0.0, y=1.0)
        label.update(xshift=-6, yshift=10 + 2, align="right")
        annotations.append(label)
    style_figure(
        fig,
        title or f"SGD, momentum and Adam on {spec['formula']}",
        height=height,
        margin=dict(l=80, r=20, t=top, b=bottom),
    )
    fig.update_xaxes(title_text="x", range=list(spec["x_range"]))
    fig.update_yaxes(title_text="y", range=list(spec["y_range"]))
    fig.update_layout(
        updatemenus=menus,
        annotations=annotations,
        sliders=[frame_slider(names, [str(s) for s in shown], "step: ", top=slider_top)],
        # a row below the x axis's title: the contours keep the figure's width
        legend=dict(
            orientation="h",
            x=0.0,
            xanchor="left",
            y=-48 / plot_px,
            yanchor="top",
            entrywidthmode="pixels",
        ),
    )
    return finish_figure(fig)
