"""Class activation maps over their images (lesson 7's heat maps), as an interactive figure.

:func:`cam_frames` turns the images and their maps (normalised to [0, 1] and upsampled to
the image, :mod:`course_utils.cam`) into PNG/JPEG ``data:`` URIs, the heat map coloured
with the "hot" colour scale that the 2018 notebook used; :func:`plot_cam` draws them: a
slider moves between the examples (the title gives the predicted class, its probability
and the true class), and buttons set the opacity of the heat map (0.5, the notebook's, to
start), from off to the map alone. Optional boxes (ground truth) and peaks (where each map
is highest) are drawn over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale, unlabel_rgb

from course_utils.viz.images import as_uint8_image, image_data_uri
from course_utils.viz.style import (
    PALETTE,
    control_label,
    finish_figure,
    frame_slider,
    slider_margin,
    style_figure,
)

__all__ = ["CAMFrames", "cam_frames", "plot_cam"]

COLORSCALE = "Hot"  # black, red, yellow, white: matplotlib's "hot", as in 2018
OPACITIES = (0.0, 0.25, 0.5, 0.75, 1.0)
_LUT = np.array(  # (256, 3) uint8: the colour of each level of the normalised map
    [unlabel_rgb(c) for c in sample_colorscale(COLORSCALE, np.linspace(0, 1, 256).tolist())],
    dtype=np.uint8,
)


class CAMFrames(NamedTuple):
    """The figure's data, one entry per example."""

    images: list[str]  # data URIs of the images
    heats: list[str]  # data URIs of the coloured maps, the images' size
    size: tuple[int, int]  # (H, W) in pixels
    shown: tuple[int, int]  # (H, W) of the pictures in the URIs (shrunk to max_px at most)
    titles: list[str]
    boxes: list[list[float]] | None  # per example (x0, y0, x1, y1), or None
    peaks: list[list[float]] | None  # per example (x, y), or None


def _numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


def cam_frames(
    images, maps, titles: Sequence[str], *, boxes=None, peaks=None, max_px: int = 224
) -> CAMFrames:
    """The data of :func:`plot_cam`. ``images``: (N, H, W), (N, 1, H, W) or (N, 3, H, W)
    floats in [0, 1] (channels first, as tensors are) or (N, H, W, 3) uint8; ``maps``:
    (N, H, W) in [0, 1], the images' size (:func:`course_utils.cam.normalize_maps` of
    :func:`course_utils.cam.upsample_maps`); ``boxes`` (N, 4) corners and ``peaks``
    (N, 2) points, in pixels."""
    images, maps = _numpy(images), _numpy(maps)
    if images.ndim == 4 and images.shape[1] in (1, 3):  # (N, C, H, W) -> channels last
        images = images.transpose(0, 2, 3, 1)
        images = images[..., 0] if images.shape[-1] == 1 else images
    if maps.ndim != 3 or maps.shape != images.shape[:3]:
        raise ValueError(f"maps {maps.shape} must be (N, H, W) like the images {images.shape}")
    if len(titles) != len(maps):
        raise ValueError(f"{len(titles)} titles for {len(maps)} examples")
    if maps.size and (maps.min() < 0 or maps.max() > 1):
        raise ValueError("maps must be normalised to [0, 1] (normalize_maps)")
    photo = images.ndim == 4  # (N, H, W, 3): JPEG is far smaller; digits stay sharp as PNG
    fmt = "JPEG" if photo else "PNG"
    pictures = [as_uint8_image(im, max_px) for im in images]
    levels = np.round(maps * 255).astype(np.uint8)  # (N, H, W)
    heats = [as_uint8_image(_LUT[lv], max_px) for lv in levels]  # (H', W', 3) each
    return CAMFrames(
        [image_data_uri(p, fmt) for p in pictures],
        [image_data_uri(h, fmt) for h in heats],
        maps.shape[1:],
        heats[0].shape[:2] if heats else maps.shape[1:],
        list(titles),
        None if boxes is None else np.round(_numpy(boxes), 1).tolist(),
        None if peaks is None else np.round(_numpy(peaks), 1).tolist(),
    )


def plot_cam(
    images,
    maps,
    titles: Sequence[str],
    *,
    boxes=None,
    peaks=None,
    title: str = "Class activation maps",
    opacity: float = 0.5,
) -> go.Figure:
    """The heat maps over their images: a slider step per example, buttons for the
    heat map's opacity (:data:`OPACITIES`; ``opacity`` first). Arguments as
    :func:`cam_frames`."""
    if opacity not in OPACITIES:
        raise ValueError(f"opacity must be one of {OPACITIES}, got {opacity}")
    return _draw_cam(cam_frames(images, maps, titles, boxes=boxes, peaks=peaks), title, opacity)


def _frame_traces(data: CAMFrames, i: int) -> list[dict]:
    """Example ``i``'s traces: the image, the heat map, its box and its peak."""
    (height, width), (shown_h, shown_w) = data.size, data.shown
    # a picture shrunk for the page still covers the image's pixels on the axes:
    # its pixel (r, c) is centred at ((c + 1/2) dx, (r + 1/2) dy)
    dx, dy = width / shown_w, height / shown_h
    place = dict(x0=dx / 2, y0=dy / 2, dx=dx, dy=dy)
    traces = [
        dict(type="image", source=data.images[i], **place),
        dict(type="image", source=data.heats[i], **place),
    ]
    if data.boxes is not None:
        x0, y0, x1, y1 = data.boxes[i]
        traces.append(dict(type="scatter", x=[x0, x1, x1, x0, x0], y=[y0, y0, y1, y1, y0]))
    if data.peaks is not None:
        traces.append(dict(type="scatter", x=[data.peaks[i][0]], y=[data.peaks[i][1]]))
    return traces


def _draw_cam(data: CAMFrames, title: str, opacity: float) -> go.Figure:
    height, width = data.size
    fig = go.Figure()
    first = _frame_traces(data, 0)
    fig.add_trace(go.Image(first[0], hoverinfo="skip", name="image"))
    fig.add_trace(go.Image(first[1], hoverinfo="skip", name="map", opacity=opacity))
    k = 2
    if data.boxes is not None:
        line = dict(color=PALETTE[1], width=2, dash="dash")
        fig.add_trace(go.Scatter(first[k], mode="lines", line=line, name="digit's box"))
        k += 1
    if data.peaks is not None:
        marker = dict(symbol="x", size=12, color=PALETTE[2], line=dict(width=1))
        fig.add_trace(go.Scatter(first[k], mode="markers", marker=marker, name="map's peak"))
    changing = list(range(len(fig.data)))
    # the colour bar: an invisible point carrying the colour scale
    colorbar = dict(title=dict(text="map", side="right"), thickness=12, len=0.8)
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            showlegend=False,
            hoverinfo="skip",
            marker=dict(color=[0, 1], colorscale=COLORSCALE, showscale=True, colorbar=colorbar),
        )
    )
    names = [f"example {i}" for i in range(len(data.titles))]
    fig.frames = [
        dict(
            name=name,
            data=_frame_traces(data, i),
            traces=changing,
            layout=dict(title=dict(text=f"{title}<br><sup>{data.titles[i]}</sup>")),
        )
        for i, name in enumerate(names)
    ]
    plot_px = 380
    top, bottom = 110, slider_margin(20)
    style_figure(
        fig,
        f"{title}<br><sup>{data.titles[0]}</sup>",
        height=top + plot_px + bottom,
        margin=dict(l=20, r=20, t=top, b=bottom),
    )
    # plotly.js draws a title's second line (the <sup>) above its first: a pad brings it in
    fig.update_layout(title_pad_t=16)
    buttons = dict(
        type="buttons",
        direction="right",
        active=OPACITIES.index(opacity),
        showactive=True,
        x=0.12,
        y=1.0,
        xanchor="left",
        yanchor="bottom",
        pad=dict(t=0, b=8, r=4),
        buttons=[
            dict(label="off" if v == 0 else f"{v:g}", method="restyle", args=[{"opacity": v}, [1]])
            for v in OPACITIES
        ],
    )
    fig.update_layout(
        updatemenus=[buttons],
        annotations=[control_label("heat map<br>opacity:", x=0.115, y=1.0)],
        sliders=[
            frame_slider(
                names, [str(i + 1) for i in range(len(names))], "example: ", top=20, left=0
            )
        ],
        legend=dict(orientation="h", x=1.0, xanchor="right", y=1.0, yanchor="bottom"),
    )
    fig.update_xaxes(range=[0, width], visible=False, constrain="domain")
    fig.update_yaxes(range=[height, 0], visible=False, scaleanchor="x")
    return finish_figure(fig)
