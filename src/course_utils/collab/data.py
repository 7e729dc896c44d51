"""Ratings as the model sees them: a checked table, ids mapped to rows of an embedding, batches.

Lesson 5 starts from MovieLens's ``ratings.csv``: one row per (user, film, rating). An
embedding needs its users and films numbered ``0 .. n-1``, so :class:`IdIndex` maps the raw
ids, learned from the *training* ratings only, to those rows; an id it never saw is a user or
film the model has no vector for (the cold start), and :meth:`IdIndex.encode` says so by name
instead of failing deep inside ``nn.Embedding``.

* :func:`check_ratings` / :func:`read_ratings`: a ratings table with the columns it needs and
  numeric ratings, or an error naming what is wrong.
* :func:`split_ratings`: a random validation set, or the latest ratings (split by time).
* :func:`collab_dataloaders`: both index maps and the batches a
  :class:`~course_utils.learner.Learner` trains on; validation ratings of unseen users or
  films are set aside in ``cold_valid``, not silently scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from course_utils.checks import positive_int, read_csv_file
from course_utils.data import DataLoaders

__all__ = [
    "RATING_COLUMNS",
    "CollabDataLoaders",
    "IdIndex",
    "RatingsDataset",
    "UnknownIdError",
    "check_ratings",
    "collab_dataloaders",
    "read_ratings",
    "split_ratings",
]

# MovieLens's column names; every function takes others by keyword.
RATING_COLUMNS = ("userId", "movieId", "rating")


class UnknownIdError(LookupError):
    """Ids that an :class:`IdIndex` never saw in the training ratings."""

    def __init__(self, what: str, unknown: Sequence):
        self.what, self.unknown = what, list(unknown)
        shown = ", ".join(repr(u) for u in self.unknown[:5])
        more = f" and {len(self.unknown) - 5} more" if len(self.unknown) > 5 else ""
        super().__init__(
            f"{len(self.unknown)} {what} id(s) not in the training ratings: {shown}{more}. "
            f"The model has no embedding for a {what} it never saw (the cold start): "
            f"add their ratings and retrain, or rank by the film biases alone"
        )

    def __str__(self) -> str:  # LookupError would print the message in quotes
        return self.args[0]


def check_ratings(
    ratings: pd.DataFrame, user: str = "userId", item: str = "movieId", rating: str = "rating"
) -> pd.DataFrame:
    """``ratings`` if it has the ``user``, ``item`` and ``rating`` columns, at least one row,
    no missing ids and a finite number in every rating; else a ValueError naming the missing
    columns (and the ones found) or the first bad row."""
    if not isinstance(ratings, pd.DataFrame):
        raise TypeError(f"ratings must be a pandas DataFrame, got {type(ratings).__name__}")
    missing = [c for c in (user, item, rating) if c not in ratings.columns]
    if missing:
        raise ValueError(
            f"the ratings table has no column(s) {missing}: it needs {[user, item, rating]} "
            f"(one row per user, film and rating); found {list(ratings.columns)}"
        )
    if len(ratings) == 0:
        raise ValueError("the ratings table is empty: there is nothing to learn from")
    for col in (user, item):
        if ratings[col].isna().any():
            row = ratings.index[ratings[col].isna().to_numpy()][0]
            raise ValueError(f"row {row!r} has no {col}: every rating needs a user and a film")
    values = pd.to_numeric(ratings[rating], errors="coerce")
    bad = values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = ratings.index[bad][0]
        raise ValueError(
            f"{int(bad.sum())} rating(s) are not numbers; the first is row {row!r}: "
            f"{ratings[rating].loc[row]!r} in column {rating!r}"
        )
    if not pd.api.types.is_numeric_dtype(ratings[rating]):
        ratings = ratings.assign(**{rating: values.astype(float)})
    return ratings


def read_ratings(path: str | Path, **columns) -> pd.DataFrame:
    """A ratings CSV (MovieLens's ``ratings.csv``), checked by :func:`check_ratings`
    (``columns``: its ``user=``, ``item=``, ``rating=`` names, if not MovieLens's).

    The file is read by :func:`~course_utils.checks.read_csv_file`: a missing file is a
    FileNotFoundError, a folder, a file that is not UTF-8 or holds a NUL byte a
    :class:`~course_utils.checks.CsvFileError` naming it and the fix."""
    return check_ratings(read_csv_file(path, "ratings file"), **columns)


def split_ratings(
    ratings: pd.DataFrame,
    valid_pct: float = 0.2,
    by: str = "random",
    seed: int = 0,
    time: str = "timestamp",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, valid)``: ``valid_pct`` of the ratings held out.

    ``by="random"`` (the 2018 notebook's choice) holds out ratings at random: it measures how
    well the model fills in gaps among users and films it knows. ``by="time"`` holds out the
    latest ratings (by the ``time`` column): it measures predicting the future, and some of
    those ratings come from users or films the training part never saw.
    """
    if not 0 < valid_pct < 1:
        raise ValueError(f"valid_pct must be between 0 and 1, got {valid_pct!r}")
    n_valid = int(round(len(ratings) * valid_pct))
    if not 0 < n_valid < len(ratings):
        raise ValueError(f"{len(ratings)} ratings are too few to hold out {valid_pct:.0%}")
    if by == "random":
        order = np.random.default_rng(seed).permutation(len(ratings))
    elif by == "time":
        if time not in ratings.columns:
            raise ValueError(f"by='time' needs a {time!r} column; found {list(ratings.columns)}")
        order = np.argsort(ratings[time].to_numpy(), kind="stable")[::-1]  # latest first
    else:
        raise ValueError(f"by must be 'random' or 'time', got {by!r}")
    valid_rows, train_rows = np.sort(order[:n_valid]), np.sort(order[n_valid:])
    return ratings.iloc[train_rows], ratings.iloc[valid_rows]


class IdIndex:
    """Raw ids (user or film ids) <-> rows ``0 .. n-1`` of an embedding, sorted by id."""

    def __init__(self, ids, what: str = "user"):
        self.ids = np.unique(np.asarray(ids))  # (n,) sorted; row i is ids[i]
        self.what = what
        self._row = {key: row for row, key in enumerate(self.ids.tolist())}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, key) -> bool:
        return _plain(key) in self._row

    def __repr__(self) -> str:
        return f"IdIndex({len(self)} {self.what}s)"

    def encode(self, ids) -> np.ndarray:
        """The embedding row of each id (int64), or :class:`UnknownIdError` naming the ids
        never seen."""
        keys = [_plain(i) for i in np.atleast_1d(np.asarray(ids)).tolist()]
        unknown = list(dict.fromkeys(k for k in keys if k not in self._row))
        if unknown:
            raise UnknownIdError(self.what, unknown)
        return np.array([self._row[k] for k in keys], dtype=np.int64)

    def known(self, ids) -> np.ndarray:
        """A boolean mask: which of ``ids`` have an embedding row."""
        return np.array([_plain(i) in self._row for i in np.atleast_1d(np.asarray(ids)).tolist()])

    def decode(self, rows) -> np.ndarray:
        """The raw ids of embedding ``rows``."""
        return self.ids[np.asarray(rows, dtype=np.int64)]


def _plain(key):
    """A NumPy scalar as the Python value that keys the index (``np.int64(3)`` -> ``3``)."""
    return key.item() if isinstance(key, np.generic) else key


class RatingsDataset(Dataset):
    """``((user_rows, item_rows), ratings)`` as tensors; fetched a batch at a time.

    ``__getitems__`` hands the DataLoader a whole batch by fancy indexing (one tensor gather)
    instead of collating 64 single ratings, which is most of an epoch's time on a model this
    small.
    """

    def __init__(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray):
        self.users = torch.tensor(users, dtype=torch.long)  # (N,)
        self.items = torch.tensor(items, dtype=torch.long)  # (N,)
        self.ratings = torch.tensor(ratings, dtype=torch.float32)  # (N,)

    def __len__(self) -> int:
        return len(self.ratings)

    def __getitem__(self, i):
        return (self.users[i], self.items[i]), self.ratings[i]

    def __getitems__(self, rows: list[int]):
        idx = torch.as_tensor(rows, dtype=torch.long)
        return (self.users[idx], self.items[idx]), self.ratings[idx]


def _batched(batch):
    """The collate function for :meth:`RatingsDataset.__getitems__`: already a batch."""
    return batch


@dataclass
class CollabDataLoaders(DataLoaders):
    """:class:`~course_utils.data.DataLoaders` plus the two index maps, the column names, and
    the validation ratings that could not be scored (a user or film unseen in training)."""

    users: IdIndex = None
    items: IdIndex = None
    columns: tuple[str, str, str] = RATING_COLUMNS
    cold_valid: pd.DataFrame = field(default_factory=pd.DataFrame)

    def encode(self, users, items) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw user and film ids as the ``(user_rows, item_rows)`` a model takes."""
        return (
            torch.as_tensor(self.users.encode(users)),
            torch.as_tensor(self.items.encode(items)),
        )


def collab_dataloaders(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    bs: int = 64,
    seed: int = 0,
    user: str = "userId",
    item: str = "movieId",
    rating: str = "rating",
) -> CollabDataLoaders:
    """Index maps from the ``train`` ratings, and shuffled training batches of ``bs``
    (a seeded order, the same every run) and validation batches of ``2 * bs``.

    Validation ratings whose user or film is not in ``train`` have no embedding to score
    them with; they are kept aside in ``cold_valid`` (a random split leaves a few, a split
    by time many) so a page can count them and say what a model could do for them.
    """
    bs = positive_int("bs", bs)
    columns = dict(user=user, item=item, rating=rating)
    train, valid = check_ratings(train, **columns), check_ratings(valid, **columns)
    users, items = IdIndex(train[user], "user"), IdIndex(train[item], "film")
    warm = users.known(valid[user]) & items.known(valid[item])
    cold_valid, valid = valid[~warm], valid[warm]
    if len(valid) == 0:
        raise ValueError(
            "no validation rating has both its user and its film in the training ratings"
        )

    def dataset(table: pd.DataFrame) -> RatingsDataset:
        return RatingsDataset(
            users.encode(table[user]), items.encode(table[item]), table[rating].to_numpy()
        )

    train_ds, valid_ds = dataset(train), dataset(valid)
    sampler = RandomSampler(train_ds, generator=torch.Generator().manual_seed(seed))
    return CollabDataLoaders(
        train_dl=DataLoader(
            train_ds,
            batch_size=None,
            sampler=BatchSampler(sampler, bs, drop_last=False),
            collate_fn=_batched,
        ),  # fmt: skip
        valid_dl=DataLoader(
            valid_ds,
            batch_size=None,
            sampler=BatchSampler(SequentialSampler(valid_ds), 2 * bs, drop_last=False),
            collate_fn=_batched,
        ),  # fmt: skip
        users=users,
        items=items,
        columns=(user, item, rating),
        cold_valid=cold_valid,
    )
