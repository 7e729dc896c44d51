"""The gradient-decay and gate figures (course_utils.viz.gates): the numbers gradient_decay
and gate_frames compute, worked out by hand, their input checks, and the structure of the
figures plotly.js needs (cartesian traces only, titled axes, strict JSON within the page
budget, one button per quantity showing its heat map alone)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from course_utils.viz.gates import gate_frames, gradient_decay, plot_gates, plot_gradient_decay
from course_utils.viz.style import CARTESIAN_TRACE_TYPES


def check_figure(fig) -> None:
    assert {t.type for t in fig.data} <= CARTESIAN_TRACE_TYPES
    assert fig.layout.title.text and fig.layout.paper_bgcolor is None
    text = fig.to_json()
    assert len(text) < 1_000_000
    json.dumps(json.loads(text), allow_nan=False)  # strict JSON, as the book embeds it
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


# ----- gradient_decay / plot_gradient_decay ------------------------------------------------------


def test_gradient_decay_reverses_time_and_takes_quartiles_over_sequences():
    # 5 sequences, 3 steps; the last column is the state right before the prediction
    rnn = np.array([[1e-4, 1e-2, 1.0], [2e-4, 2e-2, 2.0], [3e-4, 3e-2, 3.0],
                    [4e-4, 4e-2, 4.0], [5e-4, 5e-2, 5.0]])  # fmt: skip
    data = gradient_decay({"RNN": rnn, "LSTM": torch.tensor(rnn * 10)})
    assert data.names == ["RNN", "LSTM"]
    np.testing.assert_array_equal(data.distance, [0, 1, 2])
    np.testing.assert_allclose(data.median[0], [3.0, 3e-2, 3e-4])  # distance 0 first
    np.testing.assert_allclose(data.low[0], [2.0, 2e-2, 2e-4])
    np.testing.assert_allclose(data.high[0], [4.0, 4e-2, 4e-4])
    np.testing.assert_allclose(data.median[1], [30.0, 0.3, 3e-3])


@pytest.mark.parametrize(
    "norms, message",
    [
        ({}, "empty"),
        ({"a": np.ones(4)}, "sequences, steps"),
        ({"a": np.ones((2, 1))}, "sequences, steps"),
        ({"a": -np.ones((2, 3))}, "non-negative"),
        ({"a": np.full((2, 3), np.nan)}, "finite"),
        ({"a": np.ones((2, 3)), "b": np.ones((2, 4))}, "same number of steps"),
    ],
)
def test_gradient_decay_checks_its_inputs(norms, message):
    with pytest.raises(ValueError, match=message):
        gradient_decay(norms)


def test_gradient_decay_figure():
    rng = np.random.default_rng(0)
    steps = np.arange(50)
    rnn = 0.5 ** steps[::-1] * rng.uniform(0.5, 2, size=(8, 50))
    rnn[:, 0] = 0.0  # an underflow: drawn as a gap on the log axis, not as -inf
    lstm = 0.9 ** steps[::-1] * rng.uniform(0.5, 2, size=(8, 50))
    fig = plot_gradient_decay({"RNN": rnn, "LSTM": lstm})
    check_figure(fig)
    assert fig.layout.yaxis.type == "log"
    # per model: the upper quartile, the lower one filled up to it, the median with a legend
    assert [t.name for t in fig.data if t.showlegend is not False] == ["RNN", "LSTM"]
    assert fig.data[1].fill == "tonexty"
    median = fig.data[2]
    assert median.y[-1] is None  # the zeros at distance 49
    assert median.y[0] > median.y[10] > median.y[40]  # decays with the distance


# ----- gate_frames / plot_gates ------------------------------------------------------------------

TEXT = "ab\ncd"


def gates(hidden: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sigmoid = 1 / (1 + np.exp(-rng.normal(size=(3, len(TEXT), hidden))))
    cell = rng.normal(scale=3.0, size=(len(TEXT), hidden))
    return {"input gate": sigmoid[0], "forget gate": sigmoid[1], "output gate": sigmoid[2],
            "cell state": cell}  # fmt: skip


def test_gate_frames_picks_the_most_variable_units_of_the_last_quantity():
    values = gates()
    cell = np.zeros((len(TEXT), 5))
    cell[:, 2] = [-4, 4, -4, 4, -4]  # the most variable
    cell[:, 0] = [0, 1, 0, 1, 0]
    values["cell state"] = cell
    data = gate_frames(TEXT, values, n_units=2)
    assert data.units == [2, 0]
    assert data.chars == ["a", "b", "↵", "c", "d"]
    assert data.names == ["input gate", "forget gate", "output gate", "cell state"]
    np.testing.assert_array_equal(data.values[3], cell[:, [2, 0]].T)  # (U, T)
    # gates coloured from 0 to 1, the cell state symmetrically about 0
    assert data.ranges[:3] == [(0.0, 1.0)] * 3 and data.ranges[3] == (-4.0, 4.0)


def test_gate_frames_with_chosen_units_and_notes():
    values = {name: torch.tensor(v) for name, v in gates().items()}
    data = gate_frames(TEXT, values, units=[4, 1], notes={4: "line position"})
    assert data.units == [4, 1]
    assert data.unit_labels == ["unit 4 (line position)", "unit 1"]
    np.testing.assert_allclose(data.values[1], values["forget gate"].numpy()[:, [4, 1]].T)
    data = gate_frames(TEXT, values, n_units=1, rank_by="forget gate")
    assert data.units == [int(np.argmax(values["forget gate"].numpy().std(axis=0)))]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: {**a, "values": {}}, "values is empty"),
        (lambda a: {**a, "chars": ""}, "chars is empty"),
        (lambda a: {**a, "chars": "abc"}, r"\(T, H\) with T = 3"),
        (lambda a: {**a, "values": {**a["values"], "x": np.ones((5, 3))}}, "same units"),
        (lambda a: {**a, "values": {"x": np.full((5, 5), np.inf)}}, "finite"),
        (lambda a: {**a, "units": [0, 0]}, "distinct units"),
        (lambda a: {**a, "units": [5]}, "distinct units"),
        (lambda a: {**a, "units": []}, "distinct units"),
        (lambda a: {**a, "rank_by": "hidden"}, "none of the quantities"),
        (lambda a: {**a, "n_units": 0}, "at least 1"),
    ],
)
def test_gate_frames_checks_its_inputs(change, message):
    args = dict(chars=TEXT, values=gates())
    with pytest.raises(ValueError, match=message):
        gate_frames(**change(args))


def test_gates_figure():
    fig = plot_gates(TEXT, gates(), n_units=3, title="Gates")
    check_figure(fig)
    assert [t.type for t in fig.data] == ["heatmap"] * 4
    assert [t.visible for t in fig.data] == [True, False, False, False]
    assert np.shape(fig.data[0].z) == (3, len(TEXT))
    assert list(fig.layout.xaxis.ticktext) == ["a", "b", "↵", "c", "d"]
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["input gate", "forget gate", "output gate",
                                              "cell state"]  # fmt: skip
    for shown, button in enumerate(menu.buttons):  # each button shows its heat map alone
        assert button.args[0]["visible"] == [q == shown for q in range(4)]
    assert (fig.data[1].zmin, fig.data[1].zmax) == (0.0, 1.0)
    assert fig.data[3].zmin == -fig.data[3].zmax
