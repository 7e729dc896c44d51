"""The AWD-LSTM (course_utils.text.models), its learners (text.learner), text generation
(text.generate) and GradientClipping, on tiny models: vocabulary 50, embedding 8, hidden 16.

The strong checks: each dropout drops what it says and nothing in eval mode; weight dropout
runs the LSTM with exactly the dropped matrix and sends the gradient to the raw one; the
encoder's state carried over two calls gives what one call on the whole sequence gives; a
review pools to the same scores however much padding it gets; a tiny language model learns
a repeating stream; greedy generation is the argmax of the model reading its own output.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.callbacks import Callback, GradientClipping
from course_utils.data import DataLoaders
from course_utils.learner import lrs_for_groups
from course_utils.text.generate import generate, next_token_probs
from course_utils.text.learner import (
    RNNRegularizer,
    TextLearner,
    activation_penalty,
    language_model_learner,
    lm_accuracy,
    lm_loss,
    text_classifier_learner,
)
from course_utils.text.models import (
    AWDLSTMEncoder,
    EmbeddingDropout,
    LockedDropout,
    MultiBatchEncoder,
    WeightDropout,
    concat_pool,
    encoder_state,
    language_model,
    load_encoder,
    text_classifier,
)

V, E, H = 50, 8, 16  # vocabulary, embedding and hidden sizes
PAD = 1
TOL = {"atol": 1e-6, "rtol": 1e-5}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def ids(*shape: int, seed: int = 0) -> torch.Tensor:
    """Random token ids that are never the padding id (2..V-1)."""
    return torch.randint(2, V, shape, generator=torch.Generator().manual_seed(seed))


def pad_start(x: torch.Tensor, n: int) -> torch.Tensor:
    return torch.cat([torch.full((x.shape[0], n), PAD, dtype=x.dtype), x], dim=1)


def small_lm(**kwargs):
    return language_model(V, E, H, n_layers=3, **kwargs)


def small_classifier(**kwargs):
    kwargs = {"bptt": 4, "max_len": 100, **kwargs}
    return text_classifier(V, 3, E, H, n_layers=2, **kwargs)


# ----- The dropouts ------------------------------------------------------------------------------


def test_embedding_dropout_drops_whole_words_and_rescales():
    emb = nn.Embedding(V, E, padding_idx=PAD)
    drop = EmbeddingDropout(emb, p=0.5)
    words = torch.arange(V).repeat(2, 1)  # (2, V): every word, twice
    out = drop(words)  # (2, V, E)
    dropped = (out == 0).all(dim=-1)  # (2, V): which word vectors are all zeros
    kept = ~dropped & (words != PAD)
    assert 0 < dropped[0].sum() < V  # some words dropped, not all
    assert torch.equal(dropped[0], dropped[1])  # a dropped word is dropped wherever it occurs
    # nothing in between: each vector is all zeros or the word's vector scaled by 1 / (1 - p)
    torch.testing.assert_close(out[kept], 2 * emb.weight[words[kept]])
    drop.eval()
    torch.testing.assert_close(drop(words), emb(words))


def test_locked_dropout_one_mask_per_sequence():
    drop = LockedDropout(p=0.5)
    x = torch.ones(6, 10, 12)  # (B, T, E)
    out = drop(x)
    assert set(out.unique().tolist()) == {0.0, 2.0}  # dropped, or kept and scaled by 2
    assert torch.equal(out, out[:, :1].expand_as(out))  # the same at every time step
    assert not all(torch.equal(out[0], out[b]) for b in range(1, 6))  # not across the batch
    drop.eval()
    assert torch.equal(drop(x), x)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, True])
def test_dropouts_reject_bad_probabilities(p):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        LockedDropout(p)


def _lstm_pair(p: float = 0.5):
    """A WeightDropout LSTM and a plain copy of it."""
    lstm = nn.LSTM(4, 5, batch_first=True)
    plain = copy.deepcopy(lstm)
    return WeightDropout(lstm, p), plain


def test_weight_dropout_runs_the_lstm_with_the_dropped_matrix():
    wd, plain = _lstm_pair(p=0.5)
    assert "weight_hh_l0_raw" in dict(wd.named_parameters())
    assert "weight_hh_l0" not in dict(wd.module.named_parameters())
    x = torch.randn(3, 7, 4)
    torch.manual_seed(1)
    out, _ = wd(x)
    torch.manual_seed(1)
    dropped = F.dropout(wd.weight_hh_l0_raw.detach(), 0.5, training=True)  # the same draw
    with torch.no_grad():
        plain.weight_hh_l0.copy_(dropped)
    expected, _ = plain(x)
    torch.testing.assert_close(out, expected, **TOL)
    assert (dropped == 0).any()
    # the gradient reaches the raw weight: the plain LSTM's, through the mask and the scale
    out.pow(2).sum().backward()
    expected.pow(2).sum().backward()
    through_mask = plain.weight_hh_l0.grad * (dropped != 0) * 2
    torch.testing.assert_close(wd.weight_hh_l0_raw.grad, through_mask, **TOL)
    copy.deepcopy(wd)  # nothing left in the LSTM that holds the graph of the last call


def test_weight_dropout_eval_uses_the_raw_weight_and_is_deterministic():
    wd, plain = _lstm_pair(p=0.5)
    x = torch.randn(3, 7, 4)
    wd.train()
    train_out, _ = wd(x)
    wd.eval()
    out1, (h1, _) = wd(x)
    out2, (h2, _) = wd(x)
    expected, (h, _) = plain(x)
    assert torch.equal(out1, out2) and torch.equal(h1, h2)
    torch.testing.assert_close(out1, expected, **TOL)
    assert not torch.allclose(train_out, expected)


def test_weight_dropout_needs_a_parameter_of_that_name():
    with pytest.raises(ValueError, match="no parameter 'weight_hh_l9'"):
        WeightDropout(nn.LSTM(4, 5), 0.5, names=("weight_hh_l9",))


# ----- The encoder and the language model --------------------------------------------------------


def test_encoder_state_carried_over_two_calls_equals_one_call():
    enc = AWDLSTMEncoder(V, E, H, n_layers=3).eval()
    x = ids(3, 12)
    first, second = enc(x[:, :5]), enc(x[:, 5:])  # the state carried from the first call
    enc.reset()
    whole = enc(x)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole, **TOL)
    enc.reset()
    assert not torch.allclose(enc(x[:, 5:]), second)  # from zeros it differs: the state mattered


def test_encoder_state_is_detached_and_follows_the_batch_size():
    enc = AWDLSTMEncoder(V, E, H, n_layers=2)
    enc(ids(3, 6)).sum().backward()
    assert all(not h.requires_grad and not c.requires_grad for h, c in enc.hidden)
    assert [tuple(h.shape) for h, _ in enc.hidden] == [(1, 3, H), (1, 3, E)]
    enc.eval()
    out = enc(ids(2, 6, seed=1))  # another batch size: a fresh state
    enc.reset()
    torch.testing.assert_close(out, enc(ids(2, 6, seed=1)))
    with pytest.raises(ValueError, match=r"\(batch, seq_len\)"):
        enc(torch.randn(2, 6))


def test_language_model_shapes_and_tied_weights():
    lm = small_lm()
    assert lm(ids(4, 7)).shape == (4, 7, V)
    assert lm.decoder.linear.weight is lm.encoder.embedding.weight
    untied = small_lm(tie=False)
    assert untied.decoder.linear.weight is not untied.encoder.embedding.weight
    n_tied = sum(p.numel() for p in lm.parameters())
    assert sum(p.numel() for p in untied.parameters()) == n_tied + V * E


def test_models_keep_activations_only_when_asked():
    lm, clf = small_lm(), small_classifier()
    lm(ids(2, 5)), clf(ids(2, 5))
    assert lm.activations is None and clf.activations is None
    lm.keep_activations = clf.keep_activations = True
    lm(ids(2, 5)), clf(pad_start(ids(2, 5), 2))
    assert lm.activations[0].shape == (2, 5, E) and lm.activations[1] is None
    output, mask = clf.activations
    assert output.shape == (2, 5, E) and mask.all()  # the padding taken out
    lm.eval()
    lm(ids(2, 5))
    assert lm.activations is None


def test_eval_mode_has_no_dropout():
    lm = small_lm(dropout_input=0.5, dropout_embedding=0.5, dropout_weight=0.5).eval()
    x = ids(2, 9)
    lm.reset()
    a = lm(x)
    lm.reset()
    assert torch.equal(a, lm(x))


def make_learner(model_kind: str, **kwargs) -> TextLearner:
    dummy = DataLoaders([], [])
    if model_kind == "lm":
        return language_model_learner(
            dummy, V, E, H, n_layers=3, verbose=False, device="cpu", **kwargs
        )
    return text_classifier_learner(
        dummy, V, 3, E, H, n_layers=2, bptt=4, verbose=False, device="cpu", **kwargs
    )


def trainable(learn: TextLearner) -> list[bool]:
    return [all(p.requires_grad for p in g.parameters()) for g in learn.layer_groups]


def test_language_model_layer_groups_and_freeze_to():
    learn = make_learner("lm")
    lm = learn.model
    assert len(learn.layer_groups) == 4  # three LSTM layers, then embedding + decoder
    assert lm.encoder.embedding.weight in set(learn.layer_groups[-1].parameters())
    learn.freeze_to(-1)
    assert trainable(learn) == [False, False, False, True]
    learn.freeze_to(1)
    assert trainable(learn) == [False, True, True, True]
    learn.unfreeze()
    assert trainable(learn) == [True] * 4
    lrs = lrs_for_groups(slice(1e-4, 1e-2), len(learn.layer_groups))
    learn.create_opt(lrs)
    assert [g["lr"] for g in learn.opt.param_groups] == pytest.approx(lrs)
    assert learn.opt.param_groups[0]["betas"] == (0.7, 0.99)
    with pytest.raises(ValueError, match="freeze_to"):
        learn.freeze_to(-5)


def test_classifier_layer_groups_and_freeze_to():
    learn = make_learner("clas")
    assert len(learn.layer_groups) == 4  # embedding, two LSTM layers, head
    learn.freeze_to(-1)
    head = learn.model.head
    assert all(p.requires_grad for p in head.parameters())
    assert not any(p.requires_grad for p in learn.model.encoder.parameters())


# ----- The classifier ----------------------------------------------------------------------------


def test_concat_pool_counts_only_masked_positions():
    out = torch.tensor([[[1.0], [5.0], [3.0], [100.0]], [[-2.0], [-4.0], [7.0], [9.0]]])
    mask = torch.tensor([[True, True, True, False], [False, False, True, True]])
    pooled = concat_pool(out, mask)  # [last, max, mean]
    assert pooled.tolist() == [[3.0, 5.0, 3.0], [9.0, 9.0, 8.0]]
    empty = concat_pool(out, torch.zeros(2, 4, dtype=torch.bool))
    assert torch.equal(empty, torch.zeros(2, 3))


def test_classifier_scores_ignore_start_padding():
    clf = small_classifier().eval()
    text = ids(1, 11)
    alone = clf(text)
    for n_pad in (1, 4, 9):
        torch.testing.assert_close(clf(pad_start(text, n_pad)), alone, **TOL)
    # in a batch, beside a longer text, and at the end (any padding is taken out)
    other = ids(1, 17, seed=1)
    batch = torch.cat([pad_start(text, 6), other])
    torch.testing.assert_close(clf(batch)[:1], alone, **TOL)
    at_end = torch.cat([text, torch.full((1, 3), PAD)], dim=1)
    torch.testing.assert_close(clf(at_end), alone, **TOL)


def test_multibatch_encoder_keeps_the_last_max_len_tokens():
    enc = MultiBatchEncoder(V, bptt=4, max_len=6, emb_size=E, hidden_size=H, n_layers=2)
    x = torch.cat([pad_start(ids(1, 5), 10), ids(1, 15)])  # texts of 5 and 15 tokens
    output, mask = enc(x)
    assert mask.sum(dim=1).tolist() == [5, 6]  # the short text whole, the long one's last 6
    assert output.shape == (2, 15, E) and mask.shape == (2, 15)  # every window holds some
    x = torch.cat([ids(1, 15), pad_start(ids(1, 14), 1)])
    output, mask = enc(x)  # last 6 tokens: positions 9-14 and 8-13, in windows [8, 12), [12, 15)
    assert output.shape == (2, 7, E)  # windows [0, 4) and [4, 8) only moved the state on
    assert mask.sum(dim=1).tolist() == [6, 6]
    assert mask.tolist() == [[False] + [True] * 6, [True] * 6 + [False]]
    with pytest.raises(ValueError, match="empty"):
        enc(torch.full((2, 4), PAD))


def test_classifier_trains_and_loads_the_language_models_encoder(tmp_path):
    lm_learn = make_learner("lm", path=tmp_path)
    clas = text_classifier_learner(
        DataLoaders([], []), V, 3, E, H, n_layers=3, verbose=False, device="cpu", path=tmp_path
    )
    assert lm_learn.save_encoder("enc") == tmp_path / "models" / "enc.pth"
    state = encoder_state(lm_learn.model)
    assert state["embedding.weight"] is state["embedding_dropout.embedding.weight"]  # saved once
    clas.load_encoder("enc")
    for name, tensor in clas.model.encoder.state_dict().items():
        torch.testing.assert_close(tensor, lm_learn.model.encoder.state_dict()[name])
    out = clas.model(torch.cat([pad_start(ids(1, 6), 3), ids(1, 9)]))
    out.sum().backward()
    assert out.shape == (2, 3)
    other = language_model(V, E, H + 1, n_layers=3)
    with pytest.raises(ValueError, match="vocabulary and sizes"):
        load_encoder(clas.model, encoder_state(other))
    with pytest.raises(FileNotFoundError):
        clas.load_encoder("nothing")


# ----- Gradient clipping -------------------------------------------------------------------------


def _clip(grad_scale: float, max_norm: float = 1.0) -> tuple[list[torch.Tensor], list]:
    model = nn.Linear(3, 2)
    for p in model.parameters():
        p.grad = torch.randn_like(p) * grad_scale
    before = [p.grad.clone() for p in model.parameters()]
    cb = GradientClipping(max_norm)
    cb.learn = SimpleNamespace(model=model, opt=None, scaler=None)
    cb.after_backward()
    return before, [p.grad for p in model.parameters()]


def _norm(grads) -> float:
    return float(torch.cat([g.flatten() for g in grads]).norm())


def test_gradient_clipping_clips_large_gradients():
    before, after = _clip(grad_scale=10.0)
    assert _norm(before) > 1
    assert _norm(after) <= 1.0 + 1e-6
    ratio = after[0] / before[0]  # the direction is kept: one common scale
    torch.testing.assert_close(ratio, torch.full_like(ratio, ratio.flatten()[0].item()))


def test_gradient_clipping_leaves_small_gradients_alone():
    before, after = _clip(grad_scale=0.01)
    assert all(torch.equal(b, a) for b, a in zip(before, after, strict=True))


@pytest.mark.parametrize("max_norm", [0, -1.0, math.inf, True])
def test_gradient_clipping_rejects_bad_norms(max_norm):
    with pytest.raises(ValueError, match="max_norm"):
        GradientClipping(max_norm)


# ----- Training a tiny language model ------------------------------------------------------------


def stream_dls(bs: int = 4, bptt: int = 8, n_batches: int = 6) -> DataLoaders:
    """A stream repeating ids 2..11, batchified as a language model reads it: row r of batch
    k + 1 continues row r of batch k; y is x one token on."""
    n = bs * (bptt * n_batches + 1)
    stream = torch.arange(n) % 10 + 2
    rows = stream.view(bs, -1)  # (B, N)
    batches = [
        (rows[:, s : s + bptt], rows[:, s + 1 : s + 1 + bptt])
        for s in range(0, bptt * n_batches, bptt)
    ]
    return DataLoaders(batches, batches[:2])


class _Record(Callback):
    order = 100  # after everything else

    def before_fit(self):
        self.grad_norms, self.losses_match, self.penalised = [], [], []

    def after_loss(self):
        if self.learn.training:  # AR/TAR (RNNRegularizer, order 0) added to the loss
            plain = lm_loss(self.learn.pred, self.learn.yb)
            self.penalised.append(bool(self.learn.loss.detach() > plain.detach()))

    def after_backward(self):
        grads = [p.grad for p in self.learn.model.parameters() if p.grad is not None]
        self.grad_norms.append(_norm(grads))

    def after_batch(self):
        if self.learn.training:
            plain = lm_loss(self.learn.pred, self.learn.yb)
            self.losses_match.append(torch.allclose(self.learn.loss, plain))


def test_tiny_language_model_learns_a_repeating_stream():
    record = _Record()
    learn = language_model_learner(
        stream_dls(), 12, emb_size=16, hidden_size=32, n_layers=2, clip=0.5,
        dropout_input=0, dropout_hidden=0, dropout_embedding=0, dropout_weight=0,
        dropout_output=0, verbose=False, device="cpu", cbs=[record],
    )  # fmt: skip
    resets = []
    learn.model.reset = lambda: (resets.append(1), learn.model.encoder.reset())
    learn.fit(6, 3e-2)  # 36 steps
    losses, valid_losses = learn.recorder.losses, learn.recorder.valid_losses
    assert losses[0] == pytest.approx(math.log(12), abs=0.1)  # no better than a guess at first
    assert max(losses[-6:]) < 0.4 * losses[0]
    assert valid_losses[-1] < 0.3 * valid_losses[0]
    assert learn.recorder.metrics["lm_accuracy"][-1] > 0.9
    assert len(resets) == 2 * 6  # before each epoch's training and each validation
    assert max(record.grad_norms) <= 0.5 + 1e-5  # clipped
    assert all(record.penalised) and len(record.penalised) == 36  # AR/TAR in the gradient...
    assert all(record.losses_match)  # ...but the loss recorded is the cross-entropy alone
    assert not learn.model.keep_activations and learn.model.activations is None


def test_activation_penalty_by_hand():
    out = torch.tensor([[[1.0, 3.0], [2.0, 0.0], [5.0, 5.0]]])  # (1, 3, 2)
    ar = (1 + 9 + 4 + 0 + 25 + 25) / 6
    tar = ((2 - 1) ** 2 + (0 - 3) ** 2 + (5 - 2) ** 2 + (5 - 0) ** 2) / 4
    assert activation_penalty(out, None, 2.0, 1.0).item() == pytest.approx(2 * ar + tar)
    mask = torch.tensor([[True, True, False]])  # the last step is padding
    expected = 2 * (1 + 9 + 4 + 0) / 4 + (1 + 9) / 2
    assert activation_penalty(out, mask, 2.0, 1.0).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="activations"):
        model = nn.Embedding(12, 12)  # (B, T) -> (B, T, 12) scores, but no activations
        learn = TextLearner(
            stream_dls(), model, lm_loss, cbs=[RNNRegularizer()], verbose=False, device="cpu"
        )
        learn.fit(1, 1e-3)


def test_lm_loss_and_accuracy():
    pred = torch.randn(2, 3, V)
    y = pred.argmax(-1)
    assert lm_accuracy(pred, y).item() == 1.0
    torch.testing.assert_close(lm_loss(pred, y), F.cross_entropy(pred.reshape(6, V), y.flatten()))
    with pytest.raises(ValueError, match=r"\(B, T, V\)"):
        lm_loss(pred, y.flatten())


# ----- Generating text ---------------------------------------------------------------------------


class FixedScores(nn.Module):
    """A model with no state whose scores for the next token are always ``logits``."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = nn.Parameter(logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(*x.shape, -1)  # (B, T, V)


def test_generate_is_reproducible_with_a_seed():
    lm = small_lm().train()
    a = generate(lm, None, [2, 3, 4], 20, seed=7)
    b = generate(lm, None, [2, 3, 4], 20, seed=7)
    assert a == b and len(a) == 20 and all(0 <= t < V for t in a)
    assert generate(lm, None, [2, 3, 4], 20, seed=8) != a
    assert lm.training  # the mode is restored


def test_greedy_generation_is_the_models_argmax_on_its_own_output():
    lm = small_lm()
    prompt = [5, 6, 7]
    new = generate(lm, None, prompt, 8, greedy=True)
    assert new == generate(lm, None, torch.tensor(prompt), 8, greedy=True, temperature=0)
    lm.eval().reset()
    logits = lm(torch.tensor([prompt + new]))[0]  # (T, V): reading it all at once
    assert logits[len(prompt) - 1 : -1].argmax(-1).tolist() == new


def test_generate_reads_and_writes_tokens_with_a_vocab():
    itos = ["_unk_", "_pad_", "a", "b", "c"]
    vocab = SimpleNamespace(itos=itos, stoi={t: i for i, t in enumerate(itos)})
    model = FixedScores(torch.tensor([0.0, 0.0, 0.0, 5.0, 0.0]))
    assert generate(model, vocab, ["a", "c"], 3, greedy=True) == ["b", "b", "b"]
    assert generate(model, vocab, ["a"], 2, greedy=True, exclude=[3]) == ["_unk_", "_unk_"]
    out = generate(model, vocab, ["a"], 30, seed=0, top_k=1)
    assert out == ["b"] * 30
    with pytest.raises(ValueError, match="not in the vocabulary"):
        generate(model, vocab, ["zebra"], 1)


def entropy(p: torch.Tensor) -> float:
    return float(-(p * p.clamp_min(1e-30).log()).sum())


def test_temperature_sharpens_or_flattens_the_distribution():
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0])
    entropies = [entropy(next_token_probs(logits, t)) for t in (0.25, 0.5, 1.0, 2.0, 8.0)]
    assert entropies == sorted(entropies)
    assert entropies[-1] < math.log(5)
    torch.testing.assert_close(next_token_probs(logits, 1.0), logits.softmax(0))
    top2 = next_token_probs(logits, 1.0, top_k=2)
    assert (top2 > 0).tolist() == [True, True, False, False, False]
    # and so do the samples: more distinct tokens at a high temperature than at a low one
    model = FixedScores(torch.linspace(3, -3, V))
    cold = generate(model, None, [2], 200, temperature=0.3, seed=0)
    hot = generate(model, None, [2], 200, temperature=3.0, seed=0)
    assert len(set(cold)) < len(set(hot))


@pytest.mark.parametrize("temperature", [0, -1.0, math.inf, math.nan])
def test_generate_rejects_bad_temperatures(temperature):
    with pytest.raises(ValueError, match="greedy=True"):
        generate(small_lm(), None, [2], 3, temperature=temperature)


@pytest.mark.parametrize("prompt", [[], "a b", [2, "a"]])
def test_generate_rejects_bad_prompts(prompt):
    with pytest.raises(ValueError, match="prompt"):
        generate(small_lm(), None, prompt, 3)


# ----- No CUDA needed ----------------------------------------------------------------------------


def test_text_modules_never_call_cuda_directly():
    """Everything above ran on the CPU; the sources choose no device of their own either."""
    src = Path(__file__).resolve().parents[1] / "src" / "course_utils"
    for name in ("text/models.py", "text/learner.py", "text/generate.py"):
        text = (src / name).read_text()
        assert not re.search(r"\.cuda\(|device=['\"]cuda", text), name
