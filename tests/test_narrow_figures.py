"""course_book.narrow_figures: multi-panel figures re-flowed for a phone's width.

The browser tests draw every figure of the book at 390 px and look for overlapping or
cut-off text (``test_browser_figures.py``); these check the geometry on small figures.
"""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from course_book.narrow_figures import (
    IMAGE_MAX_PX,
    PHONE_CANVAS_PX,
    find_panels,
    narrow_layout,
)


def as_dict(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


def two_plots() -> dict:
    """A loss curve and a metric side by side, with panel titles and a legend below."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("losses", "metrics on the validation set"))
    fig.add_trace(go.Scatter(y=[3, 2, 1]), row=1, col=1)
    fig.add_trace(go.Scatter(y=[0.5, 0.7, 0.8]), row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(
        height=450, margin=dict(l=60, r=30, t=80, b=110), legend=dict(orientation="h", y=-0.18)
    )
    return as_dict(fig)


def test_side_by_side_plots_stack():
    figure = two_plots()
    narrow = narrow_layout(figure)
    assert narrow is not None
    # one column: both plots as wide as the phone's plot area, the first on top
    assert narrow["xaxis"]["domain"] == narrow["xaxis2"]["domain"] == [0.0, 1.0]
    (low1, high1), (low2, high2) = narrow["yaxis"]["domain"], narrow["yaxis2"]["domain"]
    assert high1 == 1.0 and low2 == 0.0 and high2 < low1
    # each keeps its height in pixels (260), with a gap for the x axis and the next title
    plot_px = narrow["height"] - 80 - 110
    assert round((high1 - low1) * plot_px) == 260 == round((high2 - low2) * plot_px)
    assert 40 < (low1 - high2) * plot_px < 90
    # the panel titles move with their panels: centred, on each panel's top edge
    titles = {a["text"]: a for a in narrow["annotations"]}
    assert titles["losses"]["x"] == titles["metrics on the validation set"]["x"] == 0.5
    assert titles["losses"]["y"] == high1 and titles["metrics on the validation set"]["y"] == high2
    # the legend keeps its distance in pixels below the plot area
    old_px = -0.18 * (450 - 80 - 110)
    assert np.isclose(narrow["legend"]["y"] * plot_px, old_px, atol=1)
    # the rest of the axes' settings stay
    assert narrow["xaxis"]["title"]["text"] == "epoch"


def test_one_panel_or_panels_that_fit_need_nothing():
    one = go.Figure(go.Scatter(y=[1, 2]))
    assert narrow_layout(as_dict(one)) is None
    # two small images side by side fit a phone as they are
    fig = make_subplots(rows=1, cols=2)
    for col in (1, 2):
        fig.add_trace(go.Image(z=np.zeros((8, 8, 3))), row=1, col=col)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    assert narrow_layout(as_dict(fig)) is None


def test_a_row_of_images_wraps_and_keeps_their_aspect():
    fig = make_subplots(
        rows=1, cols=8, subplot_titles=[f"actual {i}<br>predicted {i}" for i in range(8)]
    )
    for col in range(1, 9):
        fig.add_trace(go.Image(z=np.zeros((10, 10, 3))), row=1, col=col)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(height=200, margin=dict(l=20, r=20, t=80, b=20))
    figure = as_dict(fig)
    panels = find_panels(figure)
    assert len(panels) == 8 and all(p.image_like for p in panels)
    narrow = narrow_layout(figure)
    domains = [
        (tuple(narrow[f"xaxis{i or ''}"]["domain"]), tuple(narrow[f"yaxis{i or ''}"]["domain"]))
        for i in ["", 2, 3, 4, 5, 6, 7, 8]
    ]
    columns = sorted({x for x, _ in domains})
    rows = sorted({y for _, y in domains}, reverse=True)
    # titles of "predicted 7" (11 characters at subplot titles' 16 px) fit two to a row of
    # 300 px, not eight
    assert len(columns) == 2 and len(rows) == 4
    plot_w = PHONE_CANVAS_PX - 40
    plot_h = narrow["height"] - 100
    (x0, x1), (y0, y1) = domains[0]
    # square images stay square: as high as wide (and at most IMAGE_MAX_PX)
    assert abs((x1 - x0) * plot_w - (y1 - y0) * plot_h) < 2
    assert (y1 - y0) * plot_h <= IMAGE_MAX_PX
    # the title over image 4 (row 3, column 1) sits on top of its new place
    title = narrow["annotations"][4]
    assert np.isclose(title["x"], (domains[4][0][0] + domains[4][0][1]) / 2, atol=1e-3)
    assert np.isclose(title["y"], domains[4][1][1], atol=1e-3)


def test_buttons_and_sliders_keep_their_distance_from_the_plot():
    figure = two_plots()
    figure["layout"]["updatemenus"] = [{"type": "buttons", "y": 1.1, "buttons": []}]
    figure["layout"]["sliders"] = [{"y": 0, "steps": []}]
    narrow = narrow_layout(figure)
    old_plot = 450 - 80 - 110
    new_plot = narrow["height"] - 80 - 110
    assert np.isclose((narrow["updatemenus"][0]["y"] - 1) * new_plot, 0.1 * old_plot, atol=0.5)
    assert narrow["sliders"][0]["y"] == 0
