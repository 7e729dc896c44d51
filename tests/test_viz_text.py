"""The figures of lesson 4's text pipeline (course_utils.viz.text)."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.text import LanguageModelLoader
from course_utils.viz.text import plot_lm_batches, plot_vocab_sizes


def test_lm_batches_colour_each_position_by_the_window_that_reads_it():
    stream = np.arange(60)
    loader = LanguageModelLoader(stream, batch_size=3, bptt=6, variable=False)
    windows = loader.next_windows()[:2]  # (0, 6), (6, 6)
    rows = [[f"w{i}" for i in row] for row in loader.rows.tolist()]
    fig = plot_lm_batches(rows, windows)
    (heatmap,) = fig.data
    z = np.array(heatmap.z)  # (positions shown, rows)
    assert z.shape == (13, 3)  # two windows of 6 and the last target
    assert z[:6].tolist() == [[0] * 3] * 6 and z[6:12].tolist() == [[1] * 3] * 6
    assert z[12].tolist() == [2] * 3  # a target only
    assert heatmap.text[0][1] == "w20"  # row 1 starts a third of the way along the stream
    assert "input 'w20', target 'w21'" in heatmap.customdata[0][1]


def test_lm_batches_reject_windows_past_the_rows():
    with pytest.raises(ValueError, match="past the rows' 4 tokens"):
        plot_lm_batches([["a", "b", "c", "d"]], [(0, 4)])
    with pytest.raises(ValueError, match="same length"):
        plot_lm_batches([["a", "b"], ["c"]], [(0, 1)])


def test_vocab_sizes_figure():
    fig = plot_vocab_sizes([1, 3, 10], [900, 400, 100], [0.01, 0.05, 0.2])
    assert list(fig.data[0].y) == [900, 400, 100]
    assert list(fig.data[1].y) == [1.0, 5.0, 20.0]  # percent
    with pytest.raises(ValueError, match="as many sizes"):
        plot_vocab_sizes([1, 3], [900], [0.1, 0.2])
