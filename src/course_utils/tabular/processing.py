"""From a table to the numbers a network takes: categories as codes, continuous columns scaled.

Lesson 4 splits a table's columns in two kinds:

* **categorical** ones (store, day of week, state): each level becomes an integer
  code that looks up a learned vector, its *embedding*. Code 0 is kept for
  "unseen or missing": a level met only after training (a new store) or a missing
  value gets code 0 instead of crashing the model; the levels seen in training get
  1..n. A column with n levels therefore needs ``n + 1`` rows of embeddings: its
  *cardinality*.
* **continuous** ones (temperature, distance to a competitor): a missing value is
  filled with the training median, and a ``<col>_na`` True/False column, itself
  categorical, tells the model that it was missing; then each column is
  normalised, ``(x - mean) / std``, so that all inputs have a similar scale.

Every statistic (levels, medians, means, standard deviations) comes from the
training rows only, in :meth:`TabularProcessor.fit`; :meth:`~TabularProcessor.transform`
applies the same numbers to the validation and test rows. Computing them on all the
rows would let the validation rows leak into training. 2018's ``proc_df`` and
``apply_cats`` did the same job; scikit-learn's ``OrdinalEncoder`` (with
``unknown_value``), ``SimpleImputer(strategy="median", add_indicator=True)`` and
``StandardScaler`` compute the same numbers.

:func:`embedding_sizes` is 2018's rule of thumb for the size of each embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

__all__ = ["NA_LABEL", "TabularProcessor", "embedding_sizes"]

NA_LABEL = "#na#"  # the name of code 0, "unseen or missing", as fastai calls it
SHOWN = 5  # how many offending rows an error message lists


def embedding_sizes(cardinalities: Sequence[int], max_size: int = 50) -> list[tuple[int, int]]:
    """``(cardinality, size)`` for each categorical column: ``size = min(50, (c + 1) // 2)``.

    The rule of thumb of fast.ai's 2018 lesson 4, from the Rossmann notebook
    (``emb_szs = [(c, min(50, (c+1)//2)) for _,c in cat_sz]``): about half as many
    dimensions as the column has levels, at most 50. ``c`` is the cardinality,
    levels + 1 with the "unseen or missing" slot (:attr:`TabularProcessor.cardinalities`).
    Day of week, 7 levels: c = 8, size 4; 1,115 stores: size 50.
    """
    sizes = []
    for i, c in enumerate(cardinalities):
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1:
            raise ValueError(f"cardinalities[{i}] must be a positive int, got {c!r}")
        sizes.append((int(c), min(max_size, (int(c) + 1) // 2)))
    return sizes


def _names(what: str, names) -> list[str]:
    if isinstance(names, str):
        raise TypeError(f"{what} must be a list of column names, got the string {names!r}")
    names = list(names)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{what} names {duplicates} more than once")
    return names


def _check_columns(df: pd.DataFrame, names: Sequence[str]) -> None:
    missing = [name for name in names if name not in df.columns]
    if missing:
        raise KeyError(f"columns {missing} are not in the table; its columns: {list(df.columns)}")


def _levels(values: pd.Series, column: str) -> pd.Index:
    """The levels of a categorical column, in order: code i + 1 is level i."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.Index(values.cat.categories)  # the declared order, as for ordered categories
    seen = pd.Index(values.dropna().unique())
    try:
        return seen.sort_values()
    except TypeError as error:
        raise TypeError(
            f"categorical column {column!r} mixes types that do not sort together "
            f"({sorted({type(v).__name__ for v in seen})}): convert it, e.g. "
            f"df[{column!r}].astype(str)"
        ) from error


def _as_float(df: pd.DataFrame, column: str) -> pd.Series:
    values = df[column]
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        raise ValueError(
            f"continuous column {column!r} holds {values.dtype} values, e.g. "
            f"{list(values.dropna()[:SHOWN])}: convert it to numbers, or list it in cat_names"
        )
    values = values.astype("float64")  # missing values (None, pd.NA) become NaN
    if np.isinf(values).any():
        rows = list(values.index[np.isinf(values)][:SHOWN])
        raise ValueError(f"continuous column {column!r} has infinite values, e.g. at rows {rows}")
    return values


@dataclass
class TabularProcessor:
    """Turns a table into ``(cats, conts, y)`` tensors; fitted on the training rows only.

    ``cat_names``: categorical columns; ``cont_names``: continuous columns;
    ``y_name``: the target column (a number to regress), optional.

    After :meth:`fit`: ``levels`` (column -> the levels seen, code i + 1 is level i),
    ``na_columns`` (the continuous columns given a ``<col>_na`` indicator, named in
    ``na_names``), ``medians``, ``means`` and ``stds`` (column -> training statistic).
    ``all_cat_names`` is the order of the columns of ``cats``: ``cat_names``, then
    ``na_names``.

    Missing continuous values: an indicator is added only for the columns that
    have missing values in the training rows (as scikit-learn's ``SimpleImputer``
    does). A column with missing values only in the validation or test rows gets
    them filled with the training median and no indicator: the model's inputs are
    fixed at fit time, and an indicator that was always False in training would
    have taught the model nothing.
    """

    cat_names: Sequence[str]
    cont_names: Sequence[str]
    y_name: str | None = None
    levels: dict[str, pd.Index] = field(default_factory=dict, init=False, repr=False)
    na_columns: list[str] = field(default_factory=list, init=False)
    medians: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    means: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    stds: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    fitted: bool = field(default=False, init=False)

    def __post_init__(self):
        self.cat_names = _names("cat_names", self.cat_names)
        self.cont_names = _names("cont_names", self.cont_names)
        both = sorted(set(self.cat_names) & set(self.cont_names))
        if both:
            raise ValueError(f"columns {both} are in both cat_names and cont_names")
        if self.y_name is not None and self.y_name in {*self.cat_names, *self.cont_names}:
            raise ValueError(f"the target {self.y_name!r} is also listed as an input column")

    @property
    def na_names(self) -> list[str]:
        """The ``<col>_na`` indicator columns, one per column of ``na_columns``."""
        return [f"{name}_na" for name in self.na_columns]

    @property
    def all_cat_names(self) -> list[str]:
        """The columns of ``cats``, in order: ``cat_names``, then the ``<col>_na`` indicators."""
        return [*self.cat_names, *self.na_names]

    @property
    def classes(self) -> dict[str, list]:
        """Column -> its levels, index = code: ``["#na#", level 1, level 2, ...]``."""
        self._check_fitted()
        return {name: [NA_LABEL, *self.levels[name].tolist()] for name in self.all_cat_names}

    @property
    def cardinalities(self) -> list[int]:
        """Levels + 1 (the "unseen or missing" code 0) for each column of ``cats``."""
        self._check_fitted()
        return [len(self.levels[name]) + 1 for name in self.all_cat_names]

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError("this TabularProcessor is not fitted: call fit(train_df) first")

    def _categoricals(self, df: pd.DataFrame) -> pd.DataFrame:
        """The categorical columns, with the ``<col>_na`` indicators computed from ``df``."""
        indicators = {f"{name}_na": df[name].isna() for name in self.na_columns}
        return pd.concat([df[self.cat_names], pd.DataFrame(indicators, index=df.index)], axis=1)

    def fit(self, df: pd.DataFrame) -> TabularProcessor:
        """Learn the levels and statistics from the training rows ``df``; returns ``self``."""
        self.fitted = False
        _check_columns(df, [*self.cat_names, *self.cont_names])
        if self.y_name is not None:
            _check_columns(df, [self.y_name])
        if len(df) == 0:
            raise ValueError("cannot fit on an empty table (0 rows)")
        conts = pd.DataFrame(
            {name: _as_float(df, name) for name in self.cont_names}, index=df.index
        )
        empty = [name for name in self.cont_names if conts[name].isna().all()]
        if empty:
            raise ValueError(f"continuous columns {empty} have no values in the training rows")
        na_columns = [name for name in self.cont_names if conts[name].isna().any()]
        clashes = sorted({f"{name}_na" for name in na_columns} & set(self.cat_names))
        if clashes:
            raise ValueError(f"the missing-value indicators {clashes} are already in cat_names")
        self.na_columns = na_columns
        self.medians = conts.median().to_dict()
        filled = conts.fillna(self.medians)  # the statistics of the filled columns, as used
        self.means = filled.mean().to_dict()
        stds = filled.std(ddof=0)  # population std, as StandardScaler
        self.stds = stds.where(stds > 0, 1.0).to_dict()  # a constant column: std 1, not 1/0
        cats = self._categoricals(df)
        self.levels = {name: _levels(cats[name], name) for name in self.all_cat_names}
        self.fitted = True
        return self

    def transform(self, df: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``(cats, conts, y)`` for the rows of ``df``, with the training statistics.

        cats: LongTensor (N, n_cat), codes 0..n (0: unseen or missing);
        conts: FloatTensor (N, n_cont), normalised; y: FloatTensor (N, 1), or None
        without ``y_name`` or when ``df`` has no such column (a test set).
        """
        self._check_fitted()
        _check_columns(df, [*self.cat_names, *self.cont_names])
        cats = self._categoricals(df)
        # get_indexer: position of each value in the levels, -1 if absent (unseen or NaN)
        codes = [self.levels[name].get_indexer(cats[name]) + 1 for name in self.all_cat_names]
        cats_t = torch.as_tensor(np.stack(codes, axis=1) if codes else np.zeros((len(df), 0)))
        conts = [
            (_as_float(df, name).fillna(self.medians[name]) - self.means[name]) / self.stds[name]
            for name in self.cont_names
        ]
        conts_t = torch.as_tensor(np.stack(conts, axis=1) if conts else np.zeros((len(df), 0)))
        y = None
        if self.y_name is not None and self.y_name in df.columns:
            y_values = _as_float(df, self.y_name)
            if y_values.isna().any():
                rows = list(y_values.index[y_values.isna()][:SHOWN])
                raise ValueError(f"the target {self.y_name!r} is missing at rows {rows}")
            y = torch.tensor(y_values.to_numpy(), dtype=torch.float32).view(-1, 1)  # (N, 1)
        return cats_t.long(), conts_t.float(), y
