"""Detection figures: images with boxes drawn over them, labels kept out of each other's way.

:func:`plot_boxes` draws each image as a Plotly image trace (a PNG or JPEG ``data:`` URI
from :func:`~course_utils.viz.images.image_data_uri`) and each :class:`BoxLayer` as
rectangles in its own colour, with a short text at each box (a digit, a score). The
boxes are those of :mod:`course_utils.detection`: corners ``(x0, y0, x1, y1)`` in pixels.
Labels of nearby boxes would cover each other, so :func:`_label_places` writes each one
above its box, below it or inside it, wherever it keeps clear of the labels already
written.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from course_utils.viz.images import image_data_uri
from course_utils.viz.style import (
    CARTESIAN_TRACE_TYPES,
    PALETTE,
    check_figure_size,
    style_figure,
    trace_types,
)

__all__ = ["BoxLayer", "plot_boxes"]


class BoxLayer(NamedTuple):
    """One set of boxes for :func:`plot_boxes`: per image, boxes (k, 4) and k texts."""

    name: str  # shown in the legend
    boxes: list  # per image: (k, 4) corners (tensor or array), or None
    texts: list | None = None  # per image: k strings, written at each box's left edge
    color: str = PALETTE[0]
    dash: str = "solid"
    text_at: str = "top"  # write the texts above the boxes ("top") or below them ("bottom")


def _outline(boxes: np.ndarray) -> tuple[list, list]:
    """x and y of a scatter line tracing the rectangles (k, 4), broken by None between them."""
    x = [v for x0, _, x1, _ in boxes for v in (x0, x1, x1, x0, x0, None)]
    y = [v for _, y0, _, y1 in boxes for v in (y0, y0, y1, y1, y0, None)]
    return x, y


PLOT_WIDTH_PX = 680  # the book's column (about 700 px) less plot_boxes' side margins
ROW_GAP_PX = 30  # between two rows of panels: room for the next row's titles


LABEL_PX = (44, 15)  # about the width and height a short label ("3 0.87") takes, in px


def _labels_near(placed: list, x: float, y: float, position: str, px_per_unit: float):
    """A label written at data point (x, y) with ``position``: its top-left in pixels, and
    the texts of the labels in ``placed`` ((x, y, text) in pixels) that it would overlap."""
    # the label's box in px: above its point it spans y - LABEL_PX[1] .. y
    left = x * px_per_unit
    top = y * px_per_unit - (LABEL_PX[1] if position.startswith("top") else 0)
    hits = [
        text
        for px, py, text in placed
        if abs(left - px) < LABEL_PX[0] and abs(top - py) < LABEL_PX[1]
    ]
    return (left, top), hits


def _label_places(
    boxes: np.ndarray, texts: list[str], text_at: str, px_per_unit: float, placed: list
):
    """Where to write each box's label so that labels do not cover each other: above the
    box's top-left corner, below its bottom-left one, or just inside its top edge, the
    first of these (``text_at`` decides which is tried first) that keeps clear of the
    labels in ``placed`` ((x, y, text) in pixels; appended to). A label that would repeat
    the same text on top of an earlier one adds nothing and is left blank.
    Returns the labels' texts, y and positions."""
    shown, ys, positions = [], [], []
    for (x0, y0, _, y1), label in zip(boxes.tolist(), texts, strict=True):
        above, below, inside = (y0, "top right"), (y1, "bottom right"), (y0, "bottom right")
        order = [above, below, inside] if text_at == "top" else [below, above, inside]
        y, position = order[0]
        anchor, hits = _labels_near(placed, x0, y, position, px_per_unit)
        if label in hits:  # the same text is already written there
            shown.append("")
        else:
            for y, position in order:
                anchor, hits = _labels_near(placed, x0, y, position, px_per_unit)
                if not hits:
                    break
            else:  # nowhere clear: the first choice
                y, position = order[0]
                anchor, _ = _labels_near(placed, x0, y, position, px_per_unit)
            shown.append(label)
            placed.append((*anchor, label))
        ys.append(y)
        positions.append(position)
    return shown, ys, positions


def plot_boxes(images, layers, *, titles=None, cols=4, title="", panel_px=None, max_px=320):
    """Images with boxes drawn over them: a Plotly figure of image and scatter traces.

    ``images``: (N, 1, H, W) or (N, H, W) floats in [0, 1], or (N, H, W, 3) uint8 photos
    (shrunk to at most ``max_px`` a side for the page; the axes stay in the original
    pixels). ``layers``: :class:`BoxLayer` objects, each drawn in its own colour.
    ``panel_px``: each row's height; None: as tall as the panels are wide in the book's
    column, so that rows of images have no gaps between them.
    """
    images = [np.asarray(im) for im in images]
    images = [im[0] if im.ndim == 3 and im.shape[0] == 1 else im for im in images]  # drop C=1
    cols = min(cols, len(images))
    rows = math.ceil(len(images) / cols)
    if panel_px is None:
        panel_width = PLOT_WIDTH_PX * (1 - (cols - 1) * 0.02) / cols
        aspect = max(im.shape[0] / im.shape[1] for im in images)  # the tallest height / width
        panel_px = round(panel_width * aspect)
    plot_px = rows * panel_px + (rows - 1) * ROW_GAP_PX
    spacing = dict(
        horizontal_spacing=0.02, vertical_spacing=ROW_GAP_PX / plot_px if rows > 1 else 0.0
    )
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, **spacing)
    panel_width = PLOT_WIDTH_PX * (1 - (cols - 1) * 0.02) / cols
    for j, image in enumerate(images):
        cell = dict(row=j // cols + 1, col=j % cols + 1)
        h, w = image.shape[:2]
        px_per_unit = min(panel_width / w, panel_px / h)  # the image keeps its aspect
        placed: list[tuple[float, float]] = []  # this panel's label anchors so far, in px
        step = max(1, math.ceil(max(h, w) / max_px))  # keep every step-th pixel
        # pixel (r, c) covers [c, c+1) x [r, r+1): its centre is at (c + 1/2, r + 1/2)
        place = dict(x0=step / 2, y0=step / 2, dx=step, dy=step)
        pixels = image[::step, ::step]
        if pixels.dtype != np.uint8:  # floats in [0, 1]
            pixels = np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8)
        # photos (H, W, 3) compress far better as JPEG; grey digits stay sharp as PNG
        uri = image_data_uri(pixels, "JPEG" if pixels.ndim == 3 else "PNG")
        fig.add_trace(go.Image(source=uri, hoverinfo="skip", name="image", **place), **cell)
        for layer in layers:
            if layer.boxes[j] is None or len(layer.boxes[j]) == 0:
                continue
            boxes = np.round(np.asarray(layer.boxes[j], dtype=np.float64), 1)  # (k, 4)
            x, y = _outline(boxes)
            line = dict(color=layer.color, width=2, dash=layer.dash)
            first = not any(t.name == layer.name for t in fig.data)
            group = dict(name=layer.name, legendgroup=layer.name, hoverinfo="skip")
            fig.add_trace(
                go.Scatter(x=x, y=y, mode="lines", line=line, showlegend=first, **group), **cell
            )
            if layer.texts is not None and len(layer.texts[j]) > 0:  # [] for no labels here
                labels, label_y, positions = _label_places(
                    boxes, list(layer.texts[j]), layer.text_at, px_per_unit, placed
                )
                text = dict(
                    text=labels,
                    textposition=positions,
                    textfont=dict(color=layer.color, size=12),
                    cliponaxis=False,
                )
                fig.add_trace(
                    go.Scatter(
                        x=boxes[:, 0].tolist(),
                        y=label_y,
                        mode="text",
                        showlegend=False,
                        **text,
                        **group,
                    ),
                    **cell,
                )
        fig.update_xaxes(range=[0, w], **cell)
        fig.update_yaxes(range=[h, 0], **cell)  # y grows downwards, as in the image
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    style_figure(fig, title, height=90 + plot_px, margin=dict(l=10, r=10, t=70, b=10))
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.02, yanchor="top"))
    if not trace_types(fig) <= CARTESIAN_TRACE_TYPES:  # a bug here, not bad input
        raise AssertionError(f"non-cartesian traces: {trace_types(fig) - CARTESIAN_TRACE_TYPES}")
    check_figure_size(fig)
    return fig
