"""The shared look of the course's interactive figures, and the checks every figure passes.

Every builder in :mod:`course_utils.viz` goes through this module: a common layout
(title, margins, font size, hover mode), a colour-blind-safe palette (Okabe-Ito) that
reads on the book's light and dark themes, helpers for the animation slider and the
play/pause buttons, and :func:`check_figure_size`, which keeps each figure's JSON
within the page-size budget of the static site.

Figures are drawn in the browser by ``course_plotly.js``, which switches to dark mode
by overriding the *template's* colours. So nothing here sets ``paper_bgcolor``,
``plot_bgcolor`` or a font colour: those are left to the template.

Sizes: plotly 6+ writes NumPy arrays into the JSON as base64 typed arrays (8 bytes per
float64, whatever its rounding), so :func:`compact` turns arrays into lists of rounded
Python floats, which cost as many bytes as their digits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

__all__ = [
    "CARTESIAN_TRACE_TYPES",
    "NEUTRAL",
    "OKABE_ITO",
    "PALETTE",
    "PICTURE",
    "FigureTooLargeError",
    "animation_args",
    "check_figure_size",
    "compact",
    "control_label",
    "finish_figure",
    "float_array",
    "frame_slider",
    "legend_below",
    "log_ticks",
    "option_masks",
    "play_pause_buttons",
    "slider_margin",
    "square_pixels",
    "style_figure",
    "trace_types",
    "visibility_buttons",
]

# The Okabe-Ito palette (Okabe & Ito 2008), distinguishable with the common colour-vision
# deficiencies. Black is left out: it vanishes on the dark theme.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
# The order in which figures use them: the colours that read well as thin lines on both a
# white and a dark grey background first; yellow last (it is faint on white).
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#0072B2", "#F0E442")
NEUTRAL = "#8C8C8C"  # a mid grey: visible on white and on the dark theme's #262a2e

# The trace types the book's figures may use, the one list of them: the book's plotly.js
# bundle (course_book's vendor/plotly-course.min.js, 1.3 MB) is plotly.js's core with exactly
# these, built by tools/plotly_bundle/update.sh from this list; a page whose figures need
# another type loads the full 4.8 MB plotly.js instead. tests/test_plotly_bundle.py checks the
# list against the trace modules the vendored bundle registers. A builder that needs a new
# type adds it here and reruns the script.
CARTESIAN_TRACE_TYPES = frozenset({"bar", "contour", "heatmap", "histogram", "image", "scatter"})

# The ``meta`` of a heatmap trace that draws a picture (a digit, a feature map, a kernel):
# :func:`square_pixels` keeps its pixels square, and the browser tests measure them.
PICTURE = "picture"

FIGURE_SIZE_LIMIT = 1_000_000  # bytes of JSON per figure; a page may hold about 2.5 MB


class FigureTooLargeError(ValueError):
    """A figure's JSON is over the size budget of the static site."""


def style_figure(
    fig: go.Figure,
    title: str,
    *,
    height: int = 450,
    font_size: int = 13,
    hovermode: str | bool = "closest",
    margin: dict | None = None,
) -> go.Figure:
    """Apply the course's common layout to ``fig`` (in place) and return it.

    Sets the title, height, font size, margins and hover mode. Colours of the
    background and the text are left to the template (see the module docstring).
    """
    fig.update_layout(
        # at the very top, clear of the buttons that some figures put above their plots
        title=dict(text=title, x=0.01, xanchor="left", y=0.985, yanchor="top", yref="container"),
        height=height,
        font=dict(size=font_size),
        hovermode=hovermode,
        margin=margin or dict(l=60, r=30, t=80, b=60),
        legend=dict(bgcolor="rgba(0,0,0,0)"),  # transparent: the theme's background shows
    )
    return fig


def trace_types(fig: go.Figure) -> set[str]:
    """The trace types a figure draws, in its data and in its animation frames."""
    traces = list(fig.data)
    for frame in fig.frames or ():
        traces.extend(frame.data or ())
    return {trace.type for trace in traces}


def check_figure_size(fig: go.Figure, limit: int = FIGURE_SIZE_LIMIT) -> int:
    """Return the size in bytes of ``fig``'s JSON; raise :class:`FigureTooLargeError`
    naming the figure if it is over ``limit``."""
    size = len(fig.to_json())
    if size > limit:
        title = fig.layout.title.text or "(untitled)"
        raise FigureTooLargeError(
            f"figure {title!r} is {size:,} bytes of JSON, over the budget of {limit:,} bytes: "
            "use fewer frames or options, smaller images, or rounder numbers"
        )
    return size


def finish_figure(fig: go.Figure) -> go.Figure:
    """The last step of every builder: the size budget and the cartesian bundle's types."""
    other = trace_types(fig) - CARTESIAN_TRACE_TYPES
    if other:  # a programming error in a builder, not bad input
        raise AssertionError(f"trace types outside plotly.js's cartesian bundle: {other}")
    check_figure_size(fig)
    return fig


def float_array(values) -> np.ndarray:
    """``values`` (a tensor, on any device, or anything NumPy reads) as a float64 array."""
    values = values.detach().cpu().numpy() if hasattr(values, "detach") else np.asarray(values)
    return values.astype(np.float64)


def compact(values, decimals: int = 4, *, significant: int | None = None):
    """``values`` rounded to ``decimals`` as (nested) lists of floats, NaN and inf as None;
    or, with ``significant``, to that many significant digits (for values spanning orders
    of magnitude, such as learning rates).

    A list of rounded floats costs its digits in the JSON; a NumPy array would be written
    as base64 float64, 10.7 bytes per number however it is rounded.
    """
    array = np.asarray(values, dtype=np.float64)
    if significant is not None:
        # formatting rounds in decimal, so 1.2279e-05 stays 1.2279e-05 in the JSON
        rounded = [float(f"{v:.{significant}g}") for v in array.ravel().tolist()]
        array = np.array(rounded, dtype=np.float64).reshape(array.shape)
    else:
        array = np.round(array, decimals)
    if array.ndim == 0:
        return float(array) if np.isfinite(array) else None
    as_object = array.astype(object)
    as_object[~np.isfinite(array)] = None  # JSON has no NaN: plotly.js leaves a gap
    return as_object.tolist()


def animation_args(name: str | None, duration: int = 0) -> list:
    """The ``args`` of a slider step or button that shows animation frame ``name``.

    ``redraw`` is on: heatmaps and contours change only with a full redraw.
    """
    return [
        [name],
        dict(
            mode="immediate",
            frame=dict(duration=duration, redraw=True),
            transition=dict(duration=0),
        ),
    ]


# The play/pause pair's width in pixels (at the default font size), and the gap after it:
# the slider's rail starts this far right of the plot's left edge, whatever the width of
# the page, so the buttons never cover its current-value label or its first steps.
PLAY_PAUSE_PX = 150
SLIDER_GAP_PX = 12


def frame_slider(
    names: Sequence[str],
    labels: Sequence[str],
    prefix: str,
    *,
    x: float = 0.0,
    length: float = 1.0,
    y: float = 0.0,
    top: int = 50,
    left: int = PLAY_PAUSE_PX + SLIDER_GAP_PX,
    active: int = 0,
) -> dict:
    """A slider with one step per animation frame; ``prefix`` names the quantity and its
    units, shown before the current label (``"step: "``). ``active``: the step the figure
    opens on, whose frame's data the figure's traces must hold.

    The slider hangs ``top`` pixels below the plot (under the x axis's tick labels and
    title) and its rail starts ``left`` pixels right of ``x``, beside the play/pause
    buttons of :func:`play_pause_buttons` (give both the same ``top``); the current value
    is written above the rail's left end.
    """
    if len(names) != len(labels):
        raise ValueError(f"{len(names)} frame names but {len(labels)} labels")
    if not 0 <= active < len(names):
        raise ValueError(f"active must be a step index in [0, {len(names)}), got {active}")
    return dict(
        active=active,
        x=x,
        xanchor="left",
        len=length,
        y=y,
        yanchor="top",
        pad=dict(t=top, b=10, l=left, r=0),
        currentvalue=dict(prefix=prefix, visible=True, xanchor="left", offset=8),
        steps=[
            dict(method="animate", label=str(label), args=animation_args(name))
            for name, label in zip(names, labels, strict=True)
        ],
    )


def play_pause_buttons(
    *, frame_ms: int = 150, x: float = 0.0, y: float = 0.0, top: int = 50
) -> dict:
    """Play (from the current frame) and pause buttons for an animation, side by side at
    the left end of a :func:`frame_slider` hanging ``top`` pixels below the plot (the
    buttons are level with its rail, left of it; its current value is above the rail)."""
    play = dict(
        mode="immediate",
        fromcurrent=True,
        frame=dict(duration=frame_ms, redraw=True),
        transition=dict(duration=0),
    )
    return dict(
        type="buttons",
        direction="left",
        showactive=False,
        x=x,
        y=y,
        xanchor="left",
        yanchor="top",
        pad=dict(t=top + 14, r=10),  # level with the rail, below the current value
        buttons=[
            dict(label="▶ play", method="animate", args=[None, play]),
            dict(label="❚❚ pause", method="animate", args=animation_args(None)),
        ],
    )


def slider_margin(top: int = 50) -> int:
    """The bottom margin that holds a :func:`frame_slider` hanging ``top`` px below the
    plot: its current value, rail and step labels."""
    return top + 80


def visibility_buttons(
    labels: Sequence[str],
    masks: Sequence[Sequence[bool]],
    *,
    active: int = 0,
    x: float = 0.0,
    y: float = 1.0,
    direction: str = "right",
) -> dict:
    """A row of buttons, button ``i`` showing the traces where ``masks[i]`` is True.

    The buttons restyle trace visibility only (no layout change), so the animation frames,
    which never set ``visible``, keep working whichever option is shown.
    """
    return dict(
        type="buttons",
        direction=direction,
        active=active,
        showactive=True,
        x=x,
        y=y,
        xanchor="left",
        yanchor="bottom",
        pad=dict(t=0, b=0, r=4),
        buttons=[
            dict(label=label, method="restyle", args=[{"visible": list(mask)}])
            for label, mask in zip(labels, masks, strict=True)
        ],
    )


def option_masks(n_fixed: int, n_options: int, per_option: int) -> list[list[bool]]:
    """The ``masks`` of :func:`visibility_buttons` for a figure whose traces are
    ``n_fixed`` always shown (data, contours), then ``per_option`` traces for each of
    ``n_options`` options in turn: mask ``i`` shows the fixed traces and option ``i``'s."""
    return [
        [True] * n_fixed + [m == i for m in range(n_options) for _ in range(per_option)]
        for i in range(n_options)
    ]


def legend_below(plot_px: float, *, gap_px: int = 48) -> dict:
    """A legend in one row, ``gap_px`` pixels below the plot area (under the x axis's tick
    labels and title), for a plot area ``plot_px`` pixels high: the plots keep the
    figure's width. Leave room for it in the bottom margin (a :func:`frame_slider` below it
    hangs ``top=50 + 30``)."""
    return dict(orientation="h", x=0.0, xanchor="left", y=-gap_px / plot_px, yanchor="top")


def control_label(text: str, *, x: float, y: float) -> dict:
    """A small annotation naming a group of buttons (``"learning rate:"``)."""
    return dict(
        text=text,
        x=x,
        y=y,
        xref="paper",
        yref="paper",
        xanchor="right",
        yanchor="bottom",
        showarrow=False,
        yshift=6,
    )


def _axis_key(ref: str) -> str:
    """ "x2" -> "xaxis2": the layout key of the axis a trace names."""
    return f"{ref[0]}axis{ref[1:]}"


def square_pixels(fig: go.Figure) -> go.Figure:
    """Keep the pixels of every picture in ``fig`` square, at any width (in place).

    A picture is an ``image`` trace or a heatmap whose ``meta`` is :data:`PICTURE`. Its y
    axis is scale-anchored to its x axis, so that one of the heatmap's cells is as many
    pixels high as wide (``dy`` units of y as ``dx`` of x), and both axes shrink within
    their domain to keep it so: the picture is letterboxed, never stretched.
    """
    for trace in fig.data:
        if trace.type != "image" and trace.meta != PICTURE:
            continue
        x_ref, y_ref = trace.xaxis or "x", trace.yaxis or "y"
        # the pixels per unit of y over those of x: a cell (dx by dy units) is square
        ratio = 1.0 if trace.type == "image" else (trace.dx or 1) / (trace.dy or 1)
        fig.layout[_axis_key(y_ref)].update(
            scaleanchor=x_ref, scaleratio=ratio, constrain="domain", constraintoward="top"
        )
        fig.layout[_axis_key(x_ref)].update(constrain="domain")
    return fig


def log_ticks(values) -> dict:
    """Tick values and labels for a log axis over ``values``, every label a whole number
    as it reads (``0.02``, ``0.05``, ``0.1``): powers of ten over two decades or more,
    1, 2 and 5 times them over less. (Left alone, plotly.js labels the ticks between
    powers of ten with their leading digit only, so that a "2" stands above a "10".)
    Pass the result to ``update_yaxes(type="log", **log_ticks(values))``."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array) & (array > 0)]
    if not array.size:
        raise ValueError("a log axis needs some positive, finite values")
    low, high = math.floor(math.log10(array.min())), math.ceil(math.log10(array.max()))
    steps = (1,) if high - low > 2 else (1, 2, 5)
    ticks = [m * 10.0**e for e in range(low, high + 1) for m in steps]
    ticks = [t for t in ticks if array.min() / 1.5 <= t <= array.max() * 1.5]
    return dict(tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
