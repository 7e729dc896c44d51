"""Collaborative filtering (lessons 5 and 6): ratings in, a user and a film as vectors out.

* :mod:`~course_utils.collab.data`: a checked ratings table, ids mapped to embedding rows
  (unknown ids answered by name), random or by-time validation, batches.
* :mod:`~course_utils.collab.models`: the dot product, the dot product with biases and a
  ``y_range``, and the neural version.
* :mod:`~course_utils.collab.learner`: the two models' learner in one call.
* :mod:`~course_utils.collab.interpret`: biases against mean ratings, recommendations
  with their reasons, the cold-start answer.
"""

from course_utils.collab.data import (
    RATING_COLUMNS,
    CollabDataLoaders,
    IdIndex,
    RatingsDataset,
    UnknownIdError,
    check_ratings,
    collab_dataloaders,
    read_ratings,
    split_ratings,
)
from course_utils.collab.interpret import factor_similarity, film_table, recommend
from course_utils.collab.learner import collab_learner, rating_range
from course_utils.collab.models import EmbeddingDot, EmbeddingDotBias, EmbeddingNN, scaled_sigmoid

__all__ = [
    "RATING_COLUMNS",
    "CollabDataLoaders",
    "EmbeddingDot",
    "EmbeddingDotBias",
    "EmbeddingNN",
    "IdIndex",
    "RatingsDataset",
    "UnknownIdError",
    "check_ratings",
    "collab_dataloaders",
    "collab_learner",
    "factor_similarity",
    "film_table",
    "rating_range",
    "read_ratings",
    "recommend",
    "scaled_sigmoid",
    "split_ratings",
]
