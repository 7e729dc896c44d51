"""Lesson 5's three collaborative-filtering models, in plain PyTorch.

Each takes ``(users, items)``, two int64 tensors of embedding rows (B,), and returns a
predicted rating per pair (B,):

* :class:`EmbeddingDot`: ``rating = u . i``, one vector of ``n_factors`` per user and film.
* :class:`EmbeddingDotBias`: ``rating = u . i + b_user + b_film``, optionally squashed into
  ``y_range`` by a scaled sigmoid (lesson 5's ``EmbeddingDotBias``).
* :class:`EmbeddingNN`: the two vectors concatenated and passed through a small network
  (lesson 5's ``EmbeddingNet``): it can learn interactions a dot product cannot.

Initialisation follows the 2018 notebook: factors uniform in ``[0, 0.05)`` for the plain dot
product, ``[-0.01, 0.01)`` for the others (biases included).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from course_utils.checks import check_y_range, positive_int

__all__ = ["EmbeddingDot", "EmbeddingDotBias", "EmbeddingNN", "scaled_sigmoid"]


def scaled_sigmoid(x: torch.Tensor, y_range: tuple[float, float] | None) -> torch.Tensor:
    """``low + (high - low) * sigmoid(x)``: every output strictly inside ``y_range``;
    ``x`` unchanged when ``y_range`` is None."""
    if y_range is None:
        return x
    low, high = y_range
    return low + (high - low) * torch.sigmoid(x)


def _embedding(n: int, dim: int, low: float, high: float) -> nn.Embedding:
    emb = nn.Embedding(n, dim)
    nn.init.uniform_(emb.weight, low, high)
    return emb


class EmbeddingDot(nn.Module):
    """``rating = sum_k user[k] * film[k]``: the spreadsheet's dot product as a model."""

    def __init__(self, n_users: int, n_items: int, n_factors: int = 50):
        super().__init__()
        n_users, n_items = positive_int("n_users", n_users), positive_int("n_items", n_items)
        n_factors = positive_int("n_factors", n_factors)
        self.user_factors = _embedding(n_users, n_factors, 0.0, 0.05)  # (n_users, F)
        self.item_factors = _embedding(n_items, n_factors, 0.0, 0.05)  # (n_items, F)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.user_factors(users) * self.item_factors(items)).sum(dim=1)  # (B,)


class EmbeddingDotBias(nn.Module):
    """``rating = user . film + user_bias + film_bias``, through :func:`scaled_sigmoid`.

    A film's bias is how much better or worse it is rated than its factors explain, whoever
    watches it; a user's bias is how generous they are. Lesson 6 reads the film biases as a
    ranking of films with each viewer's taste taken out.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        n_factors: int = 50,
        y_range: tuple[float, float] | None = None,
    ):
        super().__init__()
        n_users, n_items = positive_int("n_users", n_users), positive_int("n_items", n_items)
        n_factors = positive_int("n_factors", n_factors)
        self.y_range = check_y_range(y_range)
        self.user_factors = _embedding(n_users, n_factors, -0.01, 0.01)  # (n_users, F)
        self.item_factors = _embedding(n_items, n_factors, -0.01, 0.01)  # (n_items, F)
        self.user_bias = _embedding(n_users, 1, -0.01, 0.01)  # (n_users, 1)
        self.item_bias = _embedding(n_items, 1, -0.01, 0.01)  # (n_items, 1)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        dot = (self.user_factors(users) * self.item_factors(items)).sum(dim=1)  # (B,)
        bias = self.user_bias(users).squeeze(1) + self.item_bias(items).squeeze(1)  # (B,)
        return scaled_sigmoid(dot + bias, self.y_range)


class EmbeddingNN(nn.Module):
    """Concatenated user and film vectors through ``Linear -> ReLU -> Linear``, with dropout
    on the embeddings (``p_emb``) and on the hidden layer (``p_hidden``), 2018's defaults."""

    def __init__(
        self,
        n_users: int,
        n_items: int,
        n_factors: int = 50,
        n_hidden: int = 10,
        p_emb: float = 0.05,
        p_hidden: float = 0.5,
        y_range: tuple[float, float] | None = None,
    ):
        super().__init__()
        n_users, n_items = positive_int("n_users", n_users), positive_int("n_items", n_items)
        n_factors = positive_int("n_factors", n_factors)
        n_hidden = positive_int("n_hidden", n_hidden)
        self.y_range = check_y_range(y_range)
        self.user_factors = _embedding(n_users, n_factors, -0.01, 0.01)
        self.item_factors = _embedding(n_items, n_factors, -0.01, 0.01)
        self.hidden = nn.Linear(2 * n_factors, n_hidden)
        self.out = nn.Linear(n_hidden, 1)
        self.p_emb, self.p_hidden = float(p_emb), float(p_hidden)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.user_factors(users), self.item_factors(items)], dim=1)  # (B, 2F)
        x = F.dropout(x, self.p_emb, self.training)
        x = F.dropout(F.relu(self.hidden(x)), self.p_hidden, self.training)  # (B, n_hidden)
        return scaled_sigmoid(self.out(x).squeeze(1), self.y_range)  # (B,)
