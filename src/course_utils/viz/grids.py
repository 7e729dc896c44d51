"""Grids of small images with a title above each (lessons 1-3: the dogs-vs-cats chapter's
most confident mistakes, the augmented copies of one image in the augmentation chapter,
the satellite tiles of the multi-label chapter, the exercises' sample batches), and grids
of arrays drawn as pictures (:func:`picture_grid`: the NumPy and MLP chapters' 8×8 digits,
the CNN chapter's kernels and feature maps), whose pixels stay square at any width.

:func:`example_titles` writes "actual X / predicted Y (p)" titles for the
:class:`~course_utils.interpret.Examples` an interpretation returns. The images go into
the figure as PNG ``data:`` URIs (:mod:`course_utils.viz.images`), and the grid is laid
out for the width of the book's content column, so that the titles stay readable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from course_utils.viz.images import as_uint8_image, image_data_uri
from course_utils.viz.style import PICTURE, finish_figure, square_pixels, style_figure

__all__ = ["example_titles", "picture_grid", "plot_image_grid"]

# The book's content column, in pixels, and the size of the images' titles: the grid is
# laid out for that width, so that the titles stay readable and clear of each other.
COLUMN_PX = 700
IMAGE_TITLE_FONT = 12
GAP_PX = 16  # between two columns


def example_titles(examples, classes: Sequence[str], *, sep: str = "<br>") -> list[str]:
    """Titles "actual X / predicted Y (p)" for :class:`~course_utils.interpret.Examples`
    (``Interpretation.most_confident_wrong()`` and the like)."""
    return [
        f"actual {classes[int(a)]}{sep}predicted {classes[int(p)]} ({prob:.2f})"
        for a, p, prob in zip(examples.actual, examples.predicted, examples.probs, strict=True)
    ]


def _grid_columns(n: int, most: int, longest_line: int, width_px: float, gap_px: float) -> int:
    """Columns for ``n`` images: at most ``most``, fewer if titles whose longest line has
    ``longest_line`` characters would not fit side by side in ``width_px``, then spread
    evenly over the rows (8 images in at most 6 columns: 2 rows of 4, not 6 and 2)."""
    title_px = 0.55 * IMAGE_TITLE_FONT * longest_line + 8  # about 0.55 em a character
    fit = max(1, int((width_px + gap_px) // (title_px + gap_px)))
    cols = max(1, min(most, fit, n))
    rows = math.ceil(n / cols)
    return math.ceil(n / rows)


class _GridLayout(NamedTuple):
    """Where :func:`plot_image_grid` puts the images, in Plotly's terms."""

    rows: int
    cols: int
    horizontal_spacing: float  # fractions of the plotting area
    vertical_spacing: float
    height: int  # of the whole figure, px
    margin: dict[str, int]


def _grid_layout(
    pixels: Sequence[np.ndarray], texts: Sequence[str] | None, most_cols: int, size: int
) -> _GridLayout:
    """Lay out images (uint8 arrays) and their titles for the book's column: as many
    columns as the titles allow (:func:`_grid_columns`), each image as wide as its
    column (at most 200 px high, or ``size`` if larger), its title above it."""
    lines = [line for t in texts or [] for line in t.split("<br>")]
    margin = dict(l=20, r=20, b=20)
    width_px = COLUMN_PX - margin["l"] - margin["r"]
    cols = _grid_columns(len(pixels), most_cols, max(map(len, lines), default=0), width_px, GAP_PX)
    rows = math.ceil(len(pixels) / cols)
    cell_px = (width_px - (cols - 1) * GAP_PX) / cols
    aspect = max(a.shape[0] / a.shape[1] for a in pixels)  # the tallest image's height / width
    image_px = min(max(200.0, size), cell_px * min(aspect, 1.5))
    n_lines = max((t.count("<br>") + 1 for t in texts or []), default=0)
    title_px = round(1.35 * IMAGE_TITLE_FONT * n_lines) + 8 if n_lines else 0
    plot_px = rows * image_px + (rows - 1) * title_px
    margin["t"] = 60 + title_px
    return _GridLayout(
        rows=rows,
        cols=cols,
        horizontal_spacing=GAP_PX / width_px,
        vertical_spacing=title_px / plot_px if rows > 1 else 0.0,
        height=round(plot_px + margin["t"] + margin["b"]),
        margin=margin,
    )


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
    pixels = [as_uint8_image(image, size) for image in images]
    texts = [str(t) for t in titles] if titles is not None else None
    layout = _grid_layout(pixels, texts, cols or 6, size)
    fig = make_subplots(
        rows=layout.rows,
        cols=layout.cols,
        subplot_titles=texts,
        horizontal_spacing=layout.horizontal_spacing,
        vertical_spacing=layout.vertical_spacing,
    )
    for n, (array, text) in enumerate(zip(pixels, texts or [""] * len(pixels), strict=True)):
        fig.add_trace(
            go.Image(
                source=image_data_uri(array),
                name=f"image {n}",
                hovertemplate=f"{text.replace('<br>', ', ') or f'image {n}'}<extra></extra>",
            ),
            row=n // layout.cols + 1,
            col=n % layout.cols + 1,
        )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_annotations(font_size=IMAGE_TITLE_FONT)
    style_figure(fig, title or "Examples", height=layout.height, margin=layout.margin)
    return finish_figure(fig)


def picture_grid(
    pictures: Sequence,
    titles: Sequence[str] | None = None,
    *,
    cols: int,
    title: str | None = None,
    colorscale: str = "Greys",
    zmin: float | None = 0.0,
    zmax: float | None = 1.0,
    zmid: float | None = None,
    colorbar_title: str | None = None,
    title_colors: Sequence[str] | None = None,
    hovertemplate: str = "row %{y}, column %{x}: %{z:.2f}<extra></extra>",
) -> go.Figure:
    """2-D arrays drawn as pictures, ``cols`` to a row with a title over each, every pixel
    square and row 0 at the top, as an image is read (hover shows a pixel's value).

    The pictures share one colour scale from ``zmin`` to ``zmax`` (a colour bar titled
    ``colorbar_title``, if given); with ``zmid``, each has its own scale centred on it
    (a diverging ``colorscale`` such as ``"RdBu_r"`` then shows zero as white and the sign
    as the colour). ``title_colors`` colours the titles (a right or wrong answer).
    """
    arrays = [np.asarray(p, dtype=np.float64) for p in pictures]
    if not arrays:
        raise ValueError("no pictures to show")
    if any(a.ndim != 2 for a in arrays):
        raise ValueError(f"pictures must be 2-D arrays, got shapes {[a.shape for a in arrays]}")
    if titles is not None and len(titles) != len(arrays):
        raise ValueError(f"got {len(titles)} titles for {len(arrays)} pictures")
    if cols < 1:
        raise ValueError(f"cols must be at least 1, got {cols}")
    cols = min(cols, len(arrays))
    rows = math.ceil(len(arrays) / cols)
    texts = [str(t) for t in titles] if titles is not None else None
    shared = zmid is None
    bar_px = 70 if shared and colorbar_title else 0
    margin = dict(l=10, r=10 + bar_px, b=10)
    width_px = COLUMN_PX - margin["l"] - margin["r"]
    panel_px = (width_px - (cols - 1) * GAP_PX) / cols
    aspect = max(a.shape[0] / a.shape[1] for a in arrays)  # the tallest picture's h / w
    picture_px = panel_px * aspect
    title_px = round(1.35 * IMAGE_TITLE_FONT) + 6 if texts else 0
    plot_px = rows * picture_px + (rows - 1) * title_px
    margin["t"] = (60 if title else 10) + title_px
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=texts,
        horizontal_spacing=GAP_PX / width_px,
        vertical_spacing=title_px / plot_px if rows > 1 else 0.0,
    )
    for n, array in enumerate(arrays):
        scale = (
            dict(coloraxis="coloraxis")
            if shared
            else dict(colorscale=colorscale, zmid=zmid, showscale=False)
        )
        fig.add_trace(
            go.Heatmap(
                z=np.round(array, 3).tolist(), meta=PICTURE, hovertemplate=hovertemplate, **scale
            ),
            row=n // cols + 1,
            col=n % cols + 1,
        )
    for annotation, color in zip(fig.layout.annotations, title_colors or [], strict=False):
        annotation.font.color = color
    fig.update_annotations(font_size=IMAGE_TITLE_FONT)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    if shared:
        bar = dict(title=dict(text=colorbar_title)) if colorbar_title else None
        fig.update_layout(
            coloraxis=dict(
                colorscale=colorscale, cmin=zmin, cmax=zmax, showscale=bool(bar), colorbar=bar
            )
        )
    style_figure(fig, title or "", height=round(plot_px + margin["t"] + margin["b"]), margin=margin)
    return finish_figure(square_pixels(fig))
