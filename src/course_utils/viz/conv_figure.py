"""The convolution explorer of lesson 3 (the "Convolutional neural networks" chapter,
``book/section2/cnn.md``): what a convolutional layer computes, one window at a time.

:func:`conv_explorer` draws the numbers of :func:`~course_utils.viz.conv.conv_frames` as
an animation whose slider moves the 3x3 window over the image: the window on the input,
the nine products and their sum written out, the output pixel filled in and the feature
map growing (pixels not computed yet are blank), with the ReLU and the 2x2 max-pool
filling in beside it. Buttons switch between kernels (edge detectors, blur, sharpen, or
any 3x3 array, such as a trained model's first-layer filter from
:func:`~course_utils.viz.conv.first_layer_kernels`), showing that each kernel responds to
its own pattern.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from course_utils.viz.conv import KERNELS, ConvFrames, conv_frames
from course_utils.viz.style import (
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

__all__ = ["conv_explorer"]

_DIVERGING = "RdBu_r"  # negative blue, positive red, zero white
_SEQUENTIAL = "Viridis"


def conv_explorer(
    image=None,
    kernel="horizontal edges",
    *,
    others: Sequence[str] = tuple(KERNELS),
    channel: str | int = "luminance",
    size: int | None = 24,
    n_frames: int = 26,
    title: str | None = None,
) -> go.Figure:
    """The convolution explorer: a slider moves the 3x3 window over the image.

    ``image`` as in :func:`~course_utils.viz.conv.prepare_image` (default: a handwritten
    MNIST 4, 24x24 px, from :func:`~course_utils.viz.conv.default_digit`). ``kernel`` is
    a preset's name, a 3x3 array (shown as "custom") or a mapping of names to 3x3 arrays;
    buttons switch between it and the presets of :data:`~course_utils.viz.conv.KERNELS`
    named in ``others`` (``others=()`` for one kernel). ``n_frames`` window positions are
    shown, in row-major order; the last frame holds the complete feature map, ReLU and
    max-pool, and the figure opens on it, so that a reader (or a printed page) sees the
    whole result first; the slider and the play button then show it being computed. The
    numbers are those of :func:`~course_utils.viz.conv.conv_frames`.
    """
    data = conv_frames(image, kernel, others=others, channel=channel, size=size, n_frames=n_frames)
    return _draw_conv_explorer(data, title)


# Five panels, for a column about 700 px wide: the input and the arithmetic of the current
# window, large, on the top row; below them the three stages side by side. Panel k (1-5)
# draws on the axes x{k}, y{k} ("x", "y" for the first).
_PANELS = ("input", "table", "conv", "relu", "pool")
_AXIS = {name: "" if k == 1 else str(k) for k, name in enumerate(_PANELS, start=1)}
_TRACES_PER_KERNEL = 5  # the table, its sum, and the conv, ReLU and pool maps
# Pixels: the title and the kernel buttons above the plots; the top row's panels 295 px
# high, the bottom row's 185; the slider below.
_HEIGHT, _TOP, _BOTTOM = 820, 115, slider_margin()
_PLOT_PX = _HEIGHT - _TOP - _BOTTOM  # 575


def _on(panel: str) -> dict:
    """The axes of ``panel``, as a trace's xaxis and yaxis."""
    return dict(xaxis="x" + _AXIS[panel], yaxis="y" + _AXIS[panel])


def _draw_conv_explorer(data: ConvFrames, title: str | None) -> go.Figure:
    """The explorer's figure: the input, the window's arithmetic and the three stages,
    an animation frame per window position, and a button per kernel."""
    out_w = data.conv.shape[2]
    fig = go.Figure()
    _add_conv_traces(fig, data)
    changing = list(range(1, len(fig.data)))  # everything but the input image
    frame_names = [f"position {int(p)}" for p in data.positions]
    labels = ["row {}, column {}".format(*divmod(int(p), out_w)) for p in data.positions]
    labels[-1] += " (all done)"  # see ConvFrames: the finished maps
    fig.frames = [
        dict(name=fname, data=_conv_frame_traces(data, f), traces=changing)
        for f, fname in enumerate(frame_names)
    ]
    annotations = _lay_out_conv_panels(fig, data)

    n_kernels = len(data.names)
    menus = [play_pause_buttons(frame_ms=300)]
    if n_kernels > 1:
        above = 1 + 34 / _PLOT_PX  # the buttons' bottom, clear of the panel titles
        masks = option_masks(3, n_kernels, _TRACES_PER_KERNEL)
        menus.append(visibility_buttons(data.names, masks, x=0.1, y=above))
        annotations.append(control_label("kernel:", x=0.095, y=above))
    style_figure(
        fig,
        title or "A 3×3 convolution, then ReLU and 2×2 max-pooling",
        height=_HEIGHT,
        margin=dict(l=55, r=15, t=_TOP, b=_BOTTOM),
    )
    fig.update_layout(
        updatemenus=menus,
        annotations=annotations,
        sliders=[frame_slider(frame_names, labels, "window: ", active=len(frame_names) - 1)],
        showlegend=False,
    )
    return finish_figure(fig)


def _conv_frame_traces(data: ConvFrames, f: int) -> list[dict]:
    """The traces that change, in frame ``f``: the two outlines, then per kernel the
    table of products, its sum, and the three maps as computed so far.

    Plain dicts, not graph objects: plotly validates them once, when the frames are set,
    instead of twice (that halves the build time).
    """
    r, c = divmod(int(data.positions[f]), data.conv.shape[2])
    traces = [
        # the 3x3 window on the input, and the output pixel it fills in
        _outline(c - 0.5, r - 0.5, 3, "window"),
        _outline(c - 0.5, r - 0.5, 1, "output pixel"),
    ]
    patch = data.patches[f]
    for k in range(len(data.names)):
        weights = data.kernels[k]
        text = [
            [f"{patch[i, j]:.2f}<br>×{_fmt_weight(weights[i, j])}" for j in range(3)]
            for i in range(3)
        ]
        total = data.conv[k, r, c]  # the sum of the nine products
        traces += [
            dict(type="heatmap", z=compact(data.products[k, f], 4), text=text),
            dict(type="scatter", text=[f"sum = {total:.2f}", f"ReLU → {max(total, 0):.2f}"]),
            dict(type="heatmap", z=_partial(data.conv[k], data.done[f])),
            dict(type="heatmap", z=_partial(data.relu[k], data.done[f])),
            dict(type="heatmap", z=_partial(data.pool[k], data.pool_done[f])),
        ]
    return traces


def _add_conv_traces(fig: go.Figure, data: ConvFrames) -> None:
    """The input image, the two outlines, then per kernel the styling of its five traces,
    holding the last frame's data (the figure opens on the complete result). The frames
    send only the data that changes (z, text, outline coordinates)."""
    fig.add_trace(
        go.Heatmap(
            z=compact(data.image, 2),
            colorscale="gray",
            zmin=0,
            zmax=1,
            showscale=False,
            hovertemplate="row %{y}, column %{x}<br>pixel %{z:.2f}<extra></extra>",
            **_on("input"),
        )
    )
    last = _conv_frame_traces(data, len(data.positions) - 1)
    window_style = dict(mode="lines", line=dict(color=PALETTE[0], width=3), hoverinfo="skip")
    fig.add_trace(go.Scatter(**last[0], **_on("input")).update(window_style, showlegend=False))
    fig.add_trace(go.Scatter(**last[1], **_on("conv")).update(window_style, showlegend=False))
    for n, name in enumerate(data.names):
        bound = float(np.abs(data.conv[n]).max()) or 1.0  # a fixed colour range per kernel
        table, sums, conv, relu, pool = (
            go.Heatmap(**t) if t["type"] == "heatmap" else go.Scatter(**t)
            for t in last[2 + _TRACES_PER_KERNEL * n : 2 + _TRACES_PER_KERNEL * (n + 1)]
        )
        visible = n == 0
        fig.add_trace(
            table.update(
                x=[0, 1, 2],
                y=[0, 1, 2],
                texttemplate="%{text}",
                textfont=dict(size=13),
                colorscale=_DIVERGING,
                zmid=0,
                showscale=False,
                hovertemplate="%{text} = %{z:.3f}<extra></extra>",
                visible=visible,
                name=name,
                **_on("table"),
            )
        )
        fig.add_trace(
            sums.update(
                x=[1, 1],
                y=[2.95, 3.45],  # below the table's bottom row (rows -0.5 to 2.5)
                mode="text",
                textfont=dict(size=14),
                hoverinfo="skip",
                showlegend=False,
                visible=visible,
                **_on("table"),
            )
        )
        for trace, panel, zmin, scale, label in (
            (conv, "conv", -bound, _DIVERGING, "output"),
            (relu, "relu", 0.0, _SEQUENTIAL, "ReLU"),
            (pool, "pool", 0.0, _SEQUENTIAL, "max"),
        ):
            fig.add_trace(
                trace.update(
                    zmin=zmin,
                    zmax=bound,
                    colorscale=scale,
                    showscale=False,
                    hovertemplate=f"row %{{y}}, column %{{x}}<br>{label} %{{z:.2f}}<extra></extra>",
                    visible=visible,
                    name=name,
                    **_on(panel),
                )
            )


def _lay_out_conv_panels(fig: go.Figure, data: ConvFrames) -> list[dict]:
    """Place the five panels (domains, ranges, square pixels) on ``fig``; return their
    titles, as annotations."""
    (img_h, img_w), (out_h, out_w), (pool_h, pool_w) = (
        data.image.shape,
        data.conv.shape[1:],
        data.pool.shape[1:],
    )
    panel_titles = {
        "input": f"input ({img_h}×{img_w} px)",
        "table": "window × kernel",
        "conv": f"convolution ({out_h}×{out_w})",
        "relu": "ReLU: max(0, x)",
        "pool": f"2×2 max-pool ({pool_h}×{pool_w})",
    }
    top_row, bottom_row = [1 - 295 / _PLOT_PX, 1.0], [0.0, 185 / _PLOT_PX]
    domains = {
        "input": ([0.0, 0.46], top_row),
        "table": ([0.56, 1.0], top_row),
        "conv": ([0.0, 0.29], bottom_row),
        "relu": ([0.355, 0.645], bottom_row),
        "pool": ([0.71, 1.0], bottom_row),
    }
    shapes = {
        "input": (img_h, img_w),
        "conv": (out_h, out_w),
        "relu": (out_h, out_w),
        "pool": (pool_h, pool_w),
    }
    # axis titles where they are needed: the input's, and the convolution's, which serve
    # the ReLU and max-pool beside it; the table's cells say what they hold
    titles = {"input": ("column (px)", "row (px)"), "conv": ("column", "row")}
    annotations = []
    for name in _PANELS:
        ref = _AXIS[name]
        (x0, x1), (y0, y1) = domains[name]
        common = dict(showgrid=False, zeroline=False, constrain="domain")
        if name == "table":
            # cells 3 wide; 3 rows, then the sum and its ReLU below them
            x_axis = dict(range=[-0.5, 2.5], showticklabels=False, ticks="")
            y_axis = dict(range=[3.75, -0.5], showticklabels=False, ticks="")
        else:
            # square pixels, row 0 at the top, as an image is read
            h, w = shapes[name]
            x_axis = dict(range=[-0.5, w - 0.5])
            y_axis = dict(range=[h - 0.5, -0.5], scaleanchor="x" + ref, constraintoward="top")
        x_title, y_title = titles.get(name, (None, None))
        fig.update_layout(
            {
                "xaxis" + ref: dict(
                    common, domain=[x0, x1], anchor="y" + ref, title_text=x_title, **x_axis
                ),
                "yaxis" + ref: dict(
                    common, domain=[y0, y1], anchor="x" + ref, title_text=y_title, **y_axis
                ),
            }
        )
        annotations.append(
            dict(
                text=panel_titles[name],
                x=(x0 + x1) / 2,
                y=y1,
                xref="paper",
                yref="paper",
                xanchor="center",
                yanchor="bottom",
                yshift=4,
                showarrow=False,
                font=dict(size=14),
            )
        )
    return annotations


def _partial(values: np.ndarray, done: np.ndarray) -> list:
    """The rows of a map that hold computed values, the others blank (None).

    Rows after the last computed one are left out: with the axis range fixed, plotly.js
    leaves them blank too, and the frame is that much smaller.
    """
    rows = np.flatnonzero(done.any(axis=1))
    if len(rows) == 0:
        return [[None]]  # nothing computed yet: one blank cell
    shown = np.where(done, values, np.nan)[: rows[-1] + 1]
    return compact(shown, 2)


def _outline(x0: float, y0: float, side: float, name: str) -> dict:
    """A closed square outline, top-left corner (x0, y0), as a scatter trace's points."""
    return dict(
        type="scatter",
        x=[x0, x0 + side, x0 + side, x0, x0],
        y=[y0, y0, y0 + side, y0 + side, y0],
        name=name,
    )


def _fmt_weight(w: float) -> str:
    return f"{w:.3g}".replace("-", "−")  # a real minus sign: easier to read
