"""The numbers of the optimiser race of lesson 5 (the "Momentum and Adam" chapter): SGD,
SGD with momentum and Adam on a 2-D function.

Two surfaces (:data:`SURFACES`) show why momentum and Adam help:

* ``"ill-conditioned"``: ``f(x, y) = (x^2 + 25 y^2) / 2``, a valley 25 times steeper
  across (y) than along (x). Plain SGD must keep ``lr < 2/25`` or it diverges across the
  valley, and with such a rate it crawls along it; momentum accumulates the consistent
  x-gradient and damps the alternating y one; Adam divides each coordinate's step by its
  own gradient scale.
* ``"rosenbrock"``: ``f(x, y) = (1 - x)^2 + 100 (y - x^2)^2``, a curved, flat-bottomed
  valley with its minimum at (1, 1): easy to reach, slow to follow.

:func:`optimizer_paths` returns the three racers' paths for one setting;
:func:`race_frames` those of every setting the race's buttons offer, with the numbers
each frame shows, which :func:`~course_utils.viz.race_figure.optimizer_race` draws.

The optimisers are those of :mod:`course_utils.optim` (the lesson's from-scratch
``SGD`` and ``Adam``, equal to ``torch.optim``'s), or ``torch.optim`` if that module
cannot be imported; :data:`OPTIMIZERS_FROM` says which. A setting's momentum is SGD's
momentum and Adam's ``beta1`` (its momentum), as fastai's schedulers do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

try:
    from course_utils.optim import SGD, Adam

    OPTIMIZERS_FROM = "course_utils.optim"
except ImportError:  # pragma: no cover - the from-scratch module is part of the package
    from torch.optim import SGD, Adam

    OPTIMIZERS_FROM = "torch.optim"

__all__ = [
    "OPTIMIZERS_FROM",
    "SURFACES",
    "RaceFrames",
    "optimizer_paths",
    "race_frames",
]


def _ill_conditioned(x, y):
    return 0.5 * (x**2 + 25 * y**2)


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


# Per surface: the function (of tensors or arrays), its minimum, where the race starts,
# the view, the default steps and learning rates (SGD's and Adam's, matched pairs).
SURFACES: dict[str, dict] = {
    "ill-conditioned": dict(
        f=_ill_conditioned,
        formula="f(x, y) = (x² + 25 y²) / 2",
        minimum=(0.0, 0.0),
        start=(-7.0, 1.5),
        x_range=(-8.0, 2.0),
        y_range=(-2.5, 2.5),
        steps=60,
        lrs=(0.02, 0.05, 0.085),
        adam_lrs=(0.1, 0.3, 1.0),
        log_levels=False,
    ),
    "rosenbrock": dict(
        f=_rosenbrock,
        formula="f(x, y) = (1 − x)² + 100 (y − x²)²",
        minimum=(1.0, 1.0),
        start=(-1.5, 2.0),
        x_range=(-2.0, 2.0),
        y_range=(-1.0, 3.0),
        steps=400,
        lrs=(5e-4, 1e-3, 1.5e-3),
        adam_lrs=(0.03, 0.1, 0.3),
        log_levels=True,
    ),
}
NAMES = ("SGD", "SGD + momentum", "Adam")


def _surface(name: str) -> dict:
    if name not in SURFACES:
        raise ValueError(f"unknown surface {name!r}: choose one of {list(SURFACES)}")
    return SURFACES[name]


def _run_many(makers: Sequence[Callable], f: Callable, start, steps: int) -> np.ndarray:
    """Minimise ``f`` from ``start`` with one optimiser per maker (``params -> optimizer``),
    all at once: the paths, shape (steps + 1, len(makers), 2).

    Each run has its own (2,) parameter tensor and optimiser; one forward and backward
    pass serves them all, since the gradient of sum_k f(p_k) with respect to p_k is
    the gradient of f at p_k. (Much faster than one run after another: each step is a
    few dozen tiny tensor operations, whose cost is Python's, not the arithmetic's.)
    """
    params = [torch.tensor(start, dtype=torch.float64, requires_grad=True) for _ in makers]
    opts = [make(ps) for make, ps in zip(makers, ([p] for p in params), strict=True)]
    paths = torch.empty(steps + 1, len(params), 2, dtype=torch.float64)
    with torch.no_grad():
        paths[0] = torch.stack(params)
        for t in range(1, steps + 1):
            for opt in opts:
                opt.zero_grad()
            with torch.enable_grad():
                stacked = torch.stack(params)  # (runs, 2): rows (x, y)
                f(stacked[:, 0], stacked[:, 1]).sum().backward()  # p.grad = (df/dx, df/dy)
            for opt in opts:
                opt.step()
            paths[t] = torch.stack(params)
    return paths.numpy()


def _makers(lr: float, adam_lr: float, momentum: float) -> list[Callable]:
    """The three racers' optimisers, in the order of :data:`NAMES`."""
    return [
        lambda ps: SGD(ps, lr=lr),
        lambda ps: SGD(ps, lr=lr, momentum=momentum),
        lambda ps: Adam(ps, lr=adam_lr, betas=(momentum, 0.999)),
    ]


def _check_settings(lr: float, adam_lr: float, momentum: float, steps: int) -> None:
    if not (lr > 0 and adam_lr > 0):
        raise ValueError(f"learning rates must be positive, got lr={lr}, adam_lr={adam_lr}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")


def optimizer_paths(
    surface: str = "ill-conditioned",
    *,
    lr: float | None = None,
    momentum: float = 0.9,
    adam_lr: float | None = None,
    steps: int | None = None,
    start: tuple[float, float] | None = None,
) -> dict[str, np.ndarray]:
    """The paths of SGD, SGD with ``momentum`` and Adam (``betas=(momentum, 0.999)``)
    on ``surface``: ``{"SGD": (steps + 1, 2), "SGD + momentum": ..., "Adam": ...}``,
    row 0 being ``start``. Defaults (learning rates, steps, start) are the surface's
    middle settings in :data:`SURFACES`.
    """
    spec = _surface(surface)
    lr = spec["lrs"][1] if lr is None else lr
    adam_lr = spec["adam_lrs"][1] if adam_lr is None else adam_lr
    steps = spec["steps"] if steps is None else steps
    start = spec["start"] if start is None else start
    _check_settings(lr, adam_lr, momentum, steps)
    paths = _run_many(_makers(lr, adam_lr, momentum), spec["f"], start, steps)
    return {name: paths[:, k] for k, name in enumerate(NAMES)}


@dataclass(frozen=True)
class RaceFrames:
    """The numbers of :func:`~course_utils.viz.race_figure.optimizer_race`: C settings
    (combinations of a learning rate pair and a momentum), each racing the three
    optimisers of :data:`NAMES` for T steps, shown at F steps, over a grid of the
    surface."""

    surface: str  # a key of SURFACES
    combos: tuple[tuple[float, float, float], ...]  # (C,): (SGD's lr, Adam's lr, momentum)
    initial: int  # the index in combos of the setting shown first
    paths: np.ndarray  # (C, 3, T + 1, 2): (x, y) after each step, per setting and racer
    steps: np.ndarray  # (F,): the steps shown, 0 to T
    stride: int  # the paths drawn keep every stride-th step
    losses: np.ndarray  # (C, 3, F): f at each racer's position at each step shown
    grid_x: np.ndarray  # (81,)
    grid_y: np.ndarray  # (61,)
    levels: np.ndarray  # (61, 81): f on the grid (rows are y), or log10(f + 1e-3)


def race_frames(
    surface: str = "ill-conditioned",
    lrs: Sequence[float] | None = None,
    momentum: Sequence[float] = (0.5, 0.9),
    *,
    adam_lrs: Sequence[float] | None = None,
    steps: int | None = None,
    n_frames: int = 31,
    max_points: int = 60,
    initial: tuple[int, int] | None = None,
) -> RaceFrames:
    """The numbers of :func:`~course_utils.viz.race_figure.optimizer_race`'s frames (same
    arguments), as arrays: the
    paths of the three racers for every combination of the settings (all run at once),
    their losses at the ``n_frames`` steps shown, and the surface on a grid."""
    spec = _surface(surface)
    lrs = list(spec["lrs"] if lrs is None else lrs)
    adam_lrs = list(spec["adam_lrs"] if adam_lrs is None else adam_lrs)
    if len(adam_lrs) != len(lrs):
        raise ValueError(f"give one Adam learning rate per SGD one: {adam_lrs} for {lrs}")
    momentum = list(momentum)
    if not lrs or not momentum:
        raise ValueError("give at least one learning rate and one momentum")
    steps = spec["steps"] if steps is None else steps
    i_lr, i_mom = (len(lrs) // 2, len(momentum) - 1) if initial is None else initial
    if not (0 <= i_lr < len(lrs) and 0 <= i_mom < len(momentum)):
        raise ValueError(f"initial must index (lrs, momentum), got {initial}")
    combos = [(lr, alr, mom) for lr, alr in zip(lrs, adam_lrs, strict=True) for mom in momentum]
    for lr, alr, mom in combos:
        _check_settings(lr, alr, mom, steps)
    f = spec["f"]
    # every run at once: (T + 1, 3 C, 2), the racers of combo c at 3c..3c+2
    together = _run_many(
        [make for combo in combos for make in _makers(*combo)], f, spec["start"], steps
    )
    paths = together.reshape(steps + 1, len(combos), 3, 2).transpose(1, 2, 0, 3)
    shown = np.unique(np.round(np.linspace(0, steps, min(n_frames, steps + 1))).astype(int))
    # f point by point, on NumPy scalars, as the figure always has: a scalar's x**2 can
    # differ from an array's in the last bit (enough, rarely, to change a digit shown)
    losses = np.array([[[f(*path[s]) for s in shown] for path in racers] for racers in paths])
    grid_x = np.linspace(*spec["x_range"], 81)
    grid_y = np.linspace(*spec["y_range"], 61)
    levels = f(grid_x[None, :], grid_y[:, None])  # (1, 81) with (61, 1): rows are y
    if spec["log_levels"]:
        # a curved valley spanning 4 orders of magnitude: contours of log10 f
        levels = np.log10(levels + 1e-3)
    return RaceFrames(
        surface=surface,
        combos=tuple(combos),
        initial=i_lr * len(momentum) + i_mom,  # combos run over lrs, then momentum
        paths=paths,
        steps=shown,
        stride=max(1, int(np.ceil(steps / max_points))),
        losses=losses,
        grid_x=grid_x,
        grid_y=grid_y,
        levels=levels,
    )
