"""The learning-rate schedules of lesson 2's learning-rate chapter, drawn: SGDR (cosine
annealing with warm restarts) and the one-cycle policy, the learning rate and the
momentum at every iteration of a run, as the :class:`~course_utils.learner.Learner`
would set them.

The schedule functions themselves are :mod:`course_utils.schedules`; these figures
evaluate them at each batch's training progress.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from course_utils.schedules import one_cycle_lr, one_cycle_mom, sgdr_epochs, sgdr_lr
from course_utils.viz.style import NEUTRAL, PALETTE, compact, finish_figure, style_figure

__all__ = ["plot_one_cycle", "plot_schedule", "plot_sgdr"]


def _schedule_figure(
    title: str, lrs: np.ndarray, moms: np.ndarray, restarts: Sequence[int] = ()
) -> go.Figure:
    """Learning rate (top) and momentum (bottom) against the iteration, one x axis for
    both; a constant momentum gets a note instead of a flat panel of its own."""
    constant = bool(len(moms)) and bool(np.all(moms == moms[0]))
    rows = 1 if constant else 2
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    iters = list(range(len(lrs)))
    fig.add_trace(
        go.Scatter(
            x=iters,
            y=compact(lrs, significant=6),
            mode="lines",
            line=dict(color=PALETTE[0], width=3),
            name="learning rate",
            hovertemplate="iteration %{x}: lr %{y:.3e}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if not constant:
        fig.add_trace(
            go.Scatter(
                x=iters,
                y=compact(moms, 5),
                mode="lines",
                line=dict(color=PALETTE[1], width=3),
                name="momentum",
                hovertemplate="iteration %{x}: momentum %{y:.3f}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    for it in restarts:  # a dotted line where each SGDR cycle restarts
        fig.add_vline(x=it, line=dict(color=NEUTRAL, width=1, dash="dot"), row="all", col=1)
    style_figure(fig, title, height=380 if constant else 470, hovermode="x unified")
    fig.update_yaxes(title_text="learning rate", exponentformat="e", row=1, col=1)
    # the x axis is shared: its title and tick labels under the bottom panel only
    fig.update_xaxes(title_text="iteration (mini-batch)", row=rows, col=1)
    if constant:
        fig.add_annotation(
            text=f"momentum: constant at {float(moms[0]):g} (only the learning rate changes)",
            x=0,
            y=1,
            xref="paper",
            yref="paper",
            xanchor="left",
            yanchor="bottom",
            yshift=6,
            showarrow=False,
        )
    else:
        fig.update_yaxes(title_text="momentum", row=2, col=1)
    fig.update_layout(showlegend=False)
    return finish_figure(fig)


def _positions(n_iter: int) -> list[float]:
    """The training progress before each batch, as the Learner computes it:
    ``pct_train = i / n_iter`` for i = 0 .. n_iter - 1."""
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"the number of iterations must be a positive int, got {n_iter!r}")
    return [i / n_iter for i in range(n_iter)]


def plot_one_cycle(
    n_iter: int = 300,
    max_lr: float = 1e-3,
    *,
    pct_start: float = 0.25,
    div: float = 25.0,
    div_final: float = 1e5,
    moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
    title: str | None = None,
) -> go.Figure:
    """The one-cycle policy over ``n_iter`` iterations: the learning rate from
    :func:`~course_utils.schedules.one_cycle_lr`, the momentum from
    :func:`~course_utils.schedules.one_cycle_mom`."""
    lr_sched = one_cycle_lr(max_lr, pct_start, div, div_final)
    mom_sched = one_cycle_mom(moms, pct_start)
    pos = _positions(n_iter)
    return _schedule_figure(
        title or f"One-cycle schedule (max lr {max_lr:g}, {n_iter} iterations)",
        np.array([lr_sched(p) for p in pos], dtype=np.float64),
        np.array([mom_sched(p) for p in pos], dtype=np.float64),
    )


def plot_sgdr(
    lr: float = 1e-2,
    n_cycles: int = 3,
    cycle_len: int = 1,
    cycle_mult: int = 2,
    *,
    iters_per_epoch: int = 100,
    lr_min: float = 0.0,
    momentum: float = 0.9,
    title: str | None = None,
) -> go.Figure:
    """SGDR, cosine annealing with warm restarts (:func:`~course_utils.schedules.sgdr_lr`):
    ``n_cycles`` cycles of ``cycle_len * cycle_mult**i`` epochs of ``iters_per_epoch``
    iterations; restarts dotted. SGDR leaves the momentum at ``momentum``, which a note
    says (no flat momentum panel)."""
    epochs = sgdr_epochs(n_cycles, cycle_len, cycle_mult)  # also checks the arguments
    sched = sgdr_lr(lr, n_cycles, cycle_len, cycle_mult, lr_min)
    pos = _positions(sum(epochs) * iters_per_epoch)
    restarts = np.cumsum(epochs)[:-1] * iters_per_epoch  # first iteration of cycles 2..
    return _schedule_figure(
        title
        or (
            f"SGDR: {n_cycles} cycles, cycle_len {cycle_len}, cycle_mult {cycle_mult} "
            f"({sum(epochs)} epochs)"
        ),
        np.array([sched(p) for p in pos], dtype=np.float64),
        np.full(len(pos), momentum),
        restarts=[int(r) for r in restarts],
    )


def plot_schedule(kind: str = "one-cycle", **kwargs) -> go.Figure:
    """``plot_one_cycle(**kwargs)`` for ``kind="one-cycle"``, ``plot_sgdr(**kwargs)`` for
    ``kind="sgdr"``."""
    builders = {"one-cycle": plot_one_cycle, "sgdr": plot_sgdr}
    if kind not in builders:
        raise ValueError(f"unknown schedule {kind!r}: choose one of {list(builders)}")
    return builders[kind](**kwargs)
