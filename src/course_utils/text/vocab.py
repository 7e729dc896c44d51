"""A vocabulary: tokens to ids and back (section 4, lesson 4's IMDb language model).

An embedding layer is a table with one row per token, looked up by the token's id, a number
from 0 to ``len(vocab) - 1``. The vocabulary fixes which tokens get a row and which id each
one gets: ``itos`` ("int to string") is the list of tokens, the id being the index, and
``stoi`` ("string to int") the dictionary back.

Not every token gets a row. A corpus of reviews holds hundreds of thousands of different
tokens, most of them seen once or twice (typos, names): the model could learn nothing about
them, and each would cost a row of the embedding and a column of the output layer. So
:meth:`Vocab.build` keeps the ``max_size`` most frequent tokens among those seen at least
``min_count`` times, and every other token becomes ``_unk_`` ("unknown", id 0). How much
of a text that hides is :meth:`Vocab.oov_rate`, the share of its tokens *out of vocabulary*.

The 2018 course (``courses/dl2/imdb.ipynb``, fastai 0.7) built it in three lines::

    itos = [o for o,c in freq.most_common(max_vocab) if c>min_freq]   # max_vocab=60000, min_freq=2
    itos.insert(0, '_pad_')
    itos.insert(0, '_unk_')

and so do we: ``_unk_`` is id 0, ``_pad_`` (the filler that makes the texts of a batch the
same length) id 1, then the tokens from the most frequent down, at most ``max_size`` of them
(60,000: 2018's vocabulary had 60,002 entries). Tokens seen equally often keep the order in
which they first appear (``Counter.most_common`` sorts stably), so the same texts always give
the same ids. 2018's rule ``c > min_freq`` with ``min_freq = 2`` kept the tokens seen 3 times
or more (the notebook's prose says "a minimum frequency of 2"): here that is ``min_count=3``,
the default, and ``min_count`` reads "at least".

The markup tokens of :mod:`.tokenizer` (``xbos``, ``xfld``, ``t_up``, ``tk_rep``,
``tk_wrep``) are kept whenever they occur, however rarely, and count towards ``max_size``:
mapping ``t_up`` to ``_unk_`` in a small corpus would throw away what the rules wrote.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path

import numpy as np

from course_utils.text.tokenizer import BOS, FLD, PAD, SPECIAL_TOKENS, TK_REP, TK_UP, TK_WREP, UNK

__all__ = ["MARKUP_TOKENS", "Vocab"]

UNK_ID, PAD_ID = 0, 1
MARKUP_TOKENS = (BOS, FLD, TK_UP, TK_REP, TK_WREP)  # kept by build whatever their count
SHOWN = 5  # how many offending items an error message lists


class _StringToInt(dict):
    """``stoi``: a dict whose missing keys read as 0, the id of ``_unk_``.

    Unlike 2018's ``collections.defaultdict(lambda: 0, ...)``, looking up an unknown token
    does not add it to the dictionary.
    """

    def __missing__(self, key: str) -> int:
        return UNK_ID


def _check_token_lists(token_lists: Iterable[Sequence[str]]) -> list[Sequence[str]]:
    if isinstance(token_lists, str):
        raise TypeError(
            "token_lists is one str; pass a list of token lists, e.g. "
            "Tokenizer().tokenize_texts(texts)"
        )
    token_lists = list(token_lists)
    for i, tokens in enumerate(token_lists):
        if isinstance(tokens, str):
            raise TypeError(
                f"token_lists[{i}] is a str ({tokens[:30]!r}), not a list of tokens: tokenize "
                f"the texts first (Tokenizer().tokenize_texts(texts))"
            )
    return token_lists


class Vocab:
    """The tokens a model knows, ``itos[i]`` being the token of id ``i``.

    ``itos`` must start with ``_unk_`` and ``_pad_`` and hold each token once. Build one from
    tokenized texts with :meth:`build`, or load one saved with :meth:`save`. ``counts`` is the
    :class:`~collections.Counter` of the tokens it was built from (empty after :meth:`load`).

    ::

        vocab = Vocab.build(tokenizer.tokenize_texts(texts))
        ids = vocab.numericalize(tokens)     # int64 array, unknown tokens -> 0
        vocab.textify(ids)                   # "i t_up loved it ..."
    """

    def __init__(self, itos: Sequence[str], counts: Counter[str] | None = None) -> None:
        itos = list(itos)
        if itos[:2] != [UNK, PAD]:
            raise ValueError(
                f"a vocabulary starts with {UNK!r} (id 0) and {PAD!r} (id 1); this one starts "
                f"with {itos[:2]}"
            )
        not_str = [(i, t) for i, t in enumerate(itos) if not isinstance(t, str)]
        if not_str:
            raise ValueError(f"tokens must be str; (id, token): {not_str[:SHOWN]}")
        stoi = _StringToInt()
        for i, token in enumerate(itos):
            if token in stoi:
                raise ValueError(
                    f"token {token!r} is in the vocabulary twice: ids {stoi[token]} and {i}"
                )
            stoi[token] = i
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = stoi
        self.counts: Counter[str] = Counter() if counts is None else counts

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        max_size: int = 60_000,
        min_count: int = 3,
    ) -> Vocab:
        """The vocabulary of ``token_lists`` (one list of tokens per text).

        ``_unk_`` and ``_pad_``, then at most ``max_size`` tokens seen at least ``min_count``
        times, the most frequent first, ties in order of first appearance; the markup tokens
        (``xbos``, ``t_up``, ...) that occur are kept whatever their count.
        """
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, got {min_count}")
        token_lists = _check_token_lists(token_lists)
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        if not counts:
            what = "no token lists" if not token_lists else f"{len(token_lists)} empty token lists"
            raise ValueError(f"nothing to build a vocabulary from: token_lists holds {what}")
        not_str = [t for t in counts if not isinstance(t, str)]
        if not_str:
            raise ValueError(f"tokens must be str; found {not_str[:SHOWN]}")

        # (token, count) from the most frequent down; ties keep their first appearance's order
        ranked = counts.most_common()
        ordinary = [(t, c) for t, c in ranked if t not in SPECIAL_TOKENS]
        if not ordinary:
            raise ValueError(
                f"token_lists hold only special tokens ({sorted(counts)}): tokenize some text"
            )
        kept = [t for t, c in ordinary if c >= min_count]
        if not kept:
            top, top_count = ordinary[0]
            raise ValueError(
                f"min_count={min_count} leaves no token: the most frequent, {top!r}, occurs "
                f"{top_count} time(s); lower min_count to at most {top_count}"
            )
        markup = {t for t in MARKUP_TOKENS if t in counts}
        keep = markup | set(kept[: max(max_size - len(markup), 0)])
        itos = [UNK, PAD] + [t for t, _ in ranked if t in keep]
        return cls(itos, counts)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.itos[:6])
        more = ", ..." if len(self) > 6 else ""
        return f"Vocab({len(self)} tokens: [{head}{more}])"

    def numericalize(self, tokens: Sequence[str]) -> np.ndarray:
        """The ids of ``tokens``, an int64 array of shape (len(tokens),); unknown tokens -> 0."""
        if isinstance(tokens, str):
            raise TypeError(
                f"tokens is one str ({tokens[:30]!r}); pass a list of tokens "
                f"(Tokenizer().tokenize(text))"
            )
        stoi = self.stoi
        return np.fromiter((stoi.get(t, UNK_ID) for t in tokens), dtype=np.int64, count=len(tokens))

    def tokens(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """The tokens of ``ids`` (a 1-D sequence or array of integers), ``itos[i]`` for each."""
        ids = np.asarray(ids)
        if ids.size == 0:
            return []
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"ids must be integers; got an array of dtype {ids.dtype}")
        if ids.ndim != 1:
            raise ValueError(
                f"ids must be 1-D, one text's ids; got an array of shape {ids.shape}: "
                f"textify each row"
            )
        bad = np.flatnonzero((ids < 0) | (ids >= len(self)))
        if bad.size:
            shown = ", ".join(f"ids[{i}] = {ids[i]}" for i in bad[:SHOWN])
            raise ValueError(
                f"{bad.size} id(s) outside the vocabulary's 0 ... {len(self) - 1}: {shown}"
            )
        itos = self.itos
        return [itos[i] for i in ids.tolist()]

    def textify(self, ids: Sequence[int] | np.ndarray, sep: str = " ") -> str:
        """The tokens of ``ids`` joined by ``sep``: ``"i t_up loved it"``."""
        return sep.join(self.tokens(ids))

    def oov_rate(self, token_lists: Iterable[Sequence[str]]) -> float:
        """The share of the tokens in ``token_lists`` that map to ``_unk_`` (id 0), in [0, 1]."""
        token_lists = _check_token_lists(token_lists)
        stoi = self.stoi
        total = sum(len(tokens) for tokens in token_lists)
        if total == 0:
            raise ValueError("token_lists holds no tokens: the out-of-vocabulary rate of nothing")
        unknown = sum(stoi.get(t, UNK_ID) == UNK_ID for tokens in token_lists for t in tokens)
        return unknown / total

    # ----- Saving: a JSON list of the tokens, itos itself ------------------------------------

    def save(self, path: str | PathLike[str]) -> Path:
        """Write ``itos`` as a JSON list of strings, one token a line; return the path."""
        path = Path(path)
        path.write_text(json.dumps(self.itos, ensure_ascii=False, indent=0) + "\n", "utf-8")
        return path

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Vocab:
        """The vocabulary saved by :meth:`save` at ``path`` (its ``counts`` are not saved)."""
        path = Path(path)
        try:
            itos = json.loads(path.read_text("utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not a JSON file ({err})") from err
        if not isinstance(itos, list):
            raise ValueError(f"{path} holds a JSON {type(itos).__name__}, not a list of tokens")
        try:
            return cls(itos)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err
