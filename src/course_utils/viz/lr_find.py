"""The learning-rate finder's plot (lessons 1-2, and every chapter that picks a learning
rate): the loss of each batch of the sweep and its smoothed curve against the learning
rate on a log axis, the suggestion and the minimum of the smoothed loss marked.

It draws the :class:`~course_utils.lr_finder.LRFinderResult` that
:func:`~course_utils.lr_finder.lr_find` returns.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go

from course_utils.viz.style import NEUTRAL, PALETTE, compact, finish_figure, style_figure

__all__ = ["plot_lr_find"]

LR_AXIS_TITLE = "learning rate (log scale)"


class _Sweep(NamedTuple):
    """What :func:`plot_lr_find` draws, checked and computed from the finder's result."""

    lrs: np.ndarray
    raw: np.ndarray  # the loss of each batch
    smoothed: np.ndarray
    i_min: int  # the point of the lowest smoothed loss
    suggestion: float | None  # None: the loss never fell clearly (``found_minimum``)
    y_range: list[float]


def _sweep(result) -> _Sweep:
    """The finder's curves as arrays, the minimum of the smoothed loss, and a loss range
    from the lowest loss to the starting level, so that a divergence at the end goes off
    the top instead of squashing the interesting part."""
    lrs = np.asarray(result.lrs, dtype=np.float64)
    raw = np.asarray(result.losses, dtype=np.float64)
    smoothed = np.asarray(result.smoothed_losses, dtype=np.float64)
    if len(lrs) < 2:
        raise ValueError(f"the finder's result has {len(lrs)} points: run lr_find first")
    if not len(lrs) == len(raw) == len(smoothed):
        raise ValueError(
            f"lrs, losses and smoothed_losses differ in length: "
            f"{len(lrs)}, {len(raw)}, {len(smoothed)}"
        )
    if not (np.isfinite(lrs).all() and (lrs > 0).all()):
        raise ValueError("learning rates must be positive and finite (they go on a log axis)")
    if not np.isfinite(smoothed).any():
        raise ValueError("every smoothed loss is NaN or infinite")
    i_min = int(np.nanargmin(np.where(np.isfinite(smoothed), smoothed, np.nan)))
    low = float(np.nanmin(np.where(np.isfinite(raw), raw, np.nan)[: i_min + 1]))
    low = min(low, float(smoothed[i_min]))
    high = float(np.nanmax(smoothed[: i_min + 1]))
    pad = 0.15 * (high - low) if high > low else 0.1 * abs(high) or 0.1
    suggestion = float(result.suggestion) if getattr(result, "found_minimum", True) else None
    return _Sweep(lrs, raw, smoothed, i_min, suggestion, [low - pad, high + 2 * pad])


def plot_lr_find(result, *, title: str | None = None) -> go.Figure:
    """The learning-rate finder's sweep: raw and smoothed loss against the learning rate
    (log axis), the suggestion (``result.suggestion``) as a vertical line, the minimum of
    the smoothed loss marked; a sweep whose loss never fell clearly gets no suggestion."""
    lrs, raw, smoothed, i_min, suggestion, y_range = _sweep(result)
    lr_min = float(lrs[i_min])
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=compact(lrs, significant=6),
            y=compact(raw, 4),
            mode="lines",
            line=dict(color=NEUTRAL, width=1),
            name="loss of each batch" + (" (stopped: diverged)" if result.diverged else ""),
            hovertemplate="lr %{x:.2e}: loss %{y:.4f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=compact(lrs, significant=6),
            y=compact(smoothed, 4),
            mode="lines",
            line=dict(color=PALETTE[0], width=3),
            name="smoothed loss",
            hovertemplate="lr %{x:.2e}: smoothed loss %{y:.4f}<extra></extra>",
        )
    )
    if suggestion is not None:
        fig.add_trace(_suggestion_line(suggestion, y_range, _text_side(suggestion, lrs, "right")))
    fig.add_trace(
        go.Scatter(
            x=[lr_min],
            y=[round(float(smoothed[i_min]), 4)],
            mode="markers+text",
            text=[f"minimum at {lr_min:.1e}" if suggestion is not None else "no clear minimum"],
            textposition="bottom " + _text_side(lr_min, lrs, "center"),
            marker=dict(color=PALETTE[3], size=12, symbol="diamond"),
            name="minimum of the smoothed loss"
            if suggestion is not None
            else "lowest smoothed loss: it never fell clearly",
            hovertemplate="lr %{x:.2e}: smoothed loss %{y:.4f}<extra></extra>",
        )
    )
    style_figure(fig, title or "Learning-rate finder", height=450)
    fig.update_xaxes(title_text=LR_AXIS_TITLE, type="log", exponentformat="power")
    fig.update_yaxes(title_text="loss", range=y_range)
    fig.update_layout(legend=dict(x=0.01, y=0.01, xanchor="left", yanchor="bottom"))
    return finish_figure(fig)


def _text_side(lr: float, lrs: np.ndarray, usual: str) -> str:
    """Where a label at ``lr`` goes, left or right of its point: ``usual``, but to the left
    in the last third of the sweep's log range and to the right in the first, so that it
    stays inside the plot, clear of the loss axis's labels."""
    low, high = np.log10(lrs.min()), np.log10(lrs.max())
    if np.log10(lr) > low + 2 * (high - low) / 3:
        return "left"
    return "right" if np.log10(lr) < low + (high - low) / 3 else usual


def _suggestion_line(suggestion: float, y_range: list[float], side: str) -> go.Scatter:
    """The suggested rate, a dashed vertical line across the loss range, labelled on
    ``side`` of it."""
    return go.Scatter(
        x=[suggestion, suggestion],
        y=y_range,
        mode="lines+text",
        text=["", f"suggestion: {suggestion:.1e}"],
        textposition="bottom " + side,
        line=dict(color=PALETTE[2], width=2, dash="dash"),
        name=f"suggestion: {suggestion:.1e} (minimum / 10)",
        hovertemplate=f"suggested learning rate {suggestion:.2e}<extra></extra>",
    )
