"""Figures of lesson 4's text pipeline: what a vocabulary keeps, and where tokens land in batches.

* :func:`plot_vocab_sizes`: the vocabulary's size and the share of validation tokens it
  misses, against the minimum count a token needs to be kept.
* :func:`plot_lm_batches`: a language model's stream cut into rows and read in windows; each
  cell is one token of the stream, coloured by the batch that reads it as an input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from course_utils.viz.style import (
    NEUTRAL,
    PALETTE,
    compact,
    finish_figure,
    log_ticks,
    style_figure,
)

__all__ = ["plot_lm_batches", "plot_vocab_sizes"]


def plot_vocab_sizes(
    min_counts: Sequence[int], sizes: Sequence[int], oov_rates: Sequence[float]
) -> go.Figure:
    """Two panels against ``min_counts``: the vocabulary's size, and the fraction of the
    validation tokens that fall outside it (read as ``_unk_``)."""
    if not (len(min_counts) == len(sizes) == len(oov_rates)) or not min_counts:
        raise ValueError(
            f"need as many sizes ({len(sizes)}) and OOV rates ({len(oov_rates)}) as minimum "
            f"counts ({len(min_counts)}), at least one"
        )
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14)
    counts = [int(c) for c in min_counts]
    fig.add_trace(
        go.Scatter(
            x=counts,
            y=[int(s) for s in sizes],
            mode="lines+markers",
            marker=dict(color=PALETTE[5]),
            name="vocabulary size",
            hovertemplate="min count %{x}: %{y:,} tokens kept<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=counts,
            y=compact(100 * np.asarray(oov_rates, dtype=float), 2),
            mode="lines+markers",
            marker=dict(color=PALETTE[3]),
            name="validation tokens unknown",
            hovertemplate="min count %{x}: %{y:.2f}% of validation tokens unknown<extra></extra>",
        ),
        row=1,
        col=2,
    )
    style_figure(fig, "What the minimum count keeps, and what it loses", height=380)
    fig.update_xaxes(title_text="minimum count", type="log", **log_ticks(counts))
    fig.update_yaxes(title_text="tokens in the vocabulary", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="% of validation tokens unknown", row=1, col=2, rangemode="tozero")
    fig.update_layout(showlegend=False)
    return finish_figure(fig)


def plot_lm_batches(
    rows_tokens: Sequence[Sequence[str]], windows: Sequence[tuple[int, int]]
) -> go.Figure:
    """A language model's batches over its stream, as a grid.

    ``rows_tokens[b]`` is row ``b`` of the batchified stream as strings (``B`` rows of
    equal length ``n``); ``windows`` lists the ``(start, length)`` of the batches in the
    order they are read. Column ``b`` of the grid is row ``b``, read top to bottom; cell
    ``(t, b)`` is coloured by the batch that reads token ``t`` of that row as an input. Its
    target is the cell below it, so the token after the last window, grey, is only a target.
    """
    n_rows = len(rows_tokens)
    if n_rows == 0 or not windows:
        raise ValueError("need at least one row of tokens and one window")
    width = len(rows_tokens[0])
    if any(len(row) != width for row in rows_tokens):
        raise ValueError("every row of the stream must have the same length")
    end = windows[-1][0] + windows[-1][1]
    if end + 1 > width:
        raise ValueError(f"the windows read up to position {end}, past the rows' {width} tokens")
    shown = end + 1  # the last window's targets end one token later
    batch_of = np.full(shown, len(windows))  # (shown,): the last position is a target only
    for k, (start, length) in enumerate(windows):
        batch_of[start : start + length] = k
    z = np.repeat(batch_of[:, None], n_rows, axis=1)  # (shown, B)
    text = [[rows_tokens[b][t].replace("\n", "\\n") for b in range(n_rows)] for t in range(shown)]
    hover = [
        [
            (
                f"batch {batch_of[t] + 1}, row {b}, step {t - windows[batch_of[t]][0]}: "
                f"input {text[t][b]!r}, target {text[t + 1][b]!r}"
                if batch_of[t] < len(windows)
                else f"row {b}: {text[t][b]!r}, the last window's target"
            )
            for b in range(n_rows)
        ]
        for t in range(shown)
    ]
    n_colours = len(windows) + 1
    colours = [PALETTE[k % len(PALETTE)] for k in range(len(windows))] + [NEUTRAL]
    scale = []
    for k, colour in enumerate(colours):  # a step colour scale: one flat band per batch
        scale += [[k / n_colours, colour], [(k + 1) / n_colours, colour]]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"row {b}" for b in range(n_rows)],
            y=list(range(shown)),
            text=text,
            texttemplate="%{text}",
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            colorscale=scale,
            zmin=-0.5,
            zmax=n_colours - 0.5,
            showscale=False,
            xgap=2,
            ygap=2,
        )
    )
    style_figure(
        fig,
        f"A stream in {n_rows} rows, read in {len(windows)} windows",
        height=max(380, 24 * shown + 150),
        margin=dict(l=60, r=20, t=110, b=30),  # the axis title above the grid, clear of the title
    )
    fig.update_yaxes(autorange="reversed", title_text="position in the row", dtick=5)
    fig.update_xaxes(side="top", title_text="row of the stream (one row of every batch)")
    return finish_figure(fig)
