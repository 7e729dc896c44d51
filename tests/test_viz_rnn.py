"""The RNN unrolled along a sentence (course_utils.viz.rnn): which units and characters
unrolled_frames picks, worked out by hand, and the structure of the figure plotly.js needs
(one frame per character, frames that update traces of the same type, a slider step per
frame, cartesian traces only, titled axes, JSON within the page budget)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from course_utils.viz.rnn import plot_unrolled_rnn, shown_char, unrolled_frames
from course_utils.viz.style import CARTESIAN_TRACE_TYPES

VOCAB = [" ", "a", "b", "c"]
TEXT = "ab ca"  # read "ab c", then predict "b ca"


def run(n_hidden: int = 6, seed: int = 0):
    """A made-up run over TEXT: states (T, H) and next-character probabilities (T, V)."""
    rng = np.random.default_rng(seed)
    steps = len(TEXT) - 1
    states = np.tanh(rng.normal(size=(steps, n_hidden)))
    scores = rng.normal(size=(steps, len(VOCAB)))
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return TEXT[:-1], states, probs, VOCAB, TEXT[1:]


def test_units_are_the_most_variable_ones():
    chars, _, probs, vocab, nexts = run()
    states = np.zeros((4, 5))
    states[:, 3] = [-1, 1, -1, 1]  # std 1: the most variable
    states[:, 0] = [0, 0.5, 0, 0.5]  # std 0.25
    states[:, 4] = [0.1, 0, 0.1, 0]  # std 0.05; units 1 and 2 never change
    data = unrolled_frames(chars, states, probs, vocab, nexts, n_units=3)
    assert data.units == [3, 0, 4]
    np.testing.assert_array_equal(data.states, states[:, [3, 0, 4]])


def test_top_characters_and_the_probability_of_the_true_next_one():
    chars, states, _, vocab, nexts = run()
    probs = np.array(
        [
            [0.1, 0.2, 0.6, 0.1],  # after "a": b most likely (and it came next)
            [0.5, 0.3, 0.1, 0.1],  # after "b": space (which came next)
            [0.2, 0.2, 0.2, 0.4],  # after " ": c
            [0.1, 0.7, 0.1, 0.1],  # after "c": a
        ]
    )
    data = unrolled_frames(chars, states, probs, vocab, nexts, n_units=2, top_k=2)
    assert data.chars == ["a", "b", "␣", "c"]
    assert data.next_chars == ["b", "␣", "c", "a"]
    # ties (the 0.2s after " ", the 0.1s after "c") keep the vocabulary's order: space first
    assert data.top_chars == [["b", "a"], ["␣", "a"], ["c", "␣"], ["a", "␣"]]
    np.testing.assert_allclose(data.top_probs[:, 0], [0.6, 0.5, 0.4, 0.7])
    np.testing.assert_allclose(data.next_probs, [0.6, 0.5, 0.4, 0.7])


def test_accepts_tensors():
    chars, states, probs, vocab, nexts = run()
    data = unrolled_frames(chars, torch.tensor(states), torch.tensor(probs), vocab, nexts)
    # the defaults (16 units, 5 characters) are capped at the run's 6 units and 4 characters
    assert data.states.shape == (4, 6) and data.top_probs.shape == (4, 4)
    assert (np.diff(data.top_probs, axis=1) <= 0).all()  # largest first


def test_shown_char_makes_whitespace_visible():
    assert [shown_char(c) for c in " \n\tx"] == ["␣", "↵", "⇥", "x"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: {**a, "states": a["states"][:2]}, "states must be"),
        (lambda a: {**a, "probs": a["probs"][:, :3]}, "probs must be"),
        (lambda a: {**a, "next_chars": "b"}, "next characters for"),
        (lambda a: {**a, "probs": a["probs"] * 2}, "probability distribution"),
        (lambda a: {**a, "n_units": 0}, "at least 1"),
        (lambda a: {**a, "top_k": 0}, "at least 1"),
        (lambda a: {**a, "next_chars": "bzca"}, "not in the vocabulary"),
        (lambda a: {**a, "states": np.full_like(a["states"], np.nan)}, "finite"),
    ],
)
def test_checks_its_inputs(change, message):
    chars, states, probs, vocab, nexts = run()
    args = dict(chars=chars, states=states, probs=probs, vocab=vocab, next_chars=nexts)
    with pytest.raises(ValueError, match=message):
        unrolled_frames(**change(args))


def test_figure_structure():
    chars, states, probs, vocab, nexts = run()
    fig = plot_unrolled_rnn(chars, states, probs, vocab, nexts, n_units=4, top_k=3)
    types = {t.type for t in fig.data} | {t.type for f in fig.frames for t in f.data}
    assert types <= CARTESIAN_TRACE_TYPES
    assert fig.layout.title.text and fig.layout.paper_bgcolor is None
    text = fig.to_json()
    assert len(text) < 1_000_000
    json.dumps(json.loads(text), allow_nan=False)  # strict JSON, as the book embeds it
    for trace in fig.data:  # every axis in use has a title
        for axis in ("xaxis" + (trace.xaxis or "x")[1:], "yaxis" + (trace.yaxis or "y")[1:]):
            assert fig.layout[axis].title.text, axis
    # one frame per character read, each updating the cursor, the state and the predictions
    assert [f.name for f in fig.frames] == [f"step {t}" for t in range(len(chars))]
    for frame in fig.frames:
        assert list(frame.traces) == [1, 2, 3]
        for index, trace in zip(frame.traces, frame.data, strict=True):
            assert fig.data[index].type == trace.type
    (slider,) = fig.layout.sliders
    assert [s.args[0][0] for s in slider.steps] == [f.name for f in fig.frames]
    assert [s.label for s in slider.steps] == ["a", "b", "␣", "c"]
    # the heat map holds every step of the shown units: (U, T)
    heatmap = fig.data[0]
    assert np.shape(heatmap.z) == (4, len(chars))
    # frame 2 (after " "): the cursor around column 2, the state's bars at step 2
    cursor, bars, predictions = fig.frames[2].data
    assert min(cursor.x) == 1.5 and max(cursor.x) == 2.5
    np.testing.assert_allclose(bars.y, np.array(heatmap.z)[:, 2])
    assert len(predictions.x) == 3
