"""A :class:`~course_utils.learner.Learner` for ratings, in one call (2018's ``get_learner``).

The chapter builds each model and its learner by hand first; this is those steps for what
follows::

    learn = collab_learner(dls, n_factors=50, y_range=rating_range(train), wd=0.2)
    learn.fit_one_cycle(5, 1e-2)
"""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn.functional as F

from course_utils.collab.data import CollabDataLoaders
from course_utils.collab.models import EmbeddingDotBias, EmbeddingNN
from course_utils.learner import Learner

__all__ = ["collab_learner", "rating_range"]


def rating_range(
    train: pd.DataFrame, rating: str = "rating", margin: float = 0.5
) -> tuple[float, float]:
    """``(lowest - margin, highest + margin)`` of the training ratings: a sigmoid only
    approaches its limits, so the range reaches half a star past each end, as 2018's
    network did (``min - 0.5``, ``max + 0.5``) and a 1 or a 5 stays reachable."""
    values = train[rating]
    return float(values.min()) - margin, float(values.max()) + margin


def collab_learner(
    dls: CollabDataLoaders,
    n_factors: int = 50,
    y_range: tuple[float, float] | None = None,
    neural: bool = False,
    n_hidden: int = 10,
    wd: float = 0.2,
    **learner_kwargs,
) -> Learner:
    """An :class:`~course_utils.collab.models.EmbeddingDotBias` (or, with ``neural``, an
    :class:`~course_utils.collab.models.EmbeddingNN`) sized for ``dls``'s users and films,
    trained on the mean squared error by AdamW: weight decay ``wd`` decoupled from the
    gradient, as fastai applies it, so it shrinks every factor a little at each step.
    The other keyword arguments go to the Learner (``verbose``, ``device``...)."""
    n_users, n_items = len(dls.users), len(dls.items)
    if neural:
        model = EmbeddingNN(n_users, n_items, n_factors, n_hidden, y_range=y_range)
    else:
        model = EmbeddingDotBias(n_users, n_items, n_factors, y_range)
    return Learner(
        dls, model, loss_func=F.mse_loss, opt_func=torch.optim.AdamW, wd=wd, **learner_kwargs
    )
