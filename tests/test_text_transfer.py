"""A pretrained language model moved to another vocabulary (course_utils.text.transfer)."""

from __future__ import annotations

import pytest
import torch

from course_utils.text import language_model, remap_vocab
from course_utils.text.models import LanguageModel


def lm(vocab_size: int) -> LanguageModel:
    torch.manual_seed(0)
    return language_model(vocab_size, 4, 6, 2, 1, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_rows_follow_their_tokens_and_new_tokens_start_from_the_mean():
    old = ["_unk_", "_pad_", "the", "film", "king"]
    new = ["_unk_", "_pad_", "film", "the", "screenplay", "plot"]
    model = lm(len(old))
    state = remap_vocab(model.state_dict(), old, new)
    emb = model.state_dict()["encoder.embedding.weight"]  # (5, 4)
    got = state["encoder.embedding.weight"]  # (6, 4)
    assert got.shape == (6, 4)
    assert torch.equal(got[2], emb[3]) and torch.equal(got[3], emb[2])  # film, the swapped
    assert torch.allclose(got[4], emb.mean(0)) and torch.allclose(got[5], emb.mean(0))
    assert state.kept == 4 and state.new == ["screenplay", "plot"]
    # the weights that belong to no token are untouched
    name = "encoder.rnns.0.module.weight_ih_l0"
    assert torch.equal(state[name], model.state_dict()[name])
    # and the result loads into a model of the new vocabulary, strictly
    target = lm(len(new))
    target.load_state_dict(state)
    assert torch.equal(target.decoder.linear.weight, target.encoder.embedding.weight)  # tied


def test_refuses_states_it_cannot_read():
    model = lm(5)
    with pytest.raises(ValueError, match="first dimension of 7"):
        remap_vocab(model.state_dict(), [str(i) for i in range(7)], ["a"])
    with pytest.raises(ValueError, match="at least one token"):
        remap_vocab(model.state_dict(), [], ["a"])
    square = {"w": torch.zeros(3, 3)}
    with pytest.raises(ValueError, match="which dimension"):
        remap_vocab(square, ["a", "b", "c"], ["a"])
