"""Learning-rate and momentum schedules as pure functions of training progress.

A schedule is any function ``pos -> value`` where ``pos`` runs from 0 (the first
training batch) towards 1 (the end of training). Nothing here knows about
optimisers or epochs: :class:`course_utils.callbacks.ParamScheduler` asks a
schedule for its value before every training batch and writes it into the
optimiser. Start and end values may be NumPy arrays (one learning rate per
layer group, lesson 2's differential learning rates); the arithmetic is the same.

Used by lesson 2 (SGDR: cosine annealing with restarts, ``cycle_len`` and
``cycle_mult``), lesson 1's learning-rate finder (an exponential sweep) and the
one-cycle policy of lessons 3-7 (learning rate up then down, momentum inverse).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

__all__ = [
    "Schedule",
    "combine",
    "constant",
    "cosine",
    "exponential",
    "linear",
    "one_cycle_lr",
    "one_cycle_mom",
    "sgdr_epochs",
    "sgdr_lr",
]

Schedule = Callable[[float], float]  # pos in [0, 1] -> value (float or per-group array)

_TOLERANCE = 1e-9  # positions this close to a boundary count as on it (float round-off)


def constant(start, end, pos: float):
    """``start`` at every position (``end`` is ignored): a fixed learning rate."""
    return start


def linear(start, end, pos: float):
    """Straight line from ``start`` (pos 0) to ``end`` (pos 1)."""
    return start + pos * (end - start)


def cosine(start, end, pos: float):
    """Half a cosine wave from ``start`` down (or up) to ``end``: flat at both ends.

    value = end + (start - end) * (1 + cos(pi * pos)) / 2
    """
    return end + (start - end) / 2 * (1 + math.cos(math.pi * pos))


def exponential(start, end, pos: float):
    """Geometric interpolation: equal steps in ``log(value)``; ``start * (end/start)**pos``."""
    return start * (end / start) ** pos


def combine(pcts: Sequence[float], scheds: Sequence[Schedule]) -> Schedule:
    """Chain schedules: ``scheds[i]`` runs over the fraction ``pcts[i]`` of training.

    Each piece sees its own progress from 0 to 1. ``pcts`` must be positive and
    sum to 1. Positions within round-off of a boundary belong to the next piece,
    so a restart happens exactly at the iteration where it is due.
    """
    if len(pcts) != len(scheds) or not pcts:
        raise ValueError(
            f"combine needs one fraction per schedule, got {len(pcts)} fractions "
            f"and {len(scheds)} schedules"
        )
    if any(p <= 0 for p in pcts) or not math.isclose(sum(pcts), 1.0, rel_tol=1e-9):
        raise ValueError(f"fractions must be positive and sum to 1, got {list(pcts)}")
    starts = [0.0]
    for p in pcts[:-1]:
        starts.append(starts[-1] + p)

    def schedule(pos: float):
        # the last piece whose start is at or before pos
        i = max(j for j, s in enumerate(starts) if s <= pos + _TOLERANCE)
        local = min(max((pos - starts[i]) / pcts[i], 0.0), 1.0)
        return scheds[i](local)

    return schedule


def one_cycle_lr(
    max_lr, pct_start: float = 0.25, div: float = 25.0, div_final: float = 1e5
) -> Schedule:
    """The one-cycle learning rate: cosine up from ``max_lr/div`` to ``max_lr`` over
    the first ``pct_start`` of training, then cosine down to ``max_lr/div_final``."""
    _check_pct(pct_start)
    return combine(
        [pct_start, 1 - pct_start],
        [partial(cosine, max_lr / div, max_lr), partial(cosine, max_lr, max_lr / div_final)],
    )


def one_cycle_mom(
    moms: tuple[float, float, float] = (0.95, 0.85, 0.95), pct_start: float = 0.25
) -> Schedule:
    """The one-cycle momentum, inverse to the learning rate: ``moms[0]`` down to
    ``moms[1]`` while the learning rate rises, back up to ``moms[2]`` as it falls."""
    _check_pct(pct_start)
    return combine(
        [pct_start, 1 - pct_start],
        [partial(cosine, moms[0], moms[1]), partial(cosine, moms[1], moms[2])],
    )


def sgdr_epochs(n_cycles: int, cycle_len: int = 1, cycle_mult: int = 1) -> list[int]:
    """Length in epochs of each SGDR cycle: ``cycle_len * cycle_mult**i``.

    ``sum(sgdr_epochs(3, 1, 2)) == 1 + 2 + 4 == 7`` epochs of training.
    """
    for name, value in (
        ("n_cycles", n_cycles),
        ("cycle_len", cycle_len),
        ("cycle_mult", cycle_mult),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    return [cycle_len * cycle_mult**i for i in range(n_cycles)]


def sgdr_lr(
    lr, n_cycles: int, cycle_len: int = 1, cycle_mult: int = 1, lr_min: float = 0.0
) -> Schedule:
    """SGDR (Loshchilov & Hutter): cosine annealing from ``lr`` to ``lr_min``,
    restarting at ``lr`` at the start of every cycle (lesson 2).

    Cycle ``i`` lasts ``cycle_len * cycle_mult**i`` epochs. fastai 0.7 also ran
    the first 1/20 of the first cycle at ``lr/100`` as a warm-up; this schedule
    leaves that out (use :func:`one_cycle_lr` when a warm-up is wanted).
    """
    lengths = sgdr_epochs(n_cycles, cycle_len, cycle_mult)
    total = sum(lengths)
    return combine([n / total for n in lengths], [partial(cosine, lr, lr_min)] * n_cycles)


def _check_pct(pct_start: float) -> None:
    if not 0 < pct_start < 1:
        raise ValueError(f"pct_start must be between 0 and 1 (exclusive), got {pct_start!r}")
