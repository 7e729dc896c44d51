"""Text batches (lesson 4): the language model's windows over one stream, the classifier's
sorted and padded batches, and both training in a Learner."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.learner import Learner
from course_utils.metrics import accuracy
from course_utils.text.loaders import (
    LanguageModelLoader,
    SortishSampler,
    SortSampler,
    TextClassificationDataset,
    batchify,
    classifier_loaders,
    language_model_loaders,
    pad_collate,
)

# ----- the language model's loader ---------------------------------------------------------


def test_batchify_cuts_the_stream_into_rows_and_drops_the_tail():
    rows = batchify(np.arange(23), 4)  # 23 // 4 = 5 tokens a row, 3 dropped
    assert rows.shape == (4, 5) and rows.dtype == torch.long
    assert rows[1].tolist() == [5, 6, 7, 8, 9]
    assert rows[-1, -1] == 19


def test_fixed_windows_are_bptt_long_and_every_token_is_a_target_once():
    ids = np.arange(1000, 1000 + 4 * 23 + 3)  # 4 rows of 23 tokens, 3 dropped
    dl = LanguageModelLoader(ids, batch_size=4, bptt=5, variable=False)
    assert dl.rows.shape == (4, 23) and dl.n_dropped == 3
    batches = list(dl)
    assert len(batches) == len(dl) == math.ceil(22 / 5)  # exact: 5, 5, 5, 5, 2
    assert [x.shape[1] for x, _ in batches] == [5, 5, 5, 5, 2]
    seen = []
    for x, y in batches:
        assert x.shape == y.shape and x.shape[0] == 4 and x.dtype == y.dtype == torch.long
        assert torch.equal(y[:, :-1], x[:, 1:])  # inside the window: the next token
        seen.append(y)
    targets = torch.cat(seen, dim=1)  # (B, n - 1)
    assert torch.equal(targets, dl.rows[:, 1:])  # every target once, in order
    # the last target of each window is the token after it in the stream
    for (start, length), (_, y) in zip(dl.last_windows, batches, strict=True):
        assert np.array_equal(y[:, -1].numpy(), ids[dl.positions(start, length)[:, -1] + 1])


def test_variable_windows_tile_each_row_and_follow_the_2018_lengths():
    ids = np.arange(8 * 2000)
    dl = LanguageModelLoader(ids, batch_size=8, bptt=70, seed=0)
    batches = list(dl)
    windows = dl.last_windows
    assert len(batches) == len(windows)
    starts = [s for s, _ in windows]
    ends = [s + n for s, n in windows]
    assert starts[0] == 0 and starts[1:] == ends[:-1]  # no gaps, no overlaps
    assert ends[-1] == dl.row_len - 1  # to the end of every row
    lengths = np.array([n for _, n in windows])
    assert lengths[:-1].min() >= 5  # the last may be cut short by the end of the rows
    assert 60 < lengths.mean() < 75  # mostly around bptt
    assert (lengths < 50).any()  # and now and then around bptt / 2
    for (start, length), (x, y) in zip(windows, batches, strict=True):
        p = dl.positions(start, length)  # (B, T) places in the stream
        assert np.array_equal(x.numpy(), ids[p]) and np.array_equal(y.numpy(), ids[p + 1])
    assert torch.equal(torch.cat([y for _, y in batches], dim=1), dl.rows[:, 1:])


def test_len_is_exact_for_the_next_pass_and_the_windows_do_not_depend_on_it():
    ids = np.arange(4 * 500)
    counted = LanguageModelLoader(ids, 4, 20, seed=3)
    plain = LanguageModelLoader(ids, 4, 20, seed=3)
    n_first = len(counted)
    assert counted.next_windows() == plain.next_windows()
    first = list(counted)
    assert len(first) == n_first
    list(plain)
    second = counted.next_windows()
    assert second != counted.last_windows  # a new draw every pass
    assert len(list(counted)) == len(second)
    list(plain)
    assert plain.last_windows == counted.last_windows


def test_a_seed_makes_the_windows_reproducible():
    ids = np.arange(4 * 500)
    a, b = (list(LanguageModelLoader(ids, 4, 20, seed=7)) for _ in range(2))
    c = list(LanguageModelLoader(ids, 4, 20, seed=8))
    assert len(a) == len(b)
    assert all(torch.equal(xa, xb) for (xa, _), (xb, _) in zip(a, b, strict=True))
    assert [x.shape for x, _ in c] != [x.shape for x, _ in a]


def test_the_shortest_stream_makes_one_full_window():
    dl = LanguageModelLoader(np.arange(3 * 11), 3, 10, variable=False)
    ((x, y),) = list(dl)
    assert x.shape == (3, 10) and torch.equal(y[:, -1], torch.tensor([10, 21, 32]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bptt": 0}, r"bptt must be a positive int, got 0"),
        ({"batch_size": 0}, r"batch_size must be a positive int, got 0"),
        ({"batch_size": 2.5}, r"batch_size must be a positive int, got 2.5"),
        (
            {"ids": np.arange(32), "batch_size": 4, "bptt": 8},
            r"a stream of 32 tokens is too short for batch_size=4 and bptt=8.*"
            r"at least 36",
        ),
        ({"ids": []}, r"a stream of 0 tokens is too short"),
        ({"ids": np.zeros((4, 10), dtype=int)}, r"1-D sequence of token ids, got shape \(4, 10\)"),
        ({"ids": np.linspace(0, 1, 50)}, r"integer token ids, got dtype float64"),
    ],
)
def test_language_model_loader_errors(kwargs, match):
    args = {"ids": np.arange(100), "batch_size": 2, "bptt": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        LanguageModelLoader(**args)


def test_language_model_loaders_train_variable_valid_fixed_and_name_a_short_stream():
    dls = language_model_loaders(np.arange(4000), np.arange(400), batch_size=4, bptt=10)
    assert dls.train_dl.variable and not dls.valid_dl.variable
    assert len(dls.valid_dl) == math.ceil(99 / 10)
    with pytest.raises(ValueError, match=r"valid_ids: a stream of 30 tokens is too short"):
        language_model_loaders(np.arange(4000), np.arange(30), batch_size=4, bptt=10)


# ----- the classifier's samplers and padding ----------------------------------------------


def test_sort_sampler_puts_the_longest_first():
    assert list(SortSampler([3, 9, 1, 9, 4])) == [1, 3, 4, 0, 2]  # ties in their order


def test_sortish_sampler_makes_batches_of_similar_length_longest_first():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 1000, size=1003)
    bs = 4  # chunks of 200 texts; 1003 = 250 full batches and one of 3
    order = list(SortishSampler(lengths, bs, seed=0))
    assert sorted(order) == list(range(1003))  # every text once
    batches = [order[i : i + bs] for i in range(0, 1003, bs)]
    assert lengths[batches[0]].max() == lengths.max()  # the longest batch first
    assert len(batches[-1]) == 3  # the short batch last
    for batch in batches:  # each batch sorted, longest first
        assert list(lengths[batch]) == sorted(lengths[batch], reverse=True)
    # within a chunk of 50 batches the lengths fall; across the shuffled batches they don't
    firsts = lengths[[b[0] for b in batches[1:-1]]]
    assert (np.diff(firsts) > 0).sum() > 50
    # near neighbours in length: far less padding than a random order would need
    waste = sum(lengths[b].max() - lengths[b].min() for b in batches)
    assert waste < 1003 * 10
    assert list(SortishSampler(lengths, bs, seed=0)) == order  # reproducible
    sampler = SortishSampler(lengths, bs, seed=0)
    assert list(sampler) == order and list(sampler) != order  # a new order every pass


def test_sortish_sampler_small_last_chunk_joins_the_one_before():
    lengths = np.arange(1, 203 + 1)  # 4 * 50 = 200, then a chunk of 3 < bs
    order = list(SortishSampler(lengths, 4, seed=1))
    batches = [order[i : i + 4] for i in range(0, 203, 4)]
    assert lengths[batches[0][0]] == 203
    assert len(batches[-1]) == 3 and all(len(b) == 4 for b in batches[:-1])
    assert list(SortishSampler([5, 2], 4, seed=0)) == [0, 1]
    assert list(SortishSampler([], 4, seed=0)) == []


def test_pad_collate_pads_at_the_start_with_pad_idx():
    batch = [(np.array([5, 6, 7]), 1), (torch.tensor([8]), 0), ([9, 10], 1)]
    x, y = pad_collate(batch)
    assert x.dtype == y.dtype == torch.long
    assert x.tolist() == [[5, 6, 7], [1, 1, 8], [1, 9, 10]]
    assert y.tolist() == [1, 0, 1]
    x, _ = pad_collate(batch, pad_idx=0, pad_first=False)
    assert x.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    with pytest.raises(ValueError, match="pad_collate got an empty batch"):
        pad_collate([])


def test_text_classification_dataset():
    ds = TextClassificationDataset([[4, 5, 6], np.array([7])], [1, 0])
    assert len(ds) == 2 and ds.lengths.tolist() == [3, 1]
    ids, label = ds[0]
    assert ids.dtype == torch.long and ids.tolist() == [4, 5, 6] and label == 1


@pytest.mark.parametrize(
    ("texts", "labels", "match"),
    [
        ([[1, 2], [], [3], []], [0, 1, 0, 1], r"2 of the 4 texts are empty \(0 tokens\).*\[1, 3\]"),
        ([[1, 2], [3]], [0, 1, 1], r"got 2 texts but 3 labels"),
        ([[1, 2], [3]], [0.5, 1.0], r"labels must be integer class indices, got dtype float64"),
        ([[1, 2], [[3]]], [0, 1], r"text 1 must be a 1-D sequence of token ids"),
    ],
)
def test_text_classification_dataset_errors(texts, labels, match):
    with pytest.raises(ValueError, match=match):
        TextClassificationDataset(texts, labels)


def test_classifier_loaders_name_the_bad_split_and_check_classes():
    with pytest.raises(ValueError, match=r"valid: 1 of the 1 texts are empty"):
        classifier_loaders([[1]], [0], [[]], [0], batch_size=2)
    with pytest.raises(ValueError, match=r"train labels must be class indices in 0\.\.1"):
        classifier_loaders([[1]], [2], [[1]], [0], batch_size=2, classes=["neg", "pos"])


# ----- in a Learner ----------------------------------------------------------------------


class NextToken(nn.Module):
    """Embedding, then a linear layer at each position: (B, T) -> (B, T, V)."""

    def __init__(self, vocab: int, dim: int = 8):
        super().__init__()
        self.emb, self.out = nn.Embedding(vocab, dim), nn.Linear(dim, vocab)

    def forward(self, x):
        return self.out(self.emb(x))  # (B, T, V)


class MeanPool(nn.Module):
    """Embedding, the mean over positions, a linear head: (B, T) -> (B, C)."""

    def __init__(self, vocab: int, n_classes: int, dim: int = 8):
        super().__init__()
        self.emb, self.out = nn.Embedding(vocab, dim), nn.Linear(dim, n_classes)

    def forward(self, x):
        return self.out(self.emb(x).mean(dim=1))  # (B, T, D) -> (B, D) -> (B, C)


def flat_cross_entropy(pred, y):
    return F.cross_entropy(pred.flatten(0, 1), y.flatten())  # (B*T, V) against (B*T,)


def test_a_language_model_trains_in_a_learner():
    stream = np.tile(np.arange(10), 300)  # the next token is always (t + 1) % 10
    dls = language_model_loaders(stream[:2400], stream[2400:], batch_size=8, bptt=12, seed=0)
    torch.manual_seed(0)
    learn = Learner(dls, NextToken(10), flat_cross_entropy, device="cpu", verbose=False)
    learn.fit(2, 0.5)
    rec = learn.recorder
    assert len(rec.train_losses) == 2 and len(rec.losses) > 2 * 20
    assert rec.valid_losses[-1] < 0.5 * math.log(10)  # well below guessing


def test_a_classifier_trains_in_a_learner():
    rng = np.random.default_rng(0)

    def make(n):
        labels = rng.integers(0, 2, size=n)
        # class 1 uses the tokens 6..9, class 0 the tokens 2..5 (0 and 1 are special)
        texts = [rng.integers(2, 6, size=rng.integers(3, 30)) + 4 * y for y in labels]
        return texts, labels

    dls = classifier_loaders(*make(200), *make(60), batch_size=16, classes=["neg", "pos"])
    assert dls.c == 2
    longest = dls.train_dl.dataset.lengths.max()
    for k, (x, _) in enumerate(dls.train_dl):  # the sampler's batches, padded with 1 first
        n_tokens = (x != 1).sum(dim=1)  # (B,)
        assert x.shape[1] == n_tokens[0] and torch.all(n_tokens[:-1] >= n_tokens[1:])
        assert x.shape[0] == (16 if k < len(dls.train_dl) - 1 else 200 % 16)
        assert k > 0 or x.shape[1] == longest
    torch.manual_seed(0)
    learn = Learner(dls, MeanPool(10, 2), metrics=[accuracy], device="cpu", verbose=False)
    learn.fit(2, 0.5)
    assert learn.recorder.metrics["accuracy"][-1] > 0.9
    probs, targets = learn.get_preds()
    order = list(dls.valid_dl.sampler)  # validation comes out longest first
    assert torch.equal(targets, torch.as_tensor(dls.valid_dl.dataset.labels[order]))
    assert probs.shape == (60, 2)
