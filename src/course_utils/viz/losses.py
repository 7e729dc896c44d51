"""The losses of a fit (lessons 1-2, and every chapter that trains: learning rates,
multi-label, the exercises, the ResNet from scratch): the training loss of each batch,
raw and smoothed, and the validation loss after each epoch, against the iteration; the
metrics after each epoch in a second panel.

It draws a :class:`~course_utils.callbacks.Recorder` (``learn.recorder``), smoothing
with :func:`course_utils.smoothing.ema`, the average the learning-rate finder uses.
:func:`plot_runs` puts several fits side by side, epoch by epoch (lesson 5: with and
without weight decay).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from course_utils.smoothing import auto_beta, ema
from course_utils.viz.style import (
    NEUTRAL,
    PALETTE,
    compact,
    finish_figure,
    log_ticks,
    style_figure,
)

__all__ = ["plot_losses", "plot_runs"]

LOG_LOSS_RANGE = 100.0  # plot_losses switches to a log axis when losses span more than this


class _LossCurves(NamedTuple):
    """What :func:`plot_losses` draws, checked and computed from a recorder."""

    losses: np.ndarray  # the training loss of each batch
    smoothed: np.ndarray
    valid: np.ndarray  # the validation loss after each epoch
    epoch_ends: list[int]  # the iteration at which each epoch ends (validation runs then)
    metrics: dict[str, list]  # each metric's value after each epoch
    log_y: bool  # a logarithmic loss axis


def _loss_curves(recorder, beta: float | None, log_y: bool | None) -> _LossCurves:
    """The recorder's losses and metrics as arrays, the smoothed training loss, where each
    epoch ends, and the kind of loss axis (see :func:`plot_losses`)."""
    losses = np.asarray(recorder.losses, dtype=np.float64)
    valid = np.asarray(recorder.valid_losses, dtype=np.float64)
    metrics = {name: list(v) for name, v in (getattr(recorder, "metrics", None) or {}).items()}
    if len(losses) == 0:
        raise ValueError("the recorder holds no losses: train first (learn.fit)")
    if beta is None:
        beta = auto_beta(len(losses), window_fraction=0.1)
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    for name, values in metrics.items():
        if len(values) != len(valid):
            raise ValueError(
                f"metric {name!r} has {len(values)} values for {len(valid)} epochs of "
                "validation losses"
            )
    n_epochs = len(valid)
    epoch_ends = [round((e + 1) * len(losses) / n_epochs) - 1 for e in range(n_epochs)]
    if log_y is None:
        shown = np.concatenate([losses, valid])
        shown = shown[np.isfinite(shown)]
        log_y = bool((shown > 0).all() and shown.max() > LOG_LOSS_RANGE * shown.min())
    return _LossCurves(losses, ema(losses, beta), valid, epoch_ends, metrics, log_y)


def plot_losses(
    recorder, *, beta: float | None = None, log_y: bool | None = None, title: str | None = None
) -> go.Figure:
    """A fit's losses: the training loss of each batch (raw and smoothed, ``beta`` as the
    LR finder) and the validation loss after each epoch, against the iteration; the
    metrics against the epoch in a second panel (if the recorder has any).

    ``beta`` None: an average over about a tenth of the run
    (:func:`~course_utils.smoothing.auto_beta`), so that
    the smoothed curve follows the loss instead of trailing behind it. ``log_y`` None: a
    logarithmic loss axis when the positive losses span more than ``LOG_LOSS_RANGE``
    (a validation loss that spikes to hundreds would flatten every other curve).

    Epochs are taken to be of equal length (``len(recorder.losses) / epochs`` batches).
    """
    losses, smoothed, valid, epoch_ends, metrics, log_y = _loss_curves(recorder, beta, log_y)
    n_epochs = len(valid)
    cols = 2 if metrics else 1
    fig = make_subplots(
        rows=1,
        cols=cols,
        column_widths=[0.62, 0.38] if cols == 2 else None,
        horizontal_spacing=0.1,
        subplot_titles=("losses", "metrics on the validation set")[:cols],
    )
    iters = list(range(len(losses)))
    fig.add_trace(
        go.Scatter(
            x=iters,
            y=compact(losses, 4),
            mode="lines",
            line=dict(color=NEUTRAL, width=1),
            name="training loss (each batch)",
            hovertemplate="iteration %{x}: loss %{y:.4f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=iters,
            y=compact(smoothed, 4),
            mode="lines",
            line=dict(color=PALETTE[0], width=3),
            name="training loss (smoothed)",
            hovertemplate="iteration %{x}: smoothed loss %{y:.4f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=epoch_ends,
            y=compact(valid, 4),
            mode="lines+markers",
            line=dict(color=PALETTE[1], width=3),
            marker=dict(size=9),
            name="validation loss (each epoch)",
            customdata=list(range(1, n_epochs + 1)),
            hovertemplate="epoch %{customdata}: validation loss %{y:.4f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    for n, (name, values) in enumerate(metrics.items()):
        fig.add_trace(
            go.Scatter(
                x=list(range(1, n_epochs + 1)),
                y=compact(values, 4),
                mode="lines+markers",
                line=dict(color=PALETTE[(n + 2) % len(PALETTE)], width=3),
                marker=dict(size=9),
                name=name,
                hovertemplate=f"epoch %{{x}}: {name} %{{y:.4f}}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    style_figure(fig, title or "Training and validation losses", height=450)
    fig.update_xaxes(title_text="iteration (mini-batch)", row=1, col=1)
    fig.update_yaxes(
        title_text="loss (log scale)" if log_y else "loss",
        type="log" if log_y else "linear",
        **(log_ticks(np.concatenate([losses, valid])) if log_y else {}),
        row=1,
        col=1,
    )
    if metrics:
        fig.update_xaxes(title_text="epoch", dtick=1, row=1, col=2)
        fig.update_yaxes(title_text="metric value", row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.18, yanchor="top"))
    fig.update_layout(margin=dict(b=110))
    return finish_figure(fig)


def plot_runs(
    runs: dict, *, sqrt: bool = False, title: str | None = None, y_title: str = "loss"
) -> go.Figure:
    """Several fits epoch by epoch: each run's mean training loss (dashed) and validation loss
    (solid) in one colour per run. ``runs`` maps a name to a recorder; ``sqrt`` plots the
    square roots (an RMSE from a mean squared error)."""
    if not runs:
        raise ValueError("plot_runs needs at least one run")
    fig = go.Figure()
    for n, (name, recorder) in enumerate(runs.items()):
        colour = PALETTE[n % len(PALETTE)]
        for part, values, dash in (
            ("training", recorder.train_losses, "dash"),
            ("validation", recorder.valid_losses, "solid"),
        ):
            if not values:
                raise ValueError(f"run {name!r} has no {part} losses: was it fitted?")
            y = np.sqrt(np.asarray(values, dtype=float)) if sqrt else np.asarray(values, float)
            fig.add_trace(
                go.Scatter(
                    x=list(range(1, len(y) + 1)),
                    y=compact(y, 4),
                    mode="lines+markers",
                    line=dict(color=colour, width=3 if dash == "solid" else 2, dash=dash),
                    marker=dict(size=8),
                    name=f"{name}: {part}",
                    hovertemplate=f"{name}, epoch %{{x}}: {part} {y_title} %{{y:.4f}}"
                    "<extra></extra>",
                )
            )
    style_figure(fig, title or "Training and validation loss, epoch by epoch", height=450)
    fig.update_xaxes(title_text="epoch", dtick=1)
    fig.update_yaxes(title_text=y_title)
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.18, yanchor="top"))
    fig.update_layout(margin=dict(b=120))
    return finish_figure(fig)
