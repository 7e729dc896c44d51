"""course_utils.viz.detection: images with boxes drawn over them (plot_boxes), and box
labels that keep out of each other's way."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.detection import compose_scenes
from course_utils.viz import BoxLayer, plot_boxes
from course_utils.viz.detection import _label_places
from course_utils.viz.style import CARTESIAN_TRACE_TYPES, trace_types


@pytest.fixture(scope="module")
def scenes():
    return compose_scenes(200, seed=0)


def test_plot_boxes_is_small_and_cartesian(scenes):
    photo = np.zeros((400, 500, 3), dtype=np.uint8)
    fig = plot_boxes(
        [scenes.images[0], scenes.images[1], photo],
        [
            BoxLayer(
                "truth",
                [scenes.targets(0)[0], scenes.targets(1)[0], None],
                [["a"] * len(scenes.targets(0)[0]), ["b"] * len(scenes.targets(1)[0]), []],
            ),
            BoxLayer("other", [None, scenes.targets(1)[0], torch.tensor([[10.0, 10, 300, 200]])]),
        ],
        titles=["one", "two", "photo"],
        title="test",
    )
    assert trace_types(fig) <= CARTESIAN_TRACE_TYPES
    assert len(fig.to_json()) < 100_000
    assert [t.showlegend for t in fig.data if t.type == "scatter" and t.mode == "lines"].count(
        True
    ) == 2  # one per layer


def test_plot_boxes_rows_are_as_tall_as_their_square_panels(scenes):
    images = [scenes.images[i] for i in range(8)]  # (1, 64, 64) each: square
    fig = plot_boxes(images, [], cols=4, title="eight scenes")
    panel = 680 * (1 - 3 * 0.02) / 4  # a panel's width in the book's column, in pixels
    assert fig.layout.height == 90 + 2 * round(panel) + 30  # two rows and the gap between
    assert plot_boxes(images[:2], [], cols=2, panel_px=320).layout.height == 90 + 320


def test_box_labels_move_out_of_each_others_way():
    # two boxes with almost the same top-left corner, one far away
    boxes = np.array([[10.0, 10, 30, 40], [11.0, 11, 31, 30], [40.0, 5, 60, 20]])
    placed = []
    texts, ys, positions = _label_places(boxes, ["3", "5", "7"], "top", 5.0, placed)
    assert texts == ["3", "5", "7"]
    assert positions[0] == "top right" and ys[0] == 10.0  # first choice: above the box
    assert (ys[1], positions[1]) == (30.0, "bottom right")  # below its own box instead
    assert positions[2] == "top right"  # far from the others: stays above
    assert len(placed) == 3
    # text_at="bottom" tries below first
    _, ys, positions = _label_places(boxes[:1], ["3"], "bottom", 5.0, [])
    assert (ys[0], positions[0]) == (40.0, "bottom right")


def test_a_label_repeated_on_top_of_itself_is_written_once():
    # five anchors matched to one digit, corners a pixel apart: one "0" is enough
    boxes = np.array([[10.0 + i, 10 + i, 30, 40] for i in range(5)])
    texts, _, _ = _label_places(boxes, ["0"] * 5, "top", 5.0, [])
    assert texts[0] == "0" and texts.count("0") < 5 and set(texts) <= {"0", ""}


def test_plot_boxes_panels_without_labels(scenes):
    boxes = scenes.targets(0)[0]
    layer = BoxLayer("found", [boxes, boxes], [[], ["x"] * len(boxes)])  # labels on the right
    fig = plot_boxes([scenes.images[0]] * 2, [layer], cols=2)
    texts = [t for t in fig.data if t.type == "scatter" and t.mode == "text"]
    assert len(texts) == 1 and list(texts[0].text) == ["x"] * len(boxes)


def test_digits_are_png_and_photos_jpeg(scenes):
    photo = np.full((40, 60, 3), 200, dtype=np.uint8)
    fig = plot_boxes([scenes.images[0], photo], [], cols=2)
    sources = [t.source for t in fig.data if t.type == "image"]
    assert sources[0].startswith("data:image/png;base64,")
    assert sources[1].startswith("data:image/jpeg;base64,")
