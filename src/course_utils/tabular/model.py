"""The network for tables: entity embeddings for the categories, a few linear layers on top.

Lesson 4's model (2018 fastai's ``MixedInputModel``, Guo and Berkhahn's "Entity
Embeddings of Categorical Variables", 2016): each categorical column has an
``nn.Embedding``, a table with one learned vector per level, so that a store or a
day of the week becomes a point in a space where similar levels can end up close
together. A one-hot encoding is the same thing with vectors that cannot move.
The vectors of all the columns are concatenated with the continuous inputs into one
row of numbers, and a plain multi-layer perceptron does the rest.

:class:`TabularDataset` and :func:`tabular_dataloaders` make batches the course's
:class:`~course_utils.learner.Learner` can train on: a batch is
``((cats, conts), y)``, and the learner calls ``model(cats, conts)`` when the
inputs of a batch are a tuple.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from course_utils.checks import check_y_range
from course_utils.data import DataLoaders
from course_utils.tabular.processing import TabularProcessor

__all__ = ["TabularDataset", "TabularModel", "tabular_dataloaders"]


class TabularModel(nn.Module):
    """Embeddings + continuous inputs -> ``[Linear -> ReLU -> BatchNorm1d -> Dropout] * k``
    -> ``Linear`` -> (optionally) a sigmoid scaled to ``y_range``.

    ``emb_szs``: ``(cardinality, size)`` per categorical column, as
    :func:`~course_utils.tabular.processing.embedding_sizes` gives; ``n_cont``: the
    number of continuous columns; ``layers`` and ``ps``: the hidden sizes and their
    dropout probabilities; ``emb_drop``: dropout on the concatenated embeddings. The
    defaults are the 2018 Rossmann notebook's ``[1000, 500]``, ``[0.001, 0.01]``
    and 0.04. ``use_bn=False`` drops the hidden BatchNorm layers (2018's default;
    fastai v1 turned them on).

    ``y_range=(low, high)``: ``output = low + (high - low) * sigmoid(x)``, so every
    prediction falls in the range (in float32 the sigmoid rounds to exactly 0 or 1
    for logits beyond about -88 and +17: then the output is ``low`` or ``high``).
    The notebook predicts log sales with ``y_range=(0, 1.2 * max(log_y))``: the
    network need not learn the scale of the target, only where in the range it lies.
    """

    def __init__(
        self,
        emb_szs: Sequence[tuple[int, int]],
        n_cont: int,
        n_out: int = 1,
        layers: Sequence[int] = (1000, 500),
        ps: Sequence[float] = (0.001, 0.01),
        emb_drop: float = 0.04,
        y_range: tuple[float, float] | None = None,
        use_bn: bool = True,
    ):
        super().__init__()
        if len(ps) != len(layers):
            raise ValueError(f"ps needs one dropout per layer: got {len(ps)} for {len(layers)}")
        y_range = check_y_range(y_range)
        self.embeds = nn.ModuleList(nn.Embedding(card, size) for card, size in emb_szs)
        for embed in self.embeds:  # 2018's emb_init: small uniform vectors, +-2/(size+1)
            bound = 2 / (embed.embedding_dim + 1)
            nn.init.uniform_(embed.weight, -bound, bound)
        self.n_emb = sum(embed.embedding_dim for embed in self.embeds)
        self.n_cont = n_cont
        self.emb_drop = nn.Dropout(emb_drop)
        # the continuous inputs are already normalised by the processor; BatchNorm learns
        # a scale and shift of its own for each (identity when there are none)
        self.bn_cont = nn.BatchNorm1d(n_cont) if n_cont > 0 else nn.Identity()
        blocks = []
        sizes = [self.n_emb + n_cont, *layers]
        for fan_in, fan_out, p in zip(sizes[:-1], sizes[1:], ps, strict=True):
            linear = nn.Linear(fan_in, fan_out)
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")  # as 2018
            bn = nn.BatchNorm1d(fan_out) if use_bn else nn.Identity()
            blocks.append(nn.Sequential(linear, nn.ReLU(), bn, nn.Dropout(p)))
        self.layers = nn.Sequential(*blocks)
        self.head = nn.Linear(sizes[-1], n_out)
        self.y_range = y_range

    def forward(self, cats: torch.Tensor, conts: torch.Tensor) -> torch.Tensor:
        """cats: (B, n_cat) integer codes; conts: (B, n_cont) floats -> (B, n_out)."""
        if cats.ndim != 2 or cats.shape[1] != len(self.embeds):
            raise ValueError(
                f"cats must be (batch, {len(self.embeds)}) codes, one per categorical "
                f"column, got {tuple(cats.shape)}"
            )
        if conts.ndim != 2 or conts.shape[1] != self.n_cont:
            raise ValueError(f"conts must be (batch, {self.n_cont}), got {tuple(conts.shape)}")
        # column i's codes (B,) look up rows of its table: (B, size_i) each
        vectors = [embed(cats[:, i]) for i, embed in enumerate(self.embeds)]
        x = torch.cat(vectors, dim=1) if vectors else conts.new_zeros(len(conts), 0)
        x = self.emb_drop(x)  # (B, n_emb): dropout on the embeddings only
        x = torch.cat([x, self.bn_cont(conts)], dim=1)  # (B, n_emb + n_cont)
        x = self.layers(x)  # (B, layers[-1])
        x = self.head(x)  # (B, n_out)
        if self.y_range is not None:
            low, high = self.y_range
            x = low + (high - low) * torch.sigmoid(x)  # in (low, high)
        return x


class TabularDataset(Dataset):
    """Rows of ``(cats, conts, y)`` tensors as items ``((cats[i], conts[i]), y[i])``.

    The inputs are a tuple: the :class:`~course_utils.learner.Learner` then calls
    ``model(cats, conts)``. Without targets (``y=None``, a test set) an item is
    ``((cats[i], conts[i]),)``: a batch of inputs alone, as ``Learner.get_preds``
    reads a 1-element batch (a 2-element one would be taken for ``(inputs, targets)``).
    """

    def __init__(self, cats: torch.Tensor, conts: torch.Tensor, y: torch.Tensor | None = None):
        lengths = {len(cats), len(conts)} | (set() if y is None else {len(y)})
        if len(lengths) != 1:
            found = (len(cats), len(conts), None if y is None else len(y))
            raise ValueError(f"cats, conts and y need as many rows each, got {found}")
        self.cats, self.conts, self.y = cats, conts, y

    def __len__(self) -> int:
        return len(self.cats)

    def __getitem__(self, i: int):
        inputs = (self.cats[i], self.conts[i])
        return (inputs,) if self.y is None else (inputs, self.y[i])


def tabular_dataloaders(
    processor: TabularProcessor,
    train_df: pd.DataFrame,
    valid_df: pd.DataFrame,
    bs: int = 64,
    test_df: pd.DataFrame | None = None,
    seed: int = 0,
    num_workers: int = 0,
) -> DataLoaders:
    """Fit ``processor`` on ``train_df`` (training rows only), transform the three tables
    and wrap them in :class:`~course_utils.data.DataLoaders`.

    The training loader is shuffled with a seeded generator (the same order every run)
    and drops a last batch of a single row, which BatchNorm cannot train on; validation
    and test loaders keep the table's order (batches of ``2 * bs``: no gradients to
    keep). ``test_df`` needs no target column. The tensors live in memory: loader
    processes (``num_workers``) would gain nothing on small tables.
    """
    if isinstance(bs, bool) or not isinstance(bs, int) or bs < 1:
        raise ValueError(f"bs must be a positive int, got {bs!r}")
    if processor.y_name is None:
        raise ValueError("the processor needs a y_name (the target column) to train on")
    processor.fit(train_df)
    train_ds = TabularDataset(*processor.transform(train_df))
    valid = processor.transform(valid_df)
    if valid[2] is None:
        raise KeyError(f"the validation table has no target column {processor.y_name!r}")
    valid_ds = TabularDataset(*valid)
    test_ds = None if test_df is None else TabularDataset(*processor.transform(test_df)[:2])

    def loader(ds, shuffle: bool) -> DataLoader:
        return DataLoader(
            ds,
            batch_size=bs if shuffle else 2 * bs,
            shuffle=shuffle,
            generator=torch.Generator().manual_seed(seed) if shuffle else None,
            drop_last=shuffle and len(ds) % bs == 1 and len(ds) > 1,
            num_workers=num_workers,
        )

    return DataLoaders(
        train_dl=loader(train_ds, shuffle=True),
        valid_dl=loader(valid_ds, shuffle=False),
        test_dl=None if test_ds is None else loader(test_ds, shuffle=False),
    )
