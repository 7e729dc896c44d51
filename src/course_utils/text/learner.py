"""Learners for lesson 4's two text models: a language model, then a classifier on its encoder.

Lesson 4 (IMDB) in a few lines, in this library's terms::

    learn = language_model_learner(lm_dls, len(vocab.itos))  # lesson 4's sizes and dropouts
    learn.fit(4, 3e-3, cycle_len=1, cycle_mult=2)  # 2018: learner.fit(3e-3, 4, wds=1e-6, ...)
    learn.save_encoder("lm_enc")

    clas = text_classifier_learner(clas_dls, len(vocab.itos), 2, path=learn.path)
    clas.load_encoder("lm_enc")
    clas.freeze_to(-1)  # the head alone first
    clas.fit(1, slice(1e-4 / 2, 1e-2 / 2))  # 2018: lrs = np.array([1e-4, 1e-3, 1e-2]) / 2
    clas.unfreeze()
    clas.fit(1, slice(1e-4, 1e-2), cycle_len=1)

What 2018 (``lesson4-imdb.ipynb``, fastai 0.7's ``RNN_Learner``) set, and this module
does by default:

* **Adam with less momentum**, ``opt_fn = partial(optim.Adam, betas=(0.7, 0.99))``:
  "large amounts of momentum don't work well with these kinds of RNN models"
  (:data:`RNN_ADAM`).
* **Gradient clipping**, ``learner.clip=0.3`` for the language model, ``m3.clip=25.`` for the
  classifier (:class:`~course_utils.callbacks.GradientClipping`).
* **Activation regularisation**, ``reg_fn = partial(seq2seq_reg, alpha=2, beta=1)``
  (:class:`RNNRegularizer`): AR adds ``alpha * mean(h**2)``, keeping the last LSTM layer's
  outputs small; TAR (temporal AR) adds ``beta * mean((h[t+1] - h[t])**2)``, keeping them
  from jumping from one step to the next. Both only change the gradient: the losses
  reported are the plain cross-entropy, comparable with validation.
* Lesson 4's sizes and dropouts: ``em_sz=200, nh=500, nl=3``; the language model
  ``dropouti=0.05, dropout=0.05, wdrop=0.1, dropoute=0.02, dropouth=0.05`` and ``wds=1e-6``;
  the classifier ``dropout=0.1, dropouti=0.4, wdrop=0.5, dropoute=0.05, dropouth=0.3`` and
  ``1500`` tokens per review (``max_len``; lesson 4's fastai read a review's *first* 1500
  tokens, the later fastai 0.7 and this library pool over the *last*).

Also the **hidden state** is reset at the start of every epoch's training and validation
(:class:`ResetState`), **layer groups** come from the models (``lr=slice(...)`` spreads
rates over them), and ``freeze_to`` takes negative indices as 2018's did:
``freeze_to(-1)`` trains the last group alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

from course_utils.callbacks import Callback, GradientClipping
from course_utils.learner import Learner
from course_utils.metrics import accuracy
from course_utils.text.models import (
    encoder_state,
    language_model,
    load_encoder,
    text_classifier,
)

__all__ = [
    "RNN_ADAM",
    "RNNRegularizer",
    "ResetState",
    "TextLearner",
    "activation_penalty",
    "language_model_learner",
    "lm_accuracy",
    "lm_loss",
    "text_classifier_learner",
]

RNN_ADAM = partial(torch.optim.Adam, betas=(0.7, 0.99))  # lesson 4's opt_fn


def _flat(pred: torch.Tensor, targets: torch.Tensor, who: str) -> tuple[torch.Tensor, torch.Tensor]:
    if pred.ndim != 3 or targets.shape != pred.shape[:2]:
        raise ValueError(
            f"{who} expects predictions (B, T, V) and next-token targets (B, T), "
            f"got {tuple(pred.shape)} and {tuple(targets.shape)}"
        )
    return pred.flatten(0, 1), targets.flatten()  # (B*T, V), (B*T,)


def lm_loss(pred: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of next-token scores (B, T, V) against the next tokens (B, T), averaged
    over all B*T positions. ``exp`` of it is the *perplexity*."""
    return F.cross_entropy(*_flat(pred, targets, "lm_loss"))


def lm_accuracy(pred: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """How often the highest-scoring next token is the right one, over all B*T positions
    (lesson 10 added ``learner.metrics = [accuracy]`` to the language model)."""
    pred, targets = _flat(pred, targets, "lm_accuracy")
    return (pred.argmax(dim=1) == targets).float().mean()


def activation_penalty(
    output: torch.Tensor, mask: torch.Tensor | None, alpha: float, beta: float
) -> torch.Tensor:
    """AR + TAR of the last LSTM layer's outputs (B, T, E), over the positions where ``mask``
    (B, T) is True (all of them if None): ``alpha * mean(h_t ** 2) + beta *
    mean((h_t+1 - h_t) ** 2)``, each mean over the positions (and pairs of consecutive
    positions) counted and the E features."""
    if mask is None:
        mask = output.new_ones(output.shape[:2], dtype=torch.bool)
    keep = mask.unsqueeze(-1)  # (B, T, 1)
    n_features = output.shape[-1]
    penalty = output.new_zeros(())
    if alpha:
        squares = (output.pow(2) * keep).sum()
        penalty = penalty + alpha * squares / (keep.sum() * n_features).clamp(min=1)
    if beta and output.shape[1] > 1:
        pairs = (mask[:, 1:] & mask[:, :-1]).unsqueeze(-1)  # (B, T-1, 1): both steps counted
        steps = (output[:, 1:] - output[:, :-1]).pow(2) * pairs  # (B, T-1, E)
        penalty = penalty + beta * steps.sum() / (pairs.sum() * n_features).clamp(min=1)
    return penalty


class ResetState(Callback):
    """Zeroes the model's hidden state (``model.reset()``) before each epoch's training and
    before each validation: the stream starts again from its beginning."""

    def before_train(self) -> None:
        self.learn.model.reset()

    def before_validate(self) -> None:
        self.learn.model.reset()


class RNNRegularizer(Callback):
    """Activation regularisation (AR, ``alpha``) and temporal activation regularisation (TAR,
    ``beta``) of the last LSTM layer's outputs, added to the training loss (2018's
    ``seq2seq_reg``). The model gives them: during the fit its ``keep_activations`` is set,
    and each training call leaves ``activations = (output (B, T, E), mask (B, T) or None)``.

    2018 computed both on the encoder's last output, without the decoder's dropout, as here
    (Merity et al. compute AR after it). After the backward pass ``learn.loss`` is set back
    to the plain loss, so that the training loss recorded is the cross-entropy alone.
    """

    def __init__(self, alpha: float = 2.0, beta: float = 1.0):
        if alpha < 0 or beta < 0:
            raise ValueError(f"alpha and beta must be >= 0, got alpha={alpha}, beta={beta}")
        self.alpha, self.beta = float(alpha), float(beta)
        self._plain_loss: torch.Tensor | None = None

    def before_fit(self) -> None:
        if hasattr(self.learn.model, "keep_activations"):
            self.learn.model.keep_activations = True

    def after_loss(self) -> None:
        model = self.learn.model
        if not hasattr(model, "keep_activations"):
            raise ValueError(
                "RNNRegularizer needs a model that keeps its activations (a LanguageModel "
                f"or TextClassifier), got {type(model).__name__}"
            )
        if not self.learn.training or model.activations is None:
            return
        output, mask = model.activations
        self._plain_loss = self.learn.loss
        penalty = activation_penalty(output.float(), mask, self.alpha, self.beta)
        self.learn.loss = self.learn.loss + penalty

    def after_backward(self) -> None:
        if self._plain_loss is not None:
            self.learn.loss, self._plain_loss = self._plain_loss, None
        self.learn.model.activations = None  # done with them: let their memory go

    def after_fit(self) -> None:
        if hasattr(self.learn.model, "keep_activations"):
            self.learn.model.keep_activations, self.learn.model.activations = False, None


class TextLearner(Learner):
    """A :class:`~course_utils.learner.Learner` for :class:`~course_utils.text.models.LanguageModel`
    and :class:`~course_utils.text.models.TextClassifier`: ``freeze_to`` takes negative
    indices, and the encoder can be saved from one model and loaded into the other."""

    def freeze_to(self, n: int) -> None:
        """As :meth:`Learner.freeze_to`, and as in 2018 ``n`` may count from the end:
        ``freeze_to(-1)`` trains the last layer group alone."""
        if isinstance(n, int) and -len(self.layer_groups) <= n < 0:
            n += len(self.layer_groups)
        super().freeze_to(n)

    def save_encoder(self, name: str) -> Path:
        """Save the model's encoder (embedding and LSTMs) to ``path/models/name.pth``."""
        file = self._file(name)
        file.parent.mkdir(parents=True, exist_ok=True)
        torch.save(encoder_state(self.model), file)
        return file

    def load_encoder(self, name: str) -> None:
        """Load an encoder saved by :meth:`save_encoder` (from a language model, say) into this
        model's encoder. The vocabulary and the sizes must be the same."""
        file = self._file(name)
        if not file.is_file():
            raise FileNotFoundError(f"no saved encoder {file}")
        load_encoder(self.model, torch.load(file, map_location="cpu", weights_only=True))


def _text_learner(dls, model, clip, alpha, beta, cbs, **learner_kwargs) -> TextLearner:
    extra: list[Callback] = [ResetState()]
    if clip is not None:
        extra.append(GradientClipping(clip))
    if alpha or beta:
        extra.append(RNNRegularizer(alpha, beta))
    return TextLearner(dls, model, cbs=[*extra, *cbs], **learner_kwargs)


def language_model_learner(
    dls,
    vocab_size: int,
    emb_size: int = 200,
    hidden_size: int = 500,
    n_layers: int = 3,
    pad_idx: int = 1,
    dropout_input: float = 0.05,
    dropout_hidden: float = 0.05,
    dropout_embedding: float = 0.02,
    dropout_weight: float = 0.1,
    dropout_output: float = 0.05,
    tie: bool = True,
    clip: float | None = 0.3,
    alpha: float = 2.0,
    beta: float = 1.0,
    opt_func: Callable = RNN_ADAM,
    metrics: Sequence[Callable] = (lm_accuracy,),
    wd: float = 1e-6,
    cbs: Iterable[Callback] = (),
    **learner_kwargs,
) -> TextLearner:
    """A :class:`TextLearner` for an AWD-LSTM language model with lesson 4's sizes, dropouts,
    optimiser, clipping, AR/TAR and weight decay (``wds=1e-6``), the loss :func:`lm_loss`.

    ``dls`` yields (x (B, T), y (B, T)) windows of a token stream, y one token ahead
    (:func:`course_utils.text.loaders.language_model_loaders`). Layer groups: one per LSTM
    layer, then the embedding with the decoder. ``clip=None`` or ``alpha=beta=0`` turn
    clipping or AR/TAR off; other keyword arguments go to the Learner (``path``, ``device``...).
    """
    model = language_model(
        vocab_size, emb_size, hidden_size, n_layers, pad_idx, dropout_input, dropout_hidden,
        dropout_embedding, dropout_weight, dropout_output, tie=tie,
    )  # fmt: skip
    return _text_learner(
        dls, model, clip, alpha, beta, cbs, loss_func=lm_loss, opt_func=opt_func,
        metrics=metrics, wd=wd, **learner_kwargs,
    )  # fmt: skip


def text_classifier_learner(
    dls,
    vocab_size: int,
    n_classes: int | None = None,
    emb_size: int = 200,
    hidden_size: int = 500,
    n_layers: int = 3,
    pad_idx: int = 1,
    bptt: int = 70,
    max_len: int = 1500,
    head_sizes: Sequence[int] = (50,),
    head_dropouts: Sequence[float] = (0.1, 0.1),
    dropout_input: float = 0.4,
    dropout_hidden: float = 0.3,
    dropout_embedding: float = 0.05,
    dropout_weight: float = 0.5,
    clip: float | None = 25.0,
    alpha: float = 2.0,
    beta: float = 1.0,
    opt_func: Callable = RNN_ADAM,
    metrics: Sequence[Callable] = (accuracy,),
    cbs: Iterable[Callback] = (),
    **learner_kwargs,
) -> TextLearner:
    """A :class:`TextLearner` for an AWD-LSTM classifier with lesson 4's sizes and dropouts
    (the same sizes as :func:`language_model_learner`, so its encoder loads), Adam
    ``betas=(0.7, 0.99)``, ``clip=25`` and AR/TAR; cross-entropy on the class scores.

    ``dls`` yields (x (B, T) padded with ``pad_idx``, y (B,)) batches
    (:func:`course_utils.text.loaders.pad_collate`); ``n_classes`` defaults to ``dls.c``.
    Layer groups: the embedding, each LSTM layer, the head. Not frozen: call
    ``load_encoder(...)`` then ``freeze_to(-1)``, as lesson 4 did.
    """
    if n_classes is None:
        n_classes = getattr(dls, "c", None)
        if n_classes is None:
            raise ValueError("pass n_classes: these DataLoaders do not know their classes")
    model = text_classifier(
        vocab_size, n_classes, emb_size, hidden_size, n_layers, pad_idx, bptt, max_len,
        head_sizes, head_dropouts, dropout_input, dropout_hidden, dropout_embedding,
        dropout_weight,
    )  # fmt: skip
    return _text_learner(
        dls, model, clip, alpha, beta, cbs, opt_func=opt_func, metrics=metrics,
        **learner_kwargs,
    )  # fmt: skip
