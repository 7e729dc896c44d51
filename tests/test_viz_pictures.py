"""Pictures keep square pixels: ``square_pixels`` and ``picture_grid`` (course_utils.viz).

The browser tests measure the drawn pixels at desktop and phone width
(``test_pictures_keep_square_pixels``); these check the figures' structure.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from course_utils.viz import PICTURE, picture_grid, square_pixels


def pictures_of(fig: go.Figure) -> list:
    return [trace for trace in fig.data if trace.meta == PICTURE]


def test_square_pixels_anchors_pictures_only():
    fig = make_subplots(rows=1, cols=3)
    fig.add_trace(go.Heatmap(z=np.ones((8, 100)), dx=0.1, meta=PICTURE), row=1, col=1)
    fig.add_trace(go.Heatmap(z=np.ones((10, 10))), row=1, col=2)  # a matrix, not a picture
    fig.add_trace(go.Image(z=np.zeros((4, 6, 3))), row=1, col=3)
    square_pixels(fig)
    # a cell is 0.1 x-units wide and 1 y-unit high: y gets 0.1 times x's pixels per unit
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 0.1
    assert fig.layout.yaxis.constrain == fig.layout.xaxis.constrain == "domain"
    assert fig.layout.yaxis2.scaleanchor is None and fig.layout.xaxis2.constrain is None
    assert fig.layout.yaxis3.scaleanchor == "x3" and fig.layout.yaxis3.scaleratio == 1


def test_picture_grid_shared_scale():
    rng = np.random.default_rng(0)
    digits = rng.random((12, 8, 8))
    titles = [f"label {i % 10}" for i in range(12)]
    colours = ["green", "red"] * 6
    fig = picture_grid(digits, titles, cols=5, colorbar_title="ink", title_colors=colours)
    pictures = pictures_of(fig)
    assert len(pictures) == len(fig.data) == 12
    for trace in pictures:
        y_key = "yaxis" + trace.yaxis[1:]
        assert fig.layout[y_key].scaleanchor == trace.xaxis
        assert fig.layout[y_key].autorange == "reversed"  # row 0 at the top
        assert trace.coloraxis == "coloraxis"
    np.testing.assert_allclose(np.array(pictures[3].z), digits[3].round(3))
    assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == 1
    assert fig.layout.coloraxis.colorbar.title.text == "ink"
    assert [a.text for a in fig.layout.annotations] == titles
    assert [a.font.color for a in fig.layout.annotations] == colours
    # 3 rows of 5 columns, in the book's column: panels about 125 px, square
    assert 3 * 100 < fig.layout.height < 3 * 160


def test_picture_grid_own_scales_centred():
    maps = [np.array([[-1.0, 0.0], [0.0, 3.0]]), np.array([[2.0, 0.5], [0.0, -0.5]])]
    fig = picture_grid(maps, cols=8, colorscale="RdBu_r", zmid=0.0, title="Kernels")
    assert [t.zmid for t in fig.data] == [0.0, 0.0]
    assert all(t.coloraxis is None and t.showscale is False for t in fig.data)
    assert fig.layout.title.text == "Kernels"
    assert fig.layout.xaxis2.domain[1] == 1.0  # two pictures: two columns, not eight


@pytest.mark.parametrize(
    ("pictures", "kwargs", "message"),
    [
        ([], {"cols": 2}, "no pictures"),
        ([np.ones((2, 2, 2))], {"cols": 2}, "2-D"),
        ([np.ones((2, 2))], {"cols": 2, "titles": ["a", "b"]}, "2 titles for 1 pictures"),
        ([np.ones((2, 2))], {"cols": 0}, "cols must be at least 1"),
    ],
)
def test_picture_grid_bad_input(pictures, kwargs, message):
    with pytest.raises(ValueError, match=message):
        picture_grid(pictures, **kwargs)
