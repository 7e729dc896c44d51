"""A :class:`~course_utils.learner.Learner` for a table, in one call (2018's ``get_learner``).

The structured-data chapters build the model and the learner step by step once; this
function is those steps, for the pages that follow::

    learn = tabular_learner(dls, proc, y_range=(0, 1.2 * max_log_y))
    learn.fit_one_cycle(5, 3e-3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from course_utils.learner import Learner
from course_utils.tabular.model import TabularModel
from course_utils.tabular.processing import TabularProcessor, embedding_sizes

__all__ = ["tabular_learner"]


def tabular_learner(
    dls,
    processor: TabularProcessor,
    layers: Sequence[int] = (1000, 500),
    ps: Sequence[float] = (0.001, 0.01),
    emb_drop: float = 0.04,
    y_range: tuple[float, float] | None = None,
    metrics: Sequence[Callable] = (),
    **learner_kwargs,
) -> Learner:
    """A :class:`TabularModel` sized for ``processor``'s columns (one embedding per
    categorical column, 2018's size rule; one input per continuous column), trained by
    Adam on the mean squared error (a regression, such as log sales).

    ``processor`` must be fitted (``tabular_dataloaders`` fits it). The remaining
    keyword arguments go to :class:`~course_utils.learner.Learner` (``wd``, ``verbose``...).
    """
    emb_szs = embedding_sizes(processor.cardinalities)  # RuntimeError if not fitted
    model = TabularModel(
        emb_szs, len(processor.cont_names), layers=layers, ps=ps, emb_drop=emb_drop,
        y_range=y_range,
    )  # fmt: skip
    return Learner(
        dls, model, loss_func=F.mse_loss, opt_func=torch.optim.Adam, metrics=metrics,
        **learner_kwargs,
    )  # fmt: skip
