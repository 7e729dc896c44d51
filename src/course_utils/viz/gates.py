"""Why gates help a recurrent network remember, in two figures (lesson 7, GRU and LSTM).

A recurrent network learns from far back only if the gradient of a prediction reaches the
hidden states of far-back steps. In a plain RNN each step back multiplies that gradient by
the hidden-to-hidden weights and the derivative of tanh, and it shrinks geometrically; an
LSTM's memory is updated by a gated *sum*, through which it shrinks far more slowly.

* :func:`gradient_decay` summarises measured gradient norms, one array per model (sequences
  x steps), by the distance from the prediction: the median and the quartiles over the
  sequences. :func:`plot_gradient_decay` draws them on a logarithmic axis, a line and a
  band per model.
* :func:`gate_frames` picks what to show of an LSTM run along a text: a few units' gate
  values (and cell state) after each character. :func:`plot_gates` draws them as a heat map,
  units down and characters along, with a button per quantity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go

from course_utils.viz.rnn import shown_char
from course_utils.viz.style import (
    PALETTE,
    compact,
    control_label,
    finish_figure,
    float_array,
    style_figure,
    visibility_buttons,
)

__all__ = [
    "GateFrames",
    "GradientDecay",
    "gate_frames",
    "gradient_decay",
    "plot_gates",
    "plot_gradient_decay",
]


# ----- How far back the gradient reaches -------------------------------------------------------


class GradientDecay(NamedTuple):
    """Gradient norms by distance from the prediction, for M models and T distances."""

    names: list[str]  # (M,) the models
    distance: np.ndarray  # (T,) 0, 1, ..., T - 1: steps back from the prediction
    median: np.ndarray  # (M, T) the median over the sequences of the norm at each distance
    low: np.ndarray  # (M, T) the first quartile
    high: np.ndarray  # (M, T) the third quartile


def gradient_decay(norms: Mapping[str, object]) -> GradientDecay:
    """The data of :func:`plot_gradient_decay`.

    ``norms`` maps a model's name to an array (B, T): for each of B sequences, the norm of the
    gradient of the loss of the prediction made after the last step with respect to the
    hidden state after step ``t`` (column ``T - 1``: the last state, distance 0). Every model
    needs the same T. Zeros (a gradient that underflowed) count in the quartiles; the median
    and quartiles are over the B sequences.
    """
    if not norms:
        raise ValueError("norms is empty: give at least one model's gradient norms")
    arrays = {name: float_array(a) for name, a in norms.items()}
    steps = None
    for name, a in arrays.items():
        if a.ndim != 2 or a.shape[1] < 2:
            raise ValueError(f"norms[{name!r}] must be (sequences, steps >= 2), got {a.shape}")
        if not np.isfinite(a).all() or (a < 0).any():
            raise ValueError(f"norms[{name!r}] must be finite and non-negative")
        if steps is not None and a.shape[1] != steps:
            raise ValueError(
                f"every model needs the same number of steps; got {steps} and "
                f"{a.shape[1]} for {name!r}"
            )
        steps = a.shape[1]
    # column T - 1 is distance 0: reverse the steps so that the distance grows along the axis
    backwards = {name: a[:, ::-1] for name, a in arrays.items()}  # (B, T) each
    quartiles = {name: np.quantile(a, [0.25, 0.5, 0.75], axis=0) for name, a in backwards.items()}
    return GradientDecay(
        names=list(arrays),
        distance=np.arange(steps),
        median=np.stack([q[1] for q in quartiles.values()]),
        low=np.stack([q[0] for q in quartiles.values()]),
        high=np.stack([q[2] for q in quartiles.values()]),
    )


def _log_compact(values: np.ndarray):
    """Positive values to 3 significant digits, others (a log axis cannot show them) as gaps."""
    positive = np.where(values > 0, values, np.nan)
    return compact(positive, significant=3)


def plot_gradient_decay(
    norms: Mapping[str, object],
    *,
    title: str = "How far back the gradient reaches",
    quantity: str = "hidden state",
) -> go.Figure:
    """Gradient norm against the distance from the prediction, a logarithmic y axis: for
    each model (``norms`` as :func:`gradient_decay`) the median over the sequences as a
    line and the quartiles as a band. ``quantity`` names what the gradient is taken with
    respect to, for the axis title."""
    data = gradient_decay(norms)
    fig = go.Figure()
    distance = data.distance.tolist()
    for m, name in enumerate(data.names):
        color = PALETTE[m % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=distance,
                y=_log_compact(data.high[m]),
                mode="lines",
                line=dict(width=0, color=color),
                legendgroup=name,
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=distance,
                y=_log_compact(data.low[m]),
                mode="lines",
                line=dict(width=0, color=color),
                fill="tonexty",
                opacity=0.25,
                legendgroup=name,
                name=f"{name}: middle half of the sequences",
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=distance,
                y=_log_compact(data.median[m]),
                mode="lines",
                line=dict(width=2.5, color=color),
                legendgroup=name,
                name=name,
                hovertemplate=f"{name}, %{{x}} steps back: %{{y:.3g}}<extra></extra>",
            )
        )
    style_figure(fig, title, height=460)
    fig.update_xaxes(title_text="steps back from the prediction", range=[0, distance[-1]])
    fig.update_yaxes(
        type="log", exponentformat="power", title_text=f"gradient norm w.r.t. the {quantity}"
    )
    fig.update_layout(legend=dict(x=0.99, xanchor="right", y=0.99, yanchor="top"))
    return finish_figure(fig)


# ----- The LSTM's gates along a text -----------------------------------------------------------


class GateFrames(NamedTuple):
    """The heat map's data: Q quantities of U units over T characters."""

    chars: list[str]  # (T,) the characters read, as shown (shown_char)
    units: list[int]  # (U,) the units shown, top to bottom
    unit_labels: list[str]  # (U,) their row labels
    names: list[str]  # (Q,) the quantities ("forget gate", "cell state", ...)
    values: list[np.ndarray]  # (Q,) each (U, T): a unit's value after each character
    ranges: list[tuple[float, float]]  # (Q,) the colour scale's ends: (0, 1) for a gate


def gate_frames(
    chars: str,
    values: Mapping[str, object],
    *,
    units: Sequence[int] | None = None,
    n_units: int = 12,
    rank_by: str | None = None,
    notes: Mapping[int, str] | None = None,
) -> GateFrames:
    """The data of :func:`plot_gates`.

    ``values`` maps a quantity's name to an array (T, H): its value for each of H units after
    each of the T characters of ``chars``. ``units`` chooses the units shown, in order;
    without it, the ``n_units`` whose ``rank_by`` quantity (by default the last one given)
    varies most along the text (standard deviation), the most variable first. ``notes`` adds
    a note to a unit's label (``{110: "line position"}``). A quantity whose values all lie in
    [0, 1] (a gate) is coloured from 0 to 1; any other symmetrically about 0.
    """
    if not values:
        raise ValueError("values is empty: give at least one quantity, e.g. the forget gate")
    steps = len(chars)
    if steps < 1:
        raise ValueError("chars is empty: the text needs at least one character")
    arrays = {name: float_array(a) for name, a in values.items()}
    hidden = None
    for name, a in arrays.items():
        if a.ndim != 2 or a.shape[0] != steps:
            raise ValueError(
                f"values[{name!r}] must be (T, H) with T = {steps} characters, got {a.shape}"
            )
        if not np.isfinite(a).all():
            raise ValueError(f"values[{name!r}] must be finite")
        if hidden is not None and a.shape[1] != hidden:
            raise ValueError(
                f"every quantity needs the same units; got {hidden} and {a.shape[1]} for {name!r}"
            )
        hidden = a.shape[1]
    if units is None:
        rank_by = list(arrays)[-1] if rank_by is None else rank_by
        if rank_by not in arrays:
            raise ValueError(f"rank_by={rank_by!r} is none of the quantities {list(arrays)}")
        if n_units < 1:
            raise ValueError(f"n_units must be at least 1, got {n_units}")
        order = np.argsort(-arrays[rank_by].std(axis=0), kind="stable")
        units = [int(u) for u in order[: min(n_units, hidden)]]
    else:
        units = [int(u) for u in units]
        if not units or len(set(units)) != len(units) or not all(0 <= u < hidden for u in units):
            raise ValueError(f"units must be distinct units in [0, {hidden}), got {units}")
    notes = dict(notes or {})
    labels = [f"unit {u}" + (f" ({notes[u]})" if u in notes else "") for u in units]
    ranges = []
    for a in arrays.values():
        if a.min() >= 0 and a.max() <= 1:
            ranges.append((0.0, 1.0))
        else:
            top = float(np.abs(a[:, units]).max()) or 1.0
            ranges.append((-top, top))
    return GateFrames(
        chars=[shown_char(c) for c in chars],
        units=units,
        unit_labels=labels,
        names=list(arrays),
        values=[a[:, units].T for a in arrays.values()],  # (U, T) each
        ranges=ranges,
    )


def plot_gates(
    chars: str,
    values: Mapping[str, object],
    *,
    units: Sequence[int] | None = None,
    n_units: int = 12,
    rank_by: str | None = None,
    notes: Mapping[int, str] | None = None,
    title: str = "An LSTM's gates along a text",
) -> go.Figure:
    """A heat map of a few units (rows) after each character (columns), one button per
    quantity (the first shown). Arguments as :func:`gate_frames`."""
    data = gate_frames(chars, values, units=units, n_units=n_units, rank_by=rank_by, notes=notes)
    steps, n_rows = len(data.chars), len(data.units)
    fig = go.Figure()
    hover_chars = [data.chars] * n_rows  # (U, T): the character read, for the hover
    row_labels = [[label] * steps for label in data.unit_labels]  # (U, T)
    for q, (name, z, (low, high)) in enumerate(
        zip(data.names, data.values, data.ranges, strict=True)
    ):
        gate = (low, high) == (0.0, 1.0)
        fig.add_trace(
            go.Heatmap(
                z=compact(z, 3),
                x=list(range(steps)),
                y=list(range(n_rows)),
                customdata=hover_chars,
                text=row_labels,
                zmin=low,
                zmax=high,
                colorscale="Viridis" if gate else "RdBu_r",
                colorbar=dict(title=dict(text=name, side="right"), thickness=12),
                visible=q == 0,
                name=name,
                hovertemplate=(
                    f"%{{text}} after %{{customdata}} (character %{{x}})<br>{name}: %{{z}}"
                    "<extra></extra>"
                ),
            )
        )
    n = len(data.names)
    masks = [[q == shown for q in range(n)] for shown in range(n)]
    row_px, top, bottom = 30, 120, 70
    style_figure(
        fig,
        title,
        height=top + max(n_rows * row_px, 200) + bottom,
        margin=dict(l=150, r=30, t=top, b=bottom),
    )
    fig.update_layout(
        updatemenus=[visibility_buttons(data.names, masks, x=0.0, y=1.04)],
        annotations=[control_label("show:", x=0.0, y=1.04)],
    )
    fig.update_xaxes(
        tickvals=list(range(steps)),
        ticktext=data.chars,
        tickangle=0,
        tickfont=dict(size=11),
        title_text="character read",
        range=[-0.5, steps - 0.5],
    )
    fig.update_yaxes(
        tickvals=list(range(n_rows)),
        ticktext=data.unit_labels,
        autorange="reversed",
        title_text="unit",
    )
    return finish_figure(fig)
