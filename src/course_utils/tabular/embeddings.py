"""What the embeddings learned: the vectors of a column's levels, as a table and in 2-D.

After training on Rossmann, lesson 4 looks at the learned vectors: days of the
week, months or German states that behave alike end up close together, although
the network was never told anything about them but their sales. A principal
component analysis (PCA) projects each level's vector onto the two directions
along which the vectors differ most, so they can be plotted as points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from course_utils.tabular.model import TabularModel
from course_utils.tabular.processing import TabularProcessor

__all__ = ["embedded_inputs", "embedding_pca", "embedding_table"]


def embedding_table(model: TabularModel, processor: TabularProcessor, column: str) -> pd.DataFrame:
    """The learned vectors of ``column``'s levels: one row per code, one column per dimension.

    Indexed by level, in code order: first ``"#na#"`` (code 0, unseen or missing),
    then the levels seen in training. A (cardinality, embedding size) table.
    """
    names = processor.all_cat_names
    if column not in names:
        raise KeyError(f"{column!r} is not a categorical column of the processor: {names}")
    embed = model.embeds[names.index(column)]
    classes = processor.classes[column]
    if embed.num_embeddings != len(classes):
        raise ValueError(
            f"the model's embedding for {column!r} has {embed.num_embeddings} rows but the "
            f"processor knows {len(classes)} codes: were they fitted on the same table?"
        )
    vectors = embed.weight.detach().float().cpu().numpy()  # (cardinality, size)
    index = pd.Index(classes, name=column, dtype=object)  # "#na#" and levels of any type
    return pd.DataFrame(vectors, index=index, columns=range(vectors.shape[1]))


def embedding_pca(
    model: TabularModel,
    processor: TabularProcessor,
    column: str,
    n_components: int = 2,
    include_na: bool = False,
) -> pd.DataFrame:
    """The levels' vectors projected on their first ``n_components`` principal components.

    A DataFrame with the level in a column named after ``column``, then ``pc1``,
    ``pc2``, ...; one row per level. The ``"#na#"`` row is left out unless
    ``include_na``: when training had no unseen or missing values, its vector never
    moved from its random start.
    """
    table = embedding_table(model, processor, column)
    if not include_na:
        table = table.iloc[1:]  # code 0 is "#na#"
    most = min(table.shape)  # PCA finds at most min(levels, dimensions) components
    if not 1 <= n_components <= most:
        raise ValueError(
            f"n_components must be between 1 and {most} for {column!r} "
            f"({table.shape[0]} levels of {table.shape[1]} dimensions), got {n_components}"
        )
    coords = PCA(n_components=n_components).fit_transform(table.to_numpy())  # (levels, k)
    out = pd.DataFrame(coords, columns=[f"pc{i + 1}" for i in range(n_components)])
    out.insert(0, column, table.index.to_list())
    return out


def embedded_inputs(model: TabularModel, cats: torch.Tensor) -> np.ndarray:
    """Each row's categorical codes replaced by the learned vectors: (N, sum of the sizes).

    ``cats``: (N, n_cat) codes, as :meth:`TabularProcessor.transform` gives them. Column
    i's code becomes the ``size_i`` numbers of its level's vector, in column order. Guo
    and Berkhahn (2016) fed such inputs to tree ensembles and nearest neighbours: what the
    network learned about a level, a model without embeddings can then use.
    """
    if cats.ndim != 2 or cats.shape[1] != len(model.embeds):
        raise ValueError(
            f"cats must be (rows, {len(model.embeds)}) codes, one per categorical column, "
            f"got {tuple(cats.shape)}"
        )
    with torch.no_grad():
        vectors = [embed.weight.detach().float().cpu()[cats[:, i].long().cpu()]
                   for i, embed in enumerate(model.embeds)]  # (N, size_i) each  # fmt: skip
    return torch.cat(vectors, dim=1).numpy()
