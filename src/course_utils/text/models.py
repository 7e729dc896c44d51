"""The AWD-LSTM of lesson 4: a language model, and a classifier built on its encoder.

Lesson 4 (IMDB) trains a *language model*, a network that reads text and predicts the next
word, and then reuses what it learnt to classify reviews as positive or negative. The model
is Merity, Keskar and Socher's AWD-LSTM ("Regularizing and Optimizing LSTM Language
Models", 2017), as fastai 0.7 wrote it in ``lm_rnn.py`` and ``rnn_reg.py``:

* an **embedding** turns each token id into a vector of ``emb_size`` numbers;
* a stack of single-layer **LSTMs** reads the vectors in order, ``hidden_size`` wide except
  the last, which is ``emb_size`` wide again;
* a **decoder**, one linear layer, turns each of the last LSTM's outputs into a score for
  every word of the vocabulary. Its weight is *tied* to the embedding's, the same
  (vocab, emb_size) matrix: a word is read and written with the same vector, which saves
  parameters and works better (Press and Wolf; Inan et al., 2016).

What makes it AWD ("ASGD Weight-Dropped") is five dropouts, each removing something
different, all of them only while training (``model.eval()`` turns them all off):

======================  ===================================================  ==============
dropout                 what it drops                                        2018 name
======================  ===================================================  ==============
``dropout_embedding``   whole words: rows of the embedding matrix            ``dropoute``
                        (:class:`EmbeddingDropout`)
``dropout_input``       coordinates of the embedded vectors, the same ones   ``dropouti``
                        at every step of a sequence (:class:`LockedDropout`)
``dropout_weight``      weights of each LSTM's hidden-to-hidden matrix       ``wdrop``
                        (DropConnect, :class:`WeightDropout`)
``dropout_hidden``      coordinates between LSTM layers (locked)             ``dropouth``
``dropout_output``      coordinates of the last LSTM's output, before the    ``dropout``
                        decoder (locked)
======================  ===================================================  ==============

*Locked* (or *variational*) dropout draws one mask per sequence and applies it at every
time step: dropping different units at each step would erase the memory the LSTM is trying
to carry, while dropping the same units throughout leaves a consistent, thinner network.
Every dropout scales what it keeps by ``1 / (1 - p)``, so the expected value is unchanged.

**Hidden state.** A language model reads a corpus as one long stream cut into windows of
about ``bptt`` tokens (:mod:`course_utils.text.loaders`), row ``r`` of each batch continuing
row ``r`` of the batch before. :class:`AWDLSTMEncoder` therefore keeps the LSTMs' hidden
state from one call to the next, *detached*: the values carry over, the gradient does not
(truncated back-propagation through time). ``reset()`` zeroes it; the learner resets at the
start of each epoch and of each validation.

**Classifier.** :class:`MultiBatchEncoder` (2018's ``MultiBatchRNN``) reads a whole review
in windows of ``bptt`` tokens, carrying the state, and keeps the outputs of the last
``max_len`` tokens; :class:`PoolingLinearClassifier` pools them, *concat pooling*: the
last output, the maximum over time and the mean over time side by side (3 * emb_size
numbers), then BatchNorm, dropout and linear blocks give the classes' scores. Reviews
are padded at the start (``pad_idx``): the padding is taken out before the LSTMs read
the text and left out of the pooling, so a review gets the same scores however much
padding its batch gave it. fastai 0.7 let the LSTMs read the padding and pooled over it.

Defaults are fastai 0.7's: ``RNN_Encoder`` (``dropouti=0.65, dropouth=0.3, dropoute=0.1,
wdrop=0.5``), ``get_language_model`` (``dropout=0.4, dropouti=0.5``, tied, no decoder
bias) and ``get_rnn_classifier``; sizes are Merity's (400, 1150, 3 layers). The learners of
:mod:`course_utils.text.learner` use lesson 4's smaller numbers.

Shapes are batch-first: ``B`` batch, ``T`` time steps, ``E`` the embedding size, ``H`` a
layer's hidden size, ``V`` the vocabulary size.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from contextlib import contextmanager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from course_utils.checks import positive_int

__all__ = [
    "AWDLSTMEncoder",
    "EmbeddingDropout",
    "LanguageModel",
    "LinearDecoder",
    "LockedDropout",
    "MultiBatchEncoder",
    "PoolingLinearClassifier",
    "TextClassifier",
    "WeightDropout",
    "concat_pool",
    "dropout_mask",
    "encoder_state",
    "language_model",
    "load_encoder",
    "text_classifier",
]

INIT_RANGE = 0.1  # fastai 0.7's initrange: embedding and decoder weights ~ U(-0.1, 0.1)


def _check_p(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
        raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
    return float(p)


def _check_ids(who: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.is_floating_point():
        found = f"shape {tuple(x.shape)}, {x.dtype}" if isinstance(x, torch.Tensor) else type(x)
        raise ValueError(
            f"{who} expects token ids of shape (batch, seq_len), integers; got {found}"
        )


# ----- The dropouts ------------------------------------------------------------------------------


def dropout_mask(like: torch.Tensor, size: Sequence[int], p: float) -> torch.Tensor:
    """A tensor of ``size`` on ``like``'s device and dtype: 0 with probability ``p``, otherwise
    ``1 / (1 - p)``, so that multiplying by it keeps the expected value. A size of 1 in a
    dimension shares one draw along it: ``(B, 1, E)`` is one mask per sequence."""
    return like.new_empty(size).bernoulli_(1 - p).div_(1 - p)


class EmbeddingDropout(nn.Module):
    """Drops whole words: each row of ``embedding``'s (V, E) matrix is zeroed with probability
    ``p`` (the rest scaled by ``1 / (1 - p)``) for the whole batch, so a dropped word reads as
    a vector of zeros wherever it occurs. The embedding stays the one passed in (its weight
    is shared, not copied)."""

    def __init__(self, embedding: nn.Embedding, p: float = 0.1):
        super().__init__()
        if not isinstance(embedding, nn.Embedding):
            raise ValueError(f"EmbeddingDropout wraps an nn.Embedding, got {type(embedding)}")
        self.embedding, self.p = embedding, _check_p("p", p)

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) -> vectors (B, T, E)."""
        weight = self.embedding.weight  # (V, E)
        if self.training and self.p > 0:
            mask = dropout_mask(weight, (weight.shape[0], 1), self.p)  # (V, 1): one draw per word
            weight = weight * mask  # (V, E), whole rows zeroed
        return F.embedding(words, weight, padding_idx=self.embedding.padding_idx)  # (B, T, E)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class LockedDropout(nn.Module):
    """Dropout with one mask per sequence, the same at every time step (2018's
    ``LockedDropout``, later ``RNNDropout``): on (B, T, E), the mask is (B, 1, E)."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = _check_p("p", p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, E) -> (B, T, E)."""
        if not self.training or self.p == 0:
            return x
        if x.ndim != 3:
            raise ValueError(
                f"LockedDropout expects (batch, seq_len, features), got {tuple(x.shape)}"
            )
        mask = dropout_mask(x, (x.shape[0], 1, x.shape[2]), self.p)  # (B, 1, E)
        return x * mask  # the same units dropped at every step of a sequence

    def extra_repr(self) -> str:
        return f"p={self.p}"


# cuDNN wants an LSTM's weights in one flat block of memory; a weight swapped in for one call
# is not, and cuDNN says so in a UserWarning at every call (cudnn/RNN.cpp: "RNN module weights
# are not part of single contiguous chunk of memory"). Weight dropout makes a new weight every
# call by design, so that warning, and only that one, is silenced, and only for CUDA inputs.
# (Known from cuDNN reports, e.g. pytorch/pytorch#40193; the CPU, where the tests run, never
# warns. Not yet seen on a GPU with this code.)
_CUDNN_WARNING = "RNN module weights are not part of single contiguous chunk of memory"


@contextmanager
def _quiet_cudnn(args):
    if not any(isinstance(a, torch.Tensor) and a.is_cuda for a in args):
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CUDNN_WARNING, category=UserWarning)
        yield


class WeightDropout(nn.Module):
    """DropConnect on some of ``module``'s weights: at every training call, each entry of the
    weights named in ``names`` (by default an ``nn.LSTM``'s hidden-to-hidden matrix
    ``weight_hh_l0``) is zeroed with probability ``p``, the rest scaled by ``1 / (1 - p)``.

    Dropping weights rather than activations leaves the recurrence itself untouched from one
    step to the next: the same thinned matrix is used at every step of the batch.

    The weight that trains is kept here as ``<name>_raw`` (``weight_hh_l0_raw``, 2018's name);
    the module keeps only an empty slot (``None``) under ``<name>``. Each call runs the module
    with the dropped copy in that slot, by :func:`torch.func.functional_call`, which puts
    it there for the call and empties the slot again afterwards. In eval mode the raw weight
    itself goes in. The module is always wrapped, ``p = 0`` included, so that the state dict's
    names do not depend on ``p``.
    """

    def __init__(self, module: nn.Module, p: float = 0.5, names: Sequence[str] = ("weight_hh_l0",)):
        super().__init__()
        self.module, self.p, self.names = module, _check_p("p", p), tuple(names)
        for name in self.names:
            weight = getattr(module, name, None)
            if not isinstance(weight, nn.Parameter):
                raise ValueError(
                    f"WeightDropout: {type(module).__name__} has no parameter {name!r}; "
                    f"its parameters are {[n for n, _ in module.named_parameters()]}"
                )
            delattr(module, name)  # no longer one of the module's parameters...
            setattr(module, name, None)  # ...but an empty slot that forward fills for each call
            self.register_parameter(f"{name}_raw", nn.Parameter(weight.detach()))

    def forward(self, *args):
        """The wrapped module's forward, with the dropped weights (train) or the raw ones (eval)."""
        weights = {
            name: F.dropout(getattr(self, f"{name}_raw"), self.p, training=self.training)
            for name in self.names
        }
        with _quiet_cudnn(args):
            return functional_call(self.module, weights, args)

    def extra_repr(self) -> str:
        return f"p={self.p}, names={self.names}"


# ----- The encoder -------------------------------------------------------------------------------


class AWDLSTMEncoder(nn.Module):
    """Token ids (B, T) -> the last LSTM layer's outputs (B, T, E).

    An embedding (``vocab_size`` x ``emb_size``) with :class:`EmbeddingDropout`, a
    :class:`LockedDropout` on its output, then ``n_layers`` single-layer ``nn.LSTM``
    (batch-first, each in a :class:`WeightDropout`) of sizes ``emb_size -> hidden_size ->
    ... -> emb_size``, with a :class:`LockedDropout` between consecutive layers. The last
    layer's output has no dropout here: the decoder or the classifier applies its own.

    The hidden state is kept between calls, detached (see the module's docstring); it is
    made afresh (zeros) by :meth:`reset`, and whenever the batch size or the device changes.
    """

    def __init__(
        self,
        vocab_size: int,
        emb_size: int = 400,
        hidden_size: int = 1150,
        n_layers: int = 3,
        pad_idx: int | None = 1,
        dropout_input: float = 0.65,
        dropout_hidden: float = 0.3,
        dropout_embedding: float = 0.1,
        dropout_weight: float = 0.5,
    ):
        super().__init__()
        self.vocab_size = positive_int("vocab_size", vocab_size)
        self.emb_size = positive_int("emb_size", emb_size)
        self.hidden_size = positive_int("hidden_size", hidden_size)
        self.n_layers = positive_int("n_layers", n_layers)
        if pad_idx is not None and not (isinstance(pad_idx, int) and 0 <= pad_idx < vocab_size):
            raise ValueError(
                f"pad_idx must be a token id in [0, {vocab_size}) or None, got {pad_idx!r}"
            )
        self.pad_idx = pad_idx
        self.embedding = nn.Embedding(vocab_size, emb_size, padding_idx=pad_idx)
        with torch.no_grad():
            self.embedding.weight.uniform_(-INIT_RANGE, INIT_RANGE)
            if pad_idx is not None:
                self.embedding.weight[pad_idx] = 0  # padding reads as a vector of zeros
        # the same nn.Embedding, also registered inside its dropout (as 2018's
        # encoder_with_dropout): the state dict lists its weight under both names
        self.embedding_dropout = EmbeddingDropout(self.embedding, dropout_embedding)
        self.input_dropout = LockedDropout(dropout_input)
        # layer l reads sizes[l] numbers per step and writes sizes[l + 1]
        self.sizes = [emb_size] + [hidden_size] * (n_layers - 1) + [emb_size]
        self.rnns = nn.ModuleList(
            WeightDropout(nn.LSTM(n_in, n_out, batch_first=True), dropout_weight)
            for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True)
        )
        self.hidden_dropouts = nn.ModuleList(
            LockedDropout(dropout_hidden) for _ in range(n_layers - 1)
        )
        self.hidden: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def reset(self) -> None:
        """Forget the hidden state: the next call starts from zeros."""
        self.hidden = None

    def _state(
        self, x: torch.Tensor, dtype: torch.dtype
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        batch_size = x.shape[0]
        h0 = None if self.hidden is None else self.hidden[0][0]  # (1, B, H_0)
        if h0 is None or h0.shape[1] != batch_size or h0.device != x.device:
            self.hidden = [
                (
                    x.new_zeros(1, batch_size, n, dtype=dtype),
                    x.new_zeros(1, batch_size, n, dtype=dtype),
                )
                for n in self.sizes[1:]
            ]  # (h, c) per layer, each (1, B, H_l): nn.LSTM's (layers, batch, hidden)
        # (a state kept from a mixed-precision call may be in bfloat16 or float16)
        return [(h.to(dtype), c.to(dtype)) for h, c in self.hidden]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) -> the last layer's outputs (B, T, E); the state moves on T steps."""
        _check_ids(type(self).__name__, x)
        out = self.input_dropout(self.embedding_dropout(x))  # (B, T, E)
        state = self._state(x, out.dtype)
        new_state = []
        for layer, rnn in enumerate(self.rnns):
            out, (h, c) = rnn(out, state[layer])  # (B, T, H_l); h, c (1, B, H_l)
            new_state.append((h.detach(), c.detach()))  # truncated BPTT: keep values, not history
            if layer < self.n_layers - 1:
                out = self.hidden_dropouts[layer](out)
        self.hidden = new_state
        return out  # (B, T, E)


# ----- The language model ------------------------------------------------------------------------


class LinearDecoder(nn.Module):
    """The last LSTM's outputs (B, T, E) -> a score for each word of the vocabulary (B, T, V):
    a :class:`LockedDropout`, then a linear layer. With ``tie_weights`` (the embedding's
    (V, E) weight) the linear layer uses that same parameter as its weight."""

    def __init__(
        self,
        vocab_size: int,
        emb_size: int,
        dropout: float = 0.4,
        tie_weights: nn.Parameter | None = None,
        bias: bool = False,
    ):
        super().__init__()
        self.dropout = LockedDropout(dropout)
        self.linear = nn.Linear(emb_size, vocab_size, bias=bias)  # weight (V, E)
        with torch.no_grad():
            self.linear.weight.uniform_(-INIT_RANGE, INIT_RANGE)
            if bias:
                self.linear.bias.zero_()
        if tie_weights is not None:
            if tuple(tie_weights.shape) != (vocab_size, emb_size):
                raise ValueError(
                    f"tie_weights must be the embedding's (vocab_size, emb_size) = "
                    f"{(vocab_size, emb_size)} weight, got shape {tuple(tie_weights.shape)}"
                )
            self.linear.weight = tie_weights  # one parameter, two uses

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, E) -> (B, T, V)."""
        return self.linear(self.dropout(x))


class LanguageModel(nn.Module):
    """:class:`AWDLSTMEncoder` then :class:`LinearDecoder`: token ids (B, T) -> next-token
    scores (B, T, V). ``reset()`` zeroes the encoder's hidden state.

    With ``keep_activations`` set (by :class:`~course_utils.text.learner.RNNRegularizer`),
    each training call leaves the last LSTM layer's outputs in ``activations``,
    ``(output (B, T, E), None)``, for activation regularisation; otherwise it is None."""

    def __init__(self, encoder: AWDLSTMEncoder, decoder: LinearDecoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.keep_activations = False
        self.activations: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output = self.encoder(x)  # (B, T, E)
        self.activations = (output, None) if self.training and self.keep_activations else None
        return self.decoder(output)  # (B, T, V)

    def reset(self) -> None:
        self.encoder.reset()

    def layer_groups(self) -> list[nn.Module]:
        """fastai 0.7's ``LanguageModel.get_layer_groups``: one group per LSTM layer (with its
        weight dropout), then the embedding and the decoder together, the two ends that face
        the vocabulary (one matrix when tied). ``freeze_to(-1)`` trains that matrix alone,
        as 2018 did when fitting a pretrained model to a new vocabulary."""
        return [*self.encoder.rnns, nn.ModuleList([self.encoder.embedding, self.decoder])]


def language_model(
    vocab_size: int,
    emb_size: int = 400,
    hidden_size: int = 1150,
    n_layers: int = 3,
    pad_idx: int | None = 1,
    dropout_input: float = 0.5,
    dropout_hidden: float = 0.3,
    dropout_embedding: float = 0.1,
    dropout_weight: float = 0.5,
    dropout_output: float = 0.4,
    tie: bool = True,
    bias: bool = False,
) -> LanguageModel:
    """An AWD-LSTM language model (fastai 0.7's ``get_language_model``, the same defaults):
    token ids (B, T) -> next-token scores (B, T, V), the decoder tied to the embedding."""
    encoder = AWDLSTMEncoder(
        vocab_size, emb_size, hidden_size, n_layers, pad_idx,
        dropout_input, dropout_hidden, dropout_embedding, dropout_weight,
    )  # fmt: skip
    tied = encoder.embedding.weight if tie else None
    return LanguageModel(encoder, LinearDecoder(vocab_size, emb_size, dropout_output, tied, bias))


# ----- The classifier ----------------------------------------------------------------------------


class MultiBatchEncoder(AWDLSTMEncoder):
    """Reads whole texts (B, T), padded with ``pad_idx``, and returns the outputs of each text's
    last ``max_len`` tokens with a mask: ``(output (B, T', E), mask (B, T'))``.

    As 2018's ``MultiBatchRNN``: the state starts from zeros for every batch; the text is read
    in windows of ``bptt`` tokens, the state carried (detached) from one window to the next,
    so the gradient flows back at most ``bptt`` steps; only the windows that hold some text's
    last ``max_len`` tokens are kept (for pooling and back-propagation). The others only move
    the state on, and run without gradients, which saves their memory.

    Unlike 2018, padding never reaches the LSTMs. Each row's tokens are first moved to the
    front, keeping their order (the padding goes to the back), so every text starts from a
    zero state at its first real token; the padding then read after a text's end touches only
    positions that ``mask`` marks False. The parameters are those of :class:`AWDLSTMEncoder`,
    so a language model's encoder loads into this one.
    """

    def __init__(self, vocab_size: int, bptt: int = 70, max_len: int = 1400, **kwargs):
        super().__init__(vocab_size, **kwargs)
        if self.pad_idx is None:
            raise ValueError(
                "MultiBatchEncoder needs a pad_idx: the id its batches are padded with"
            )
        self.bptt, self.max_len = positive_int("bptt", bptt), positive_int("max_len", max_len)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_ids(type(self).__name__, x)
        self.reset()
        is_text = x != self.pad_idx  # (B, T)
        # a stable sort of the "is padding" flags moves each row's tokens to the front, in order
        order = torch.sort((~is_text).to(torch.int8), dim=1, stable=True).indices  # (B, T)
        x = x.gather(1, order)  # (B, T): each text from position 0, then its padding
        lengths = is_text.sum(dim=1)  # (B,)
        lengths_cpu = lengths.cpu()  # the one synchronisation: which windows to keep
        n_steps = int(lengths_cpu.max())
        if n_steps == 0:
            raise ValueError(f"every text of this batch is empty (all pad_idx={self.pad_idx})")
        steps = torch.arange(n_steps, device=x.device)  # (T,)
        # position t of row b is pooled if it is one of that text's last max_len tokens
        mask = (steps < lengths[:, None]) & (steps >= lengths[:, None] - self.max_len)  # (B, T)
        outputs, masks = [], []
        for start in range(0, n_steps, self.bptt):
            stop = min(start + self.bptt, n_steps)
            # keep the window if it holds one of some row's last max_len tokens:
            # start < length and stop > length - max_len
            keep = bool(((lengths_cpu > start) & (lengths_cpu - self.max_len < stop)).any())
            with nullcontext() if keep else torch.no_grad():
                out = super().forward(x[:, start:stop])  # (B, stop - start, E)
            if keep:
                outputs.append(out)
                masks.append(mask[:, start:stop])
        return torch.cat(outputs, dim=1), torch.cat(masks, dim=1)  # (B, T', E), (B, T')


def concat_pool(output: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Concat pooling: ``[last, max over time, mean over time]`` of ``output`` (B, T, E) ->
    (B, 3E), over the positions where ``mask`` (B, T) is True (all, if None). ``last`` is the
    output at each row's last True position. A row with no True position pools to zeros."""
    if mask is None:
        mask = output.new_ones(output.shape[:2], dtype=torch.bool)
    if mask.shape != output.shape[:2]:
        raise ValueError(
            f"mask {tuple(mask.shape)} must be output's (B, T) {tuple(output.shape[:2])}"
        )
    batch, steps = mask.shape
    count = mask.sum(dim=1, keepdim=True)  # (B, 1) positions pooled
    has_text = count > 0  # (B, 1)
    positions = torch.arange(steps, device=mask.device)  # (T,)
    last_pos = (positions * mask).amax(dim=1)  # (B,) the last True position (0 if none)
    last = output[torch.arange(batch, device=output.device), last_pos]  # (B, E)
    last = torch.where(has_text, last, 0)
    keep = mask.unsqueeze(-1)  # (B, T, 1)
    max_pool = output.masked_fill(~keep, float("-inf")).amax(dim=1)  # (B, E)
    max_pool = torch.where(has_text, max_pool, 0)
    mean_pool = (output * keep).sum(dim=1) / count.clamp(min=1)  # (B, E)
    return torch.cat([last, max_pool, mean_pool], dim=1)  # (B, 3E)


class _LinearBlock(nn.Module):
    """BatchNorm1d, dropout, linear: (B, n_in) -> (B, n_out) (2018's ``LinearBlock``)."""

    def __init__(self, n_in: int, n_out: int, p: float):
        super().__init__()
        self.bn = nn.BatchNorm1d(n_in)
        self.drop = nn.Dropout(_check_p("dropout", p))
        self.lin = nn.Linear(n_in, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(self.drop(self.bn(x)))


class PoolingLinearClassifier(nn.Module):
    """:func:`concat_pool` of the encoder's outputs, then blocks of BatchNorm1d, dropout and
    linear, with a ReLU between blocks: ``layers=[3 * emb_size, 50, n_classes]`` and
    ``dropouts=[0.4, 0.1]`` (one per block) give (B, 3E) -> (B, 50) -> (B, n_classes)."""

    def __init__(self, layers: Sequence[int], dropouts: Sequence[float]):
        super().__init__()
        layers = [positive_int("layer size", n) for n in layers]
        if len(layers) < 2 or len(dropouts) != len(layers) - 1:
            raise ValueError(
                f"need at least 2 layer sizes and one dropout per block (len(layers) - 1), "
                f"got layers={layers} and dropouts={list(dropouts)}"
            )
        self.n_in = layers[0]
        self.blocks = nn.ModuleList(
            _LinearBlock(n_in, n_out, p)
            for n_in, n_out, p in zip(layers[:-1], layers[1:], dropouts, strict=True)
        )

    def forward(self, output: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, E) outputs and their (B, T) mask -> (B, n_classes) scores."""
        x = concat_pool(output, mask)  # (B, 3E)
        if x.shape[1] != self.n_in:
            raise ValueError(
                f"the pooled outputs have {x.shape[1]} features (3 * emb_size), "
                f"but the first layer expects {self.n_in}"
            )
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < len(self.blocks) - 1:
                x = F.relu(x)
        return x


class TextClassifier(nn.Module):
    """:class:`MultiBatchEncoder` then :class:`PoolingLinearClassifier`: padded token ids
    (B, T) -> class scores (B, n_classes).

    With ``keep_activations`` set, each training call leaves the encoder's kept outputs and
    their mask in ``activations``, ``(output (B, T', E), mask (B, T'))``, for activation
    regularisation; otherwise it is None."""

    def __init__(self, encoder: MultiBatchEncoder, head: PoolingLinearClassifier):
        super().__init__()
        self.encoder, self.head = encoder, head
        self.keep_activations = False
        self.activations: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, mask = self.encoder(x)  # (B, T', E), (B, T')
        self.activations = (output, mask) if self.training and self.keep_activations else None
        return self.head(output, mask)  # (B, n_classes)

    def reset(self) -> None:
        self.encoder.reset()

    def layer_groups(self) -> list[nn.Module]:
        """fastai 0.7's ``TextModel.get_layer_groups`` (``text.py``, lesson 10): the
        embedding, each LSTM layer, the head (``n_layers + 2`` groups), for gradual
        unfreezing from the head down. (Lesson 4's ``nlp.py`` had three: the embedding, all
        the LSTMs, the head.)"""
        return [self.encoder.embedding, *self.encoder.rnns, self.head]


def text_classifier(
    vocab_size: int,
    n_classes: int,
    emb_size: int = 400,
    hidden_size: int = 1150,
    n_layers: int = 3,
    pad_idx: int = 1,
    bptt: int = 70,
    max_len: int = 20 * 70,
    head_sizes: Sequence[int] = (50,),
    head_dropouts: Sequence[float] = (0.4, 0.1),
    dropout_input: float = 0.5,
    dropout_hidden: float = 0.3,
    dropout_embedding: float = 0.1,
    dropout_weight: float = 0.5,
) -> TextClassifier:
    """An AWD-LSTM classifier: padded token ids (B, T) -> class scores (B, n_classes).

    fastai 0.7's ``get_rnn_classifier`` and its defaults, with lesson 10's head and window:
    ``layers=[em_sz*3, 50, c]``, ``drops=[dps[4], 0.1]`` with ``dps[4] = 0.4`` (lesson 10
    then scaled all its dropouts by 0.5), ``max_seq=20*70``. ``head_sizes`` are the hidden
    layers of the head, ``head_dropouts`` one dropout per linear layer."""
    encoder = MultiBatchEncoder(
        vocab_size, bptt=bptt, max_len=max_len, emb_size=emb_size, hidden_size=hidden_size,
        n_layers=n_layers, pad_idx=pad_idx, dropout_input=dropout_input,
        dropout_hidden=dropout_hidden, dropout_embedding=dropout_embedding,
        dropout_weight=dropout_weight,
    )  # fmt: skip
    layers = [3 * emb_size, *head_sizes, positive_int("n_classes", n_classes)]
    return TextClassifier(encoder, PoolingLinearClassifier(layers, head_dropouts))


# ----- From the language model to the classifier -------------------------------------------------


def encoder_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy, on the CPU, of ``model.encoder``'s state dict (a :class:`LanguageModel`'s or a
    :class:`TextClassifier`'s): what the classifier takes from the language model."""
    copies: dict[tuple, torch.Tensor] = {}  # the embedding, listed under two names, copied once
    state = {}
    for name, tensor in model.encoder.state_dict().items():
        key = (tensor.device, tensor.data_ptr(), tensor.dtype, tensor.shape, tensor.stride())
        if key not in copies:
            copies[key] = tensor.detach().to("cpu", copy=True)
        state[name] = copies[key]
    return state


def load_encoder(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load an :func:`encoder_state` into ``model.encoder``. The sizes must match: the same
    vocabulary (same ids), embedding size, hidden size and number of layers."""
    own = model.encoder.state_dict()
    missing, unexpected = sorted(own.keys() - state.keys()), sorted(state.keys() - own.keys())
    if missing or unexpected:
        raise ValueError(
            f"not an encoder state of this architecture: missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}"
        )
    wrong = [
        (k, tuple(state[k].shape), tuple(v.shape))
        for k, v in own.items()
        if state[k].shape != v.shape
    ]
    if wrong:
        name, saved, here = wrong[0]
        raise ValueError(
            f"the saved encoder's {name} is {saved} but this model's is {here}: build the "
            f"model with the language model's vocabulary and sizes ({len(wrong)} tensors differ)"
        )
    model.encoder.load_state_dict(state)
