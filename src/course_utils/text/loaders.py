"""Batches of text: one long stream for a language model, padded reviews for a classifier.

Lesson 4 (IMDB) trains two models on text, and each needs its own way of making batches.

**A language model** reads the whole corpus as one stream of token ids and learns to
predict the next token. :func:`batchify` cuts the stream into ``B`` equal *rows*
(the batch size; the few tokens left over are dropped) and :class:`LanguageModelLoader`
reads all the rows side by side, left to right, one *window* of about ``bptt`` tokens at
a time::

    stream  t0 t1 t2 ... t(N-1),  n = N // B tokens per row

    rows    row 0:  t0      t1       ...  t(n-1)
            row 1:  t(n)    t(n+1)   ...  t(2n-1)
            ...
            row B-1 ...                   t(Bn-1)

    batch k = the window [s, s+T) of every row:
            x = rows[:, s : s+T]        (B, T)  the inputs
            y = rows[:, s+1 : s+T+1]    (B, T)  the targets: each input's next token

so ``y[:, t] == x[:, t+1]`` and the last target of a row is the token after the window.
Row ``r`` of batch ``k+1`` continues row ``r`` of batch ``k``, which is why the model
may carry its hidden state from one batch to the next. ``bptt`` (back-propagation
through time) is how many steps the gradient flows back.

The windows of a training pass vary in length, fastai 0.7's rule (``nlp.py``, lesson 4)::

    bptt = self.bptt if np.random.random() < 0.95 else self.bptt / 2.
    seq_len = max(5, int(np.random.normal(bptt, 5)))

so the text is cut at different places every epoch. Validation uses fixed windows of
``bptt`` (``variable=False``). Two differences from 2018, both so that every pass reads
every row to its end: fastai stopped after ``len(loader) == n // bptt - 1`` windows, which
with windows a little shorter than ``bptt`` on average left the last few percent of every
row unread, and here the last window of a pass is cut short at the end of the rows
instead. (The later fastai 0.7 ``text.py``, lesson 10, also made the first window
``bptt + 25`` tokens long, to allocate the most GPU memory first; not done here.)

**A classifier** reads one review at a time, and reviews differ in length. A batch is
a rectangle, so :func:`pad_collate` pads the shorter reviews with ``pad_idx`` (1, the
``_pad_`` token of fastai's vocabulary) *at the start*, as fastai 0.7 did (``pre_pad=True``),
so that the last token the RNN reads, the one the classifier's head mostly sees, is a real
token. To waste little on padding, batches hold reviews of similar length:
:class:`SortSampler` (validation) sorts longest first; :class:`SortishSampler` (training)
sorts within random chunks of ``50 * batch_size`` reviews, so the order is still random
from one epoch to the next.

Shapes are **batch-first** throughout: ``x`` is (B, T), ``B`` the batch size and ``T``
the window or padded length; a language model's ``y`` is (B, T) too, a classifier's (B,).
fastai 0.7 was sequence-first: ``x`` (T, B) and a language model's ``y`` flattened to
(T*B,). A loss for a language model flattens the predictions (B, T, V) and targets (B, T)
itself: ``F.cross_entropy(pred.flatten(0, 1), y.flatten())``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from itertools import pairwise

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from course_utils.checks import positive_int
from course_utils.data import DataLoaders

__all__ = [
    "LanguageModelLoader",
    "SortSampler",
    "SortishSampler",
    "TextClassificationDataset",
    "batchify",
    "classifier_loaders",
    "language_model_loaders",
    "pad_collate",
]

P_FULL_BPTT = 0.95  # fastai 0.7: a window of about bptt with this probability, else bptt / 2
BPTT_SD = 5  # the standard deviation of a window's length around that
MIN_WINDOW = 5  # the shortest window drawn (the last of a pass may be shorter)
SORTISH_CHUNK = 50  # SortishSampler sorts chunks of this many batches


def _token_ids(ids, what: str) -> torch.Tensor:
    """``ids`` (a list, array or tensor of ints) as a 1-D int64 tensor on the CPU."""
    array = ids.detach().cpu().numpy() if isinstance(ids, torch.Tensor) else np.asarray(ids)
    if array.ndim != 1:
        raise ValueError(f"{what} must be a 1-D sequence of token ids, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{what} must hold integer token ids, got dtype {array.dtype}")
    return torch.as_tensor(array.astype(np.int64, copy=False))


def batchify(ids, batch_size: int) -> torch.Tensor:
    """Cut a stream of ``N`` token ids into ``batch_size`` rows of ``N // batch_size``.

    Row ``r`` is ``ids[r*n : (r+1)*n]``; the last ``N % batch_size`` tokens are dropped.
    Returns a (batch_size, n) int64 tensor.
    """
    stream = _token_ids(ids, "ids")  # (N,)
    batch_size = positive_int("batch_size", batch_size)
    n = len(stream) // batch_size
    return stream[: n * batch_size].reshape(batch_size, n).clone()  # (B, n)


class LanguageModelLoader:
    """Batches ``(x, y)`` for a language model from one long stream of token ids.

    ``ids`` (N,) is the whole corpus concatenated. It is cut into ``batch_size`` rows
    (:attr:`rows`, (B, n)), read in windows: ``x`` (B, T) and ``y`` (B, T), the same
    window one token later. With ``variable`` (training) each window's length ``T`` is
    drawn by fastai 0.7's rule (module docstring) from a ``np.random.Generator`` seeded
    with ``seed``; without, every window is ``bptt`` long (validation). Either way the
    windows tile each row from its start to its end, without gaps or overlaps, and the
    last one is cut short where the row ends: every token of ``rows[:, 1:]`` is a target
    exactly once per pass (``rows[:, 0]`` never is: nothing comes before it).

    ``len(loader)`` is the number of batches the *next* pass yields, exactly: the window
    lengths of a pass are drawn before it starts (by ``len``, :meth:`next_windows` or
    ``iter``, whichever comes first) and kept for it. So the windows are the same whether
    or not ``len`` was called, and successive passes differ; the Learner, which reads
    ``len`` once per fit, may see a window more or fewer in later epochs (its schedules
    stop at their final value).

    The 2018 rule was made for ``bptt`` around 70: below about 10 its floor of 5 tokens
    and its spread of 5 outweigh ``bptt`` itself, so use ``variable=False`` there.
    """

    def __init__(
        self, ids, batch_size: int, bptt: int, *, variable: bool = True, seed: int | None = None
    ):
        self.batch_size = positive_int("batch_size", batch_size)
        self.bptt = positive_int("bptt", bptt)
        stream = _token_ids(ids, "ids")  # (N,)
        minimum = self.batch_size * (self.bptt + 1)
        if len(stream) < minimum:
            raise ValueError(
                f"a stream of {len(stream)} tokens is too short for batch_size="
                f"{self.batch_size} and bptt={self.bptt}: each of the {self.batch_size} rows "
                f"needs bptt + 1 = {self.bptt + 1} tokens (a window and the token after it), "
                f"so the stream needs at least {minimum}; lower batch_size or bptt"
            )
        self.variable = bool(variable)
        self.rows = batchify(stream, self.batch_size)  # (B, n)
        self.n_dropped = len(stream) - self.rows.numel()  # the tail that fills no row
        self._rng = np.random.default_rng(seed)
        self._planned: list[tuple[int, int]] | None = None
        self.last_windows: list[tuple[int, int]] = []  # (start, length) of the last pass

    @property
    def row_len(self) -> int:
        """``n``, the number of tokens in each row."""
        return self.rows.shape[1]

    def _window_len(self) -> int:
        if not self.variable:
            return self.bptt
        base = self.bptt if self._rng.random() < P_FULL_BPTT else self.bptt / 2
        return max(MIN_WINDOW, int(self._rng.normal(base, BPTT_SD)))

    def next_windows(self) -> list[tuple[int, int]]:
        """``(start, length)`` of each window the next pass yields, in order: batch ``k``
        is ``x = rows[:, start:start+length]``. Drawn now if not yet drawn."""
        if self._planned is None:
            windows, start, last = [], 0, self.row_len - 1  # the last input is at n - 2
            while start < last:
                length = min(self._window_len(), last - start)
                windows.append((start, length))
                start += length
            self._planned = windows
        return list(self._planned)

    def __len__(self) -> int:
        return len(self.next_windows())

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        windows = self.next_windows()
        self._planned = None  # the pass after this one draws its own
        self.last_windows = windows
        for start, length in windows:
            x = self.rows[:, start : start + length].clone()  # (B, T)
            y = self.rows[:, start + 1 : start + 1 + length].clone()  # (B, T): x one token later
            yield x, y

    def positions(self, start: int, length: int) -> np.ndarray:
        """Where the inputs of the window ``(start, length)`` sit in the stream ``ids``:
        a (B, length) array ``p`` with ``x == ids[p]`` (the targets are at ``p + 1``)."""
        rows = np.arange(self.batch_size)[:, None] * self.row_len  # (B, 1): each row's start
        return rows + start + np.arange(length)[None, :]  # (B, length)

    def __repr__(self) -> str:
        kind = "variable" if self.variable else "fixed"
        return (
            f"{type(self).__name__}(rows={tuple(self.rows.shape)}, bptt={self.bptt}, "
            f"{kind} windows)"
        )


def language_model_loaders(
    train_ids, valid_ids, batch_size: int, bptt: int, seed: int | None = 0
) -> DataLoaders:
    """A language model's :class:`~course_utils.data.DataLoaders`: variable windows drawn
    with ``seed`` for training, fixed windows of ``bptt`` for validation."""
    loaders = []
    for name, ids, variable in (("train_ids", train_ids, True), ("valid_ids", valid_ids, False)):
        try:
            loaders.append(LanguageModelLoader(ids, batch_size, bptt, variable=variable, seed=seed))
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from e
    return DataLoaders(*loaders)


class TextClassificationDataset(Dataset):
    """Texts as arrays of token ids, one class index each: ``ds[i]`` is
    ``(ids (L_i,) int64 tensor, label int)``. ``lengths`` (N,) holds each ``L_i``."""

    def __init__(self, id_arrays: Sequence, labels):
        texts = [_token_ids(ids, f"text {i}") for i, ids in enumerate(id_arrays)]
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError(f"labels must be 1-D, one class index per text, got {labels.shape}")
        if len(texts) != len(labels):
            raise ValueError(
                f"got {len(texts)} texts but {len(labels)} labels: each text needs one label"
            )
        if labels.size and not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
        self.lengths = np.array([len(t) for t in texts], dtype=np.int64)  # (N,)
        empty = np.flatnonzero(self.lengths == 0)
        if len(empty):
            raise ValueError(
                f"{len(empty)} of the {len(texts)} texts are empty (0 tokens), e.g. at "
                f"positions {empty[:5].tolist()}: drop them, or give each at least one token"
            )
        self.texts, self.labels = texts, labels.astype(np.int64)

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.texts[i], int(self.labels[i])


def _lengths(lengths) -> np.ndarray:
    lengths = np.asarray(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths must be 1-D, one per text, got shape {lengths.shape}")
    return lengths


class SortSampler(Sampler[int]):
    """The positions of the texts, longest first (ties: in their order). For validation:
    each batch then holds texts of nearly the same length, so little padding."""

    def __init__(self, lengths):
        self.lengths = _lengths(lengths)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        return iter(np.argsort(-self.lengths, kind="stable").tolist())


class SortishSampler(Sampler[int]):
    """The positions of the texts in batches of similar length, in a random order.

    Each pass, as fastai 0.7's ``SortishSampler``: shuffle the texts; cut them into chunks
    of ``50 * batch_size``; sort each chunk longest first; cut the chunks into batches of
    ``batch_size``; put the batch with the longest text first (the largest batch comes
    first, so the GPU's memory is allocated once) and shuffle the others. Two changes, so
    that a ``DataLoader`` with the same ``batch_size`` gets exactly these batches: the one
    short batch (when ``batch_size`` does not divide the number of texts) always comes
    last, and a last chunk smaller than a batch joins the chunk before it. ``seed`` seeds
    the ``np.random.Generator`` that draws every pass.
    """

    def __init__(self, lengths, batch_size: int, seed: int | None = None):
        self.lengths = _lengths(lengths)
        self.batch_size = positive_int("batch_size", batch_size)
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        bs, n = self.batch_size, len(self.lengths)
        order = self._rng.permutation(n)
        size = SORTISH_CHUNK * bs
        bounds = list(range(0, n, size)) + [n]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] < bs:
            del bounds[-2]  # a last chunk smaller than one batch joins the chunk before it
        full, short = [], []
        for lo, hi in pairwise(bounds):
            chunk = order[lo:hi]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]  # longest first
            for i in range(0, len(chunk), bs):
                (full if len(chunk[i : i + bs]) == bs else short).append(chunk[i : i + bs])
        if full:
            longest = int(np.argmax([self.lengths[batch[0]] for batch in full]))
            first = full.pop(longest)
            full = [first] + [full[i] for i in self._rng.permutation(len(full))]
        return iter(np.concatenate(full + short).tolist() if n else [])


def pad_collate(batch, pad_idx: int = 1, pad_first: bool = True):
    """Stack ``[(ids, label), ...]`` into ``x`` (B, T) int64, the texts padded with
    ``pad_idx`` to the longest, and ``y`` (B,) int64. ``pad_first``: the padding goes
    before each text (fastai 0.7's ``pre_pad=True``), so every row ends on its last token."""
    if len(batch) == 0:
        raise ValueError("pad_collate got an empty batch: no (ids, label) pairs")
    texts = [torch.as_tensor(ids, dtype=torch.long) for ids, _ in batch]
    y = torch.as_tensor(np.array([label for _, label in batch]), dtype=torch.long)  # (B,)
    longest = max(len(t) for t in texts)
    x = torch.full((len(texts), longest), pad_idx, dtype=torch.long)  # (B, T)
    for i, t in enumerate(texts):
        if pad_first:
            x[i, longest - len(t) :] = t
        else:
            x[i, : len(t)] = t
    return x, y


def classifier_loaders(
    train_ids: Sequence,
    train_labels,
    valid_ids: Sequence,
    valid_labels,
    batch_size: int,
    pad_idx: int = 1,
    seed: int | None = 0,
    *,
    valid_batch_size: int | None = None,
    classes: Sequence[str] | None = None,
) -> DataLoaders:
    """A text classifier's :class:`~course_utils.data.DataLoaders`.

    Training batches come from a :class:`SortishSampler` seeded with ``seed``, validation
    batches from a :class:`SortSampler` (longest first: ``list(dls.valid_dl.sampler)``
    gives the dataset positions in the order predictions come out). Both pad with
    :func:`pad_collate`. ``valid_batch_size`` defaults to ``batch_size`` (2018's lesson 10
    trained with ``bs//2`` and validated with ``bs``). ``classes`` names the classes.
    """
    batch_size = positive_int("batch_size", batch_size)
    valid_bs = batch_size if valid_batch_size is None else valid_batch_size
    valid_bs = positive_int("valid_batch_size", valid_bs)
    datasets = []
    for name, ids, labels in (
        ("train", train_ids, train_labels),
        ("valid", valid_ids, valid_labels),
    ):
        try:
            datasets.append(TextClassificationDataset(ids, labels))
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from e
        found = datasets[-1].labels
        n_classes = None if classes is None else len(classes)
        if n_classes is not None and found.size and not 0 <= found.min() <= found.max() < n_classes:
            raise ValueError(
                f"{name} labels must be class indices in 0..{n_classes - 1} "
                f"({n_classes} classes), found {found.min()}..{found.max()}"
            )
    train_ds, valid_ds = datasets
    collate = partial(pad_collate, pad_idx=pad_idx)
    train_dl = DataLoader(
        train_ds,
        batch_size,
        sampler=SortishSampler(train_ds.lengths, batch_size, seed),
        collate_fn=collate,
    )
    valid_dl = DataLoader(
        valid_ds, valid_bs, sampler=SortSampler(valid_ds.lengths), collate_fn=collate
    )
    return DataLoaders(train_dl, valid_dl, classes=None if classes is None else list(classes))
