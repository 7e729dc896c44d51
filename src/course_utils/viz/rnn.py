"""A recurrent network unrolled along a sentence, one character at a time (lesson 6).

A character-level RNN reads a text one character at a time. After each character it has a
new hidden state ``h_t`` (a vector of numbers between -1 and 1 for a tanh RNN) and, from it,
a probability for every character that could come next. Unrolled along a sentence, the
same cell appears once per character, each copy handing its state to the next.

:func:`unrolled_frames` picks what to show from such a run: the hidden units that change
most along the sentence and, at each step, the most likely next characters.
:func:`plot_unrolled_rnn` draws it: a heat map of those units over the whole sentence (one
column per character read, a copy of the cell) with a cursor that a slider moves along it;
below, the hidden state at the cursor as bars, and the model's most likely next characters
with their probabilities, the character that really came next in a colour of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from course_utils.viz.style import (
    NEUTRAL,
    PALETTE,
    compact,
    finish_figure,
    float_array,
    frame_slider,
    play_pause_buttons,
    slider_margin,
    style_figure,
)

__all__ = ["UnrolledFrames", "plot_unrolled_rnn", "shown_char", "unrolled_frames"]

# Characters that would be invisible (or break a line) on an axis or in a title.
_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥"}


def shown_char(c: str) -> str:
    """A character as the figure shows it: space, newline and tab as visible symbols."""
    return _VISIBLE.get(c, c)


class UnrolledFrames(NamedTuple):
    """The figure's data: one entry per character read (T steps, U units, k characters)."""

    chars: list[str]  # (T,) the characters read, as shown (shown_char)
    units: list[int]  # (U,) the hidden units shown, the most variable along the sentence first
    states: np.ndarray  # (T, U) those units' values after each character
    top_chars: list[list[str]]  # (T, k) the k most likely next characters, as shown
    top_probs: np.ndarray  # (T, k) their probabilities, largest first
    next_chars: list[str]  # (T,) the character that came next, as shown
    next_probs: np.ndarray  # (T,) the probability the model gave it


def unrolled_frames(
    chars: str,
    states,
    probs,
    vocab: Sequence[str],
    next_chars: str,
    *,
    n_units: int = 16,
    top_k: int = 5,
) -> UnrolledFrames:
    """The data of :func:`plot_unrolled_rnn`.

    ``chars``: the T characters read; ``states`` (T, H): the hidden state after each;
    ``probs`` (T, V): the next-character probabilities after each (rows sum to 1);
    ``vocab``: the V characters, in the order of ``probs``' columns; ``next_chars``: the T
    characters that came next (``chars`` shifted by one). Shows the ``n_units`` units whose
    values vary most (standard deviation along the sentence) and the ``top_k`` most likely
    next characters (at most H units and V characters).
    """
    states, probs = float_array(states), float_array(probs)
    steps = len(chars)
    if states.ndim != 2 or states.shape[0] != steps:
        raise ValueError(f"states must be (T, H) with T = {steps} characters, got {states.shape}")
    if probs.shape != (steps, len(vocab)):
        raise ValueError(f"probs must be (T, V) = ({steps}, {len(vocab)}), got {probs.shape}")
    if len(next_chars) != steps:
        raise ValueError(f"{len(next_chars)} next characters for {steps} characters read")
    if steps < 2:
        raise ValueError("the sentence needs at least two characters")
    if not np.isfinite(states).all() or not np.isfinite(probs).all():
        raise ValueError("states and probs must be finite")
    if probs.min() < 0 or not np.allclose(probs.sum(axis=1), 1, atol=1e-4):
        raise ValueError("each row of probs must be a probability distribution (sum to 1)")
    if n_units < 1 or top_k < 1:
        raise ValueError(f"n_units and top_k must be at least 1, got {n_units} and {top_k}")
    n_units, top_k = min(n_units, states.shape[1]), min(top_k, len(vocab))
    index = {c: i for i, c in enumerate(vocab)}
    missing = sorted(set(next_chars) - set(index))
    if missing:
        raise ValueError(f"next characters not in the vocabulary: {missing}")
    # the units that change most along the sentence; ties in the order of the units
    units = np.argsort(-states.std(axis=0), kind="stable")[:n_units]  # (U,)
    order = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]  # (T, k)
    targets = np.array([index[c] for c in next_chars])  # (T,)
    return UnrolledFrames(
        chars=[shown_char(c) for c in chars],
        units=[int(u) for u in units],
        states=states[:, units],
        top_chars=[[shown_char(vocab[i]) for i in row] for row in order],
        top_probs=np.take_along_axis(probs, order, axis=1),
        next_chars=[shown_char(c) for c in next_chars],
        next_probs=probs[np.arange(steps), targets],
    )


def plot_unrolled_rnn(
    chars: str,
    states,
    probs,
    vocab: Sequence[str],
    next_chars: str,
    *,
    n_units: int = 16,
    top_k: int = 5,
    title: str = "An RNN reading a sentence",
) -> go.Figure:
    """The hidden state along a sentence, and the prediction at each character: a slider
    step per character read. Arguments as :func:`unrolled_frames`."""
    data = unrolled_frames(chars, states, probs, vocab, next_chars, n_units=n_units, top_k=top_k)
    return _draw(data, title)


def _step_traces(data: UnrolledFrames, t: int) -> list[dict]:
    """Step ``t``'s traces: the cursor on the heat map, the state's bars, the predictions."""
    n_units, k = len(data.units), len(data.top_chars[t])
    is_next = [c == data.next_chars[t] for c in data.top_chars[t]]
    labels = [f"{c}  {p:.0%}" for c, p in zip(data.top_chars[t], data.top_probs[t], strict=True)]
    return [
        dict(
            type="scatter",
            x=[t - 0.5, t + 0.5, t + 0.5, t - 0.5, t - 0.5],
            y=[-0.5, -0.5, n_units - 0.5, n_units - 0.5, -0.5],
        ),
        dict(
            type="bar",
            x=list(range(n_units)),
            y=compact(data.states[t], 3),
            marker=dict(color=[PALETTE[5] if v >= 0 else PALETTE[3] for v in data.states[t]]),
        ),
        dict(
            type="bar",
            x=compact(data.top_probs[t], 3),
            y=list(range(k)),
            text=labels,
            marker=dict(color=[PALETTE[2] if hit else NEUTRAL for hit in is_next]),
        ),
    ]


def _step_title(data: UnrolledFrames, title: str, t: int, context: int = 40) -> str:
    read = "".join(data.chars[max(0, t + 1 - context) : t + 1])
    more = "…" if t + 1 > context else ""
    return (
        f"{title}<br><sup>read: {more}{read}   next: {data.next_chars[t]} "
        f"(the model gave it {data.next_probs[t]:.0%})</sup>"
    )


def _draw(data: UnrolledFrames, title: str) -> go.Figure:
    steps, n_units = len(data.chars), len(data.units)
    fig = make_subplots(
        rows=2,
        cols=2,
        specs=[[{"colspan": 2}, None], [{}, {}]],
        row_heights=[0.55, 0.45],
        column_widths=[0.6, 0.4],
        vertical_spacing=0.2,
        horizontal_spacing=0.1,
        subplot_titles=(
            "the hidden units along the sentence (one column per character read)",
            "the hidden state at the cursor",
            "the most likely next characters",
        ),
    )
    unit_names = [f"unit {u}" for u in data.units]
    fig.add_trace(
        go.Heatmap(
            z=compact(data.states.T, 3),  # (U, T)
            x=list(range(steps)),
            y=list(range(n_units)),
            customdata=[[c for c in data.chars] for _ in range(n_units)],
            text=[[name] * steps for name in unit_names],
            colorscale="RdBu_r",
            zmin=-1,
            zmax=1,
            zmid=0,
            colorbar=dict(title=dict(text="h", side="right"), thickness=12, len=0.5, y=0.78),
            hovertemplate="%{text} after %{customdata} (step %{x}): %{z}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    cursor, bars, predictions = _step_traces(data, 0)
    fig.add_trace(
        go.Scatter(
            cursor,
            mode="lines",
            line=dict(color=PALETTE[0], width=3),
            hoverinfo="skip",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            bars,
            customdata=unit_names,
            hovertemplate="%{customdata}: %{y}<extra></extra>",
            showlegend=False,
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            predictions,
            orientation="h",
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        ),
        row=2,
        col=2,
    )
    names = [f"step {t}" for t in range(steps)]
    fig.frames = [
        dict(
            name=name,
            data=_step_traces(data, t),
            traces=[1, 2, 3],
            layout=dict(title=dict(text=_step_title(data, title, t))),
        )
        for t, name in enumerate(names)
    ]
    plot_px, top, bottom = 560, 110, slider_margin()
    style_figure(
        fig,
        _step_title(data, title, 0),
        height=top + plot_px + bottom,
        margin=dict(l=70, r=30, t=top, b=bottom),
    )
    fig.update_layout(
        sliders=[frame_slider(names, data.chars, "character: ")],
        updatemenus=[play_pause_buttons(frame_ms=400)],
        bargap=0.2,
    )
    fig.update_annotations(font_size=12)
    # the heat map: characters along x, the units down y (the most variable at the top)
    fig.update_xaxes(
        tickvals=list(range(steps)),
        ticktext=data.chars,
        tickangle=0,
        title_text="character read",
        range=[-0.5, steps - 0.5],
        row=1,
        col=1,
    )
    fig.update_yaxes(
        tickvals=list(range(n_units)),
        ticktext=unit_names,
        autorange="reversed",
        title_text="hidden unit",
        row=1,
        col=1,
    )
    fig.update_xaxes(showticklabels=False, title_text="the units above, in order", row=2, col=1)
    fig.update_yaxes(range=[-1.05, 1.05], title_text="value", row=2, col=1)
    fig.update_xaxes(range=[0, 1.3], tickformat=".0%", title_text="probability", row=2, col=2)
    fig.update_yaxes(autorange="reversed", showticklabels=False, title_text="rank", row=2, col=2)
    return finish_figure(fig)
