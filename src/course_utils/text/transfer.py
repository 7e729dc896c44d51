"""A language model moved to another vocabulary: the step between pretraining and fine-tuning.

A language model pretrained on one corpus (WikiText-103 in ULMFiT; a stand-in in the quick
profile) knows that corpus's vocabulary. The target texts (film reviews) have their own:
many tokens in common, some new ("screenplay"), some never used. Before fine-tuning, each
row of the model that belongs to a token, the embedding's and the decoder's, is moved to
that token's new id; a token the old vocabulary did not have gets the mean of the old rows,
a neutral start that fine-tuning then adjusts. This is what 2018's ULMFiT notebook did
(``new_w[i] = enc_wgts[r] if r >= 0 else row_m``).

Which tensors are per-token is read from their shape: their first dimension is the old
vocabulary's size (the embedding, the tied decoder, a decoder bias). A model whose hidden
size equals its vocabulary size would be ambiguous, and is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

__all__ = ["VocabTransfer", "remap_vocab"]


class VocabTransfer(dict):
    """The state dict :func:`remap_vocab` returns, with what it did: ``kept`` tokens found in
    the old vocabulary, ``new`` tokens that start from the mean row."""

    kept: int
    new: list[str]


def remap_vocab(
    state: Mapping[str, torch.Tensor], old_itos: Sequence[str], new_itos: Sequence[str]
) -> VocabTransfer:
    """``state`` (a language model's state dict over ``old_itos``) with every per-token
    tensor re-indexed for ``new_itos``: row ``i`` is the old row of token ``new_itos[i]``,
    or the mean of the old rows where the old vocabulary lacks it. Other tensors are kept.
    """
    old_size, new_size = len(old_itos), len(new_itos)
    if old_size == 0 or new_size == 0:
        raise ValueError("both vocabularies need at least one token")
    old_ids = {token: i for i, token in enumerate(old_itos)}
    index = torch.tensor([old_ids.get(token, -1) for token in new_itos])  # (new,), -1: none
    found = index >= 0  # (new,)
    per_token = [name for name, t in state.items() if t.dim() >= 1 and t.shape[0] == old_size]
    if not per_token:
        raise ValueError(
            f"no tensor of this state has a first dimension of {old_size}, the old "
            "vocabulary's size: is it the state of a model over that vocabulary?"
        )
    ambiguous = [n for n in per_token if any(s == old_size for s in state[n].shape[1:])]
    if ambiguous:
        raise ValueError(f"cannot tell which dimension is the vocabulary in {ambiguous[0]}")
    remapped = VocabTransfer(state)
    for name in per_token:
        old = state[name]  # (old, ...)
        mean = old.mean(dim=0, keepdim=True)  # (1, ...): where the new token starts
        rows = old[index.clamp(min=0)]  # (new, ...)
        shape = (new_size,) + (1,) * (old.dim() - 1)
        remapped[name] = torch.where(found.view(shape), rows, mean.expand_as(rows)).clone()
    remapped.kept = int(found.sum())
    remapped.new = [token for token in new_itos if token not in old_ids]
    return remapped
