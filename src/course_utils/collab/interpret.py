"""What a trained :class:`~course_utils.collab.models.EmbeddingDotBias` says (lesson 6).

* :func:`film_table`: each film's learned bias and factors beside its plain mean rating and
  how many ratings it has; sorting by bias answers "what is the worst film?" with each
  viewer's taste taken out.
* :func:`recommend`: the films a user has not rated, ranked by predicted rating, each split
  into its parts (film bias, user bias, taste = the dot product) and with the film the user
  rated highly that is most like it ("because you liked ..."). A user the model never saw
  gets the cold-start answer: films ranked by their bias alone, and a column saying so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from course_utils.checks import positive_int
from course_utils.collab.data import CollabDataLoaders
from course_utils.collab.models import scaled_sigmoid

__all__ = ["factor_similarity", "film_table", "recommend"]


def _weights(model) -> dict[str, np.ndarray]:
    """The four tables of an EmbeddingDotBias as float64 arrays."""
    needed = ("user_factors", "item_factors", "user_bias", "item_bias")
    if not all(hasattr(model, name) for name in needed):
        raise TypeError(
            f"need a model with {needed} (an EmbeddingDotBias); got {type(model).__name__}"
        )
    return {name: getattr(model, name).weight.detach().cpu().double().numpy() for name in needed}


def film_table(
    model, dls: CollabDataLoaders, train: pd.DataFrame, movies: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per film the model knows: ``movieId``, ``title`` (from ``movies``, if given),
    ``bias``, ``mean_rating`` and ``n_ratings`` in ``train``, and ``factors`` (an array)."""
    user, item, rating = dls.columns
    w = _weights(model)
    ids = dls.items.ids
    stats = train.groupby(item)[rating].agg(["mean", "size"]).reindex(ids)
    table = pd.DataFrame(
        {
            item: ids,
            "bias": w["item_bias"][:, 0],
            "mean_rating": stats["mean"].to_numpy(),
            "n_ratings": stats["size"].to_numpy(),
        }
    )
    if movies is not None:
        table = table.merge(movies[[item, "title"]], on=item, how="left")
        table = table[[item, "title", "bias", "mean_rating", "n_ratings"]]
    table["factors"] = list(w["item_factors"])
    return table


def factor_similarity(factors: np.ndarray, rows, among) -> np.ndarray:
    """Cosine similarity (len(rows), len(among)) between the factor vectors of films
    ``rows`` and films ``among``."""
    a, b = factors[np.asarray(rows)], factors[np.asarray(among)]
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def recommend(
    model,
    dls: CollabDataLoaders,
    user_id,
    train: pd.DataFrame,
    movies: pd.DataFrame | None = None,
    n: int = 10,
    min_ratings: int = 1,
    liked: float = 4.0,
) -> pd.DataFrame:
    """The ``n`` films ``user_id`` has not rated in ``train`` with the highest predicted
    rating, among films with at least ``min_ratings`` ratings.

    Columns: ``movieId`` (and ``title``), ``predicted``, then why: ``film_bias``,
    ``user_bias``, ``taste`` (user . film; these three sum to the score the sigmoid squashes),
    and ``because_you_liked``, the film the user rated ``liked`` or more whose factors are
    closest (cosine) to this one. For a user the model never saw there are no factors: the
    answer is the films with the highest bias, ``predicted`` is NaN and ``reason`` says why.
    """
    n, min_ratings = positive_int("n", n), positive_int("min_ratings", min_ratings)
    user, item, rating = dls.columns
    w = _weights(model)
    counts = train[item].value_counts().reindex(dls.items.ids, fill_value=0).to_numpy()
    candidates = np.flatnonzero(counts >= min_ratings)
    if user_id not in dls.users:
        top = candidates[np.argsort(-w["item_bias"][candidates, 0], kind="stable")][:n]
        out = pd.DataFrame(
            {
                item: dls.items.decode(top),
                "predicted": np.nan,
                "film_bias": w["item_bias"][top, 0],
                "reason": f"user {user_id!r} is new: no taste to match, ranked by film bias",
            }
        )
        return _with_titles(out, movies, item)
    u = int(dls.users.encode([user_id])[0])
    mine = train[train[user] == user_id]
    seen = dls.items.encode(mine[item])
    candidates = np.setdiff1d(candidates, seen)
    taste = w["item_factors"][candidates] @ w["user_factors"][u]  # (C,)
    score = taste + w["item_bias"][candidates, 0] + w["user_bias"][u, 0]  # (C,)
    predicted = scaled_sigmoid(torch.from_numpy(score), getattr(model, "y_range", None)).numpy()
    order = np.argsort(-predicted, kind="stable")[:n]
    top = candidates[order]
    out = pd.DataFrame(
        {
            item: dls.items.decode(top),
            "predicted": predicted[order],
            "film_bias": w["item_bias"][top, 0],
            "user_bias": w["user_bias"][u, 0],
            "taste": taste[order],
        }
    )
    liked_rows = dls.items.encode(mine.loc[mine[rating] >= liked, item])
    if len(liked_rows):
        nearest = factor_similarity(w["item_factors"], top, liked_rows).argmax(axis=1)
        out["because_you_liked"] = dls.items.decode(liked_rows[nearest])
        if movies is not None:
            titles = movies.set_index(item)["title"]
            out["because_you_liked"] = out["because_you_liked"].map(titles)
    return _with_titles(out, movies, item)


def _with_titles(table: pd.DataFrame, movies: pd.DataFrame | None, item: str) -> pd.DataFrame:
    if movies is None:
        return table
    titled = table.merge(movies[[item, "title"]], on=item, how="left")
    return titled[[item, "title", *[c for c in table.columns if c != item]]]
