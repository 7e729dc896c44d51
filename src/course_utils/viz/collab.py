"""Lesson 5's spreadsheet as a figure: a block of users x films, known ratings, predictions, error.

:func:`plot_rating_block` draws three heatmaps of the same block, one shown at a time by
buttons: the ratings users gave (blank where they gave none), the ratings a dot product of
learned factors predicts for every cell, and prediction minus rating where a rating is known.
Hovering a cell gives the user, the film and all three numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from course_utils.viz.style import (
    compact,
    control_label,
    finish_figure,
    style_figure,
    visibility_buttons,
)

__all__ = ["plot_rating_block"]

_RATINGS_SCALE = "Viridis"
_ERROR_SCALE = "RdBu_r"  # blue: predicted too low, red: too high
_TICK_CHARS = 26  # film titles longer than this are cut on the axis (whole on hover)


def _short(title: str) -> str:
    return title if len(title) <= _TICK_CHARS else title[: _TICK_CHARS - 1].rstrip() + "…"


def plot_rating_block(
    ratings,
    predicted,
    users: Sequence,
    films: Sequence[str],
    *,
    title: str = "Ratings, and the dot product that fills them in",
) -> go.Figure:
    """``ratings`` (U, I) with NaN where a user rated no film, ``predicted`` (U, I) for every
    cell; ``users`` and ``films`` label the rows and columns.

    Ratings and predictions share one colour scale, the range of the known ratings: a
    prediction outside it (a dot product is not bounded) shows in the end colour, and its
    value on hover."""
    known = np.asarray(ratings, dtype=np.float64)
    pred = np.asarray(predicted, dtype=np.float64)
    if known.ndim != 2 or known.shape != pred.shape:
        raise ValueError(
            f"ratings {known.shape} and predicted {pred.shape} must be the same 2-D shape"
        )
    if known.shape != (len(users), len(films)):
        raise ValueError(
            f"{len(users)} user labels and {len(films)} film labels for a {known.shape} block"
        )
    error = pred - known  # NaN where no rating is known
    rows = [f"user {u}" for u in users]
    cols = [_short(str(f)) for f in films]
    if len(set(cols)) != len(cols):  # two titles alike in their first characters
        cols = [str(f) for f in films]
    # hover: every cell shows the three numbers; a missing rating reads "none"
    shown = np.where(np.isnan(known), "none", np.char.mod("%.1f", np.nan_to_num(known)))
    hover = np.char.add(np.char.add("rating ", shown), np.char.mod(", predicted %.2f", pred))
    error_text = np.char.mod(", error %+.2f", np.nan_to_num(error))
    hover = np.where(np.isnan(error), hover, np.char.add(hover, error_text))
    full_titles = np.broadcast_to(np.array([str(f) for f in films], dtype=object), known.shape)
    hover = np.char.add(np.char.add(full_titles.astype(str), "<br>"), hover)
    limit = float(np.nanmax(np.abs(error))) if np.isfinite(error).any() else 1.0
    low, high = float(np.nanmin(known)), float(np.nanmax(known))
    if not low < high:
        low, high = low - 1.0, high + 1.0
    panels = [
        ("known ratings", known, _RATINGS_SCALE, low, high, "stars"),
        ("predictions", pred, _RATINGS_SCALE, low, high, "stars"),
        ("error", error, _ERROR_SCALE, -limit, limit, "pred - rating"),
    ]
    fig = go.Figure()
    for i, (name, z, scale, zmin, zmax, bar) in enumerate(panels):
        fig.add_trace(
            go.Heatmap(
                z=[compact(row, 3) for row in z],
                x=cols,
                y=rows,
                colorscale=scale,
                zmin=zmin,
                zmax=zmax,
                colorbar=dict(title=dict(text=bar), len=0.9),
                name=name,
                text=hover,
                hovertemplate="%{y}<br>%{text}<extra></extra>",
                hoverongaps=False,
                visible=i == 0,
            )
        )
    masks = [[j == i for j in range(len(panels))] for i in range(len(panels))]
    style_figure(fig, title, height=680)
    fig.update_layout(
        updatemenus=[visibility_buttons([p[0] for p in panels], masks, x=0.0, y=1.04)],
        annotations=[control_label("show:", x=0.0, y=1.04)],
        margin=dict(t=120, l=110, b=150),
    )
    fig.update_xaxes(title_text="film", tickangle=-45, automargin=True)
    fig.update_yaxes(title_text="user", autorange="reversed", automargin=True)
    return finish_figure(fig)
