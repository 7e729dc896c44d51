"""Deep learning on tables with entity embeddings: section 3, 2018 lesson 4 (Rossmann).

The pipeline, one module a step:

1. :mod:`.dates`: calendar features from a date column (:func:`add_date_features`,
   2018's ``add_datepart``) and the time since / until events per group
   (:func:`elapsed_since`, :func:`elapsed_until`, :func:`rolling_count`).
2. :mod:`.processing`: :class:`TabularProcessor`, fitted on the training rows, turns
   categories into codes (0: unseen or missing) and normalises continuous columns;
   :func:`embedding_sizes` is 2018's rule for the size of each embedding.
3. :mod:`.model`: :class:`TabularModel`, embeddings and a multi-layer perceptron,
   and :func:`tabular_dataloaders` for the course's :class:`~course_utils.learner.Learner`.
4. :mod:`.metrics`: Rossmann's :func:`rmspe` and :func:`exp_rmspe`.
5. :mod:`.embeddings`: the learned vectors as a table and in 2-D
   (:func:`embedding_table`, :func:`embedding_pca`), and as inputs for other models
   (:func:`embedded_inputs`).

:mod:`.rossmann` runs steps 1 and 2's data preparation on the ``rossmann`` dataset in one
call (:func:`prepare`), and :func:`tabular_learner` builds the model and its learner.

::

    proc = TabularProcessor(cat_names, cont_names, y_name="log_sales")
    dls = tabular_dataloaders(proc, train_df, valid_df, bs=128)
    model = TabularModel(embedding_sizes(proc.cardinalities), len(cont_names),
                         y_range=(0, 1.2 * train_df["log_sales"].max()))
    learn = Learner(dls, model, loss_func=F.mse_loss, opt_func=torch.optim.Adam,
                    metrics=[exp_rmspe])
    learn.fit_one_cycle(3, 1e-3)
"""

from course_utils.tabular.dates import (
    DATE_FEATURES,
    add_date_features,
    elapsed_since,
    elapsed_until,
    rolling_count,
)
from course_utils.tabular.embeddings import embedded_inputs, embedding_pca, embedding_table
from course_utils.tabular.learner import tabular_learner
from course_utils.tabular.metrics import exp_rmspe, rmspe
from course_utils.tabular.model import TabularDataset, TabularModel, tabular_dataloaders
from course_utils.tabular.processing import NA_LABEL, TabularProcessor, embedding_sizes
from course_utils.tabular.rossmann import (
    DAY_COLUMN,
    PreparedTables,
    TableSpec,
    add_event_features,
    join_checked,
    prepare,
    read_tables,
    split_last_days,
)

__all__ = [
    "DATE_FEATURES",
    "DAY_COLUMN",
    "NA_LABEL",
    "PreparedTables",
    "TabularDataset",
    "TabularModel",
    "TableSpec",
    "TabularProcessor",
    "add_date_features",
    "add_event_features",
    "elapsed_since",
    "elapsed_until",
    "embedded_inputs",
    "embedding_pca",
    "embedding_sizes",
    "embedding_table",
    "exp_rmspe",
    "join_checked",
    "prepare",
    "read_tables",
    "rmspe",
    "rolling_count",
    "split_last_days",
    "tabular_dataloaders",
    "tabular_learner",
]
