"""Writing text with a language model, one token at a time (lessons 4 and 6).

A language model gives, after each token it reads, a score (a *logit*) for every token of
the vocabulary that could come next. To write, :func:`generate` feeds it a *prompt*, turns
the last scores into probabilities, draws the next token from them, feeds that token back
in, and so on. Lesson 4 did this by hand with the IMDB model (always the most likely word:
"i was very impressed . i was very impressed with the acting ."), and lesson 6 with the
character-level RNN.

**Temperature.** The probabilities are ``softmax(logits / temperature)``. A temperature
below 1 sharpens them (the likely tokens get likelier, the text safer and more repetitive),
above 1 flattens them (more surprising, less coherent text). As the temperature goes to 0,
sampling becomes always taking the most likely token: ask for that with ``greedy=True``
(a temperature of 0 would divide by zero, and is refused). ``top_k`` draws only among the
``k`` likeliest tokens. :func:`next_token_probs` gives the probabilities drawn from.
``seed`` makes the draws reproducible: they come from a ``torch.Generator`` of their own,
on the CPU, so the same seed writes the same text on any device, whatever else has used
torch's global random numbers.

**The protocol.** Any model works that

* maps token ids (B, T) to scores (B, T, V), and
* keeps its own state from one call to the next (a recurrent model's hidden state), with
  ``reset()`` to forget it.

So :func:`generate` feeds the prompt once and then only each new token, as lesson 4 did:
:class:`~course_utils.text.models.LanguageModel` and a stateful character RNN both qualify.
A model without ``reset()`` is taken to start fresh anyway. The model is put in eval mode
(no dropout) while writing and back in its mode afterwards; its state is left as the writing
left it.

**The vocabulary** is anything with ``itos``, the list of tokens (id ``i`` is ``itos[i]``),
and, to read a prompt of strings, ``stoi`` (token -> id), as
:class:`~course_utils.text.vocab.Vocab` has. With a prompt of ids, no vocabulary is needed.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["generate", "next_token_probs"]


def _prompt_ids(prompt, vocab) -> list[int]:
    if isinstance(prompt, str):
        raise ValueError(
            "the prompt is a sequence of tokens or ids, not a string: tokenize it first, "
            "e.g. prompt.split()"
        )
    if isinstance(prompt, torch.Tensor):
        prompt = prompt.flatten().tolist()
    prompt = list(prompt)
    if not prompt:
        raise ValueError("the prompt is empty: give the model at least one token to start from")
    if all(isinstance(t, str) for t in prompt):
        stoi = getattr(vocab, "stoi", None)
        if stoi is None:
            raise ValueError("a prompt of strings needs a vocab with stoi (token -> id)")
        try:
            return [int(stoi[t]) for t in prompt]
        except KeyError as e:
            raise ValueError(f"token {e.args[0]!r} is not in the vocabulary") from None
    if all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in prompt):
        return [int(t) for t in prompt]
    raise ValueError(f"the prompt must be all token strings or all integer ids, got {prompt[:5]}")


def _check_temperature(temperature) -> float:
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, numbers.Real)
        or not 0 < temperature < float("inf")
    ):
        raise ValueError(
            f"temperature must be a positive number, got {temperature!r}; "
            "for the most likely token every time, use greedy=True"
        )
    return float(temperature)


def _check_top_k(top_k) -> int | None:
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a positive int or None, got {top_k!r}")
    return top_k


def next_token_probs(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> torch.Tensor:
    """The probabilities :func:`generate` draws from: ``softmax(logits /
    temperature)`` over the last dimension (V), only the ``top_k``
    highest scores kept (ties at the k-th kept too)."""
    temperature, top_k = (
        _check_temperature(temperature),
        _check_top_k(top_k),
    )
    logits = logits.float()
    if top_k is not None and top_k < logits.shape[-1]:
        # (..., 1): the k-th highest
        threshold = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < threshold, float("-inf"))
    return torch.softmax(logits / temperature, dim=-1)


def _next_token(
    logits: torch.Tensor,
    temperature: float,
    top_k: int | None,
    greedy: bool,
    exclude: Sequence[int],
    generator: torch.Generator,
) -> int:
    logits = logits.float().cpu()  # (V,): sampling on the CPU, the same on every device
    if exclude:  # out of place: logits may be a view of the model's own tensors
        logits = logits.index_fill(0, torch.tensor(list(exclude)), float("-inf"))
    if greedy:
        return int(logits.argmax())
    probs = next_token_probs(logits, temperature, top_k)  # (V,)
    return int(torch.multinomial(probs, 1, generator=generator))


@torch.no_grad()
def generate(
    model: nn.Module,
    vocab,
    prompt: Sequence[str] | Sequence[int] | torch.Tensor,
    n_tokens: int = 50,
    temperature: float = 1.0,
    seed: int | None = None,
    top_k: int | None = None,
    greedy: bool = False,
    exclude: Sequence[int] = (),
) -> list[str] | list[int]:
    """Continue ``prompt`` by ``n_tokens`` tokens drawn from ``model``, one at a time.

    Returns the new tokens only: strings if the prompt was strings (read with
    ``vocab.itos``), ids otherwise. ``temperature`` > 0 divides the scores before the
    softmax; ``greedy=True`` takes the most likely token every time (the limit as the
    temperature goes to 0); ``top_k`` samples among the ``k`` likeliest; ``exclude`` lists
    ids never to write (such as ``_unk_`` and ``_pad_``); ``seed`` makes the draws
    reproducible. See the module's docstring for what ``model`` must do.
    """
    if isinstance(n_tokens, bool) or not isinstance(n_tokens, numbers.Integral) or n_tokens < 0:
        raise ValueError(f"n_tokens must be an int >= 0, got {n_tokens!r}")
    if not greedy:
        _check_temperature(temperature)
    _check_top_k(top_k)
    if not isinstance(prompt, (torch.Tensor, str)):
        prompt = list(prompt)
    as_strings = isinstance(prompt, list) and all(isinstance(t, str) for t in prompt)
    ids = _prompt_ids(prompt, vocab)
    itos = getattr(vocab, "itos", None)
    if as_strings and itos is None:
        raise ValueError("a prompt of strings needs a vocab with itos (id -> token)")
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        if hasattr(model, "reset"):
            model.reset()
        logits = model(torch.tensor([ids], device=device))  # (1, T, V)
        new: list[int] = []
        for _ in range(n_tokens):
            token = _next_token(logits[0, -1], temperature, top_k, greedy, exclude, generator)
            new.append(token)
            logits = model(torch.tensor([[token]], device=device))  # (1, 1, V): one step on
    finally:
        model.train(was_training)
    return [itos[i] for i in new] if as_strings else new
