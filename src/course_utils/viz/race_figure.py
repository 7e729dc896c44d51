"""The optimiser race of lesson 5 (the "Momentum and Adam" chapter,
``book/section2/optimizers.md``): SGD, SGD with momentum and Adam racing down a 2-D
function's contours, to see why momentum and Adam help.

:func:`optimizer_race` draws the numbers of :func:`~course_utils.viz.optimizers.race_frames`
as an animation, a frame per few steps. On the ill-conditioned valley, plain SGD with a
rate small enough not to diverge across the valley crawls along it, while momentum and
Adam make progress along it; on Rosenbrock's curved valley, all three reach the floor,
and momentum and Adam follow it much closer to the minimum than SGD. Buttons choose the
(learning rate, momentum) setting, so a reader can push the rates up until the racers
overshoot, or turn momentum down.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from course_utils.viz.optimizers import NAMES, SURFACES, RaceFrames, race_frames
from course_utils.viz.style import (
    NEUTRAL,
    PALETTE,
    compact,
    control_label,
    finish_figure,
    frame_slider,
    legend_below,
    option_masks,
    play_pause_buttons,
    slider_margin,
    style_figure,
    visibility_buttons,
)

__all__ = ["optimizer_race"]


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
    The numbers are those of :func:`~course_utils.viz.optimizers.race_frames`.
    """
    data = race_frames(
        surface,
        lrs,
        momentum,
        adam_lrs=adam_lrs,
        steps=steps,
        n_frames=n_frames,
        max_points=max_points,
        initial=initial,
    )
    return _draw_optimizer_race(data, title)


_PER_COMBO = 2 * len(NAMES)  # the traces of each setting: per racer, its path and point


def _draw_optimizer_race(data: RaceFrames, title: str | None) -> go.Figure:
    """The race's figure: the surface's contours and minimum, fixed; per setting and
    racer, the path so far and the current point, a frame per step shown."""
    spec = SURFACES[data.surface]
    if spec["log_levels"]:
        z_label = "log₁₀ f"
        # one level per power of ten: finer levels crowd together along the valley floor
        contours = dict(coloring="lines", showlabels=True, start=-1, end=3, size=1)
    else:
        z_label = "f"
        contours = dict(coloring="lines", showlabels=True, start=1, end=121, size=8)
    fig = go.Figure(
        go.Contour(
            x=compact(data.grid_x, 3),
            y=compact(data.grid_y, 3),
            z=compact(data.levels, 3),
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
    _add_racers(fig, data)
    changing = list(range(2, len(fig.data)))
    names = [f"step {s}" for s in data.steps]
    fig.frames = [
        dict(name=name, data=_race_frame_traces(data, f), traces=changing)
        for f, name in enumerate(names)
    ]
    # Pixels: the title, then a row of buttons above the plot; below it the x axis, the
    # legend in a row, and the slider with the play/pause buttons.
    height, top, legend_px = 640, 100, 30
    slider_top = 50 + legend_px
    bottom = slider_margin(slider_top)
    plot_px = height - top - bottom
    menus = [play_pause_buttons(frame_ms=150, top=slider_top)]
    annotations = []
    n_combos = len(data.combos)
    if n_combos > 1:
        # short labels, "SGD's rate · momentum", so that six fit in one row
        labels = [f"{lr:g} · {mom:g}" for lr, _, mom in data.combos]
        masks = option_masks(2, n_combos, _PER_COMBO)
        buttons = visibility_buttons(labels, masks, active=data.initial, x=0.0, y=1.0)
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
        sliders=[frame_slider(names, [str(s) for s in data.steps], "step: ", top=slider_top)],
        # a row below the x axis's title: the contours keep the figure's width
        legend=legend_below(plot_px) | dict(entrywidthmode="pixels"),
    )
    return finish_figure(fig)


def _add_racers(fig: go.Figure, data: RaceFrames) -> None:
    """Per setting and racer, a path and a point, holding the first frame's data: the
    setting ``data.initial`` shown, the others hidden until their button is pressed."""
    first = _race_frame_traces(data, 0)
    for c, (lr, alr, mom) in enumerate(data.combos):
        for o, name in enumerate(NAMES):
            color, visible = PALETTE[o], c == data.initial
            label = {
                "SGD": f"SGD, lr {lr:g}",
                "SGD + momentum": f"SGD + momentum {mom:g}, lr {lr:g}",
                "Adam": f"Adam, lr {alr:g}, β₁ {mom:g}",
            }[name]
            at = _PER_COMBO * c + 2 * o
            line, point = first[at : at + 2]
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


def _race_frame_traces(data: RaceFrames, f: int) -> list[dict]:
    """Frame ``f``'s data, per setting and racer: the path so far (every stride-th step,
    then the current one) and the current point (plain dicts: plotly validates them once,
    when the frames are set)."""
    step = int(data.steps[f])
    kept = np.arange(0, step + 1, data.stride)  # (k,): the steps drawn
    traces = []
    for racers, losses in zip(data.paths, data.losses, strict=True):
        for name, path, loss in zip(NAMES, racers, losses[:, f], strict=True):
            here = path[step]  # (2,): (x, y) now
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
