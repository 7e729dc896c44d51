"""From raw text to tokens: 2018's rules, then spaCy (section 4, lesson 4's IMDb reviews).

A network reads numbers, not text. The first step is to cut a text into *tokens*, the units
that will each get an id in the vocabulary (:mod:`.vocab`) and a vector in the embedding:
mostly words, but also punctuation, and the pieces that spaCy splits from words ("isn't" is
``is`` + ``n't``, "it's" is ``it`` + ``'s``), so that ``n't`` means the same after every verb.

Lesson 4 of the 2018 course (``courses/dl1/lesson4-imdb.ipynb``) tokenized IMDb reviews with
spaCy through torchtext (``data.Field(lower=True, tokenize=spacy_tok)``). fastai 0.7's
``fastai/text.py``, which replaced torchtext in the course's text notebooks from spring 2018
(``courses/dl2/imdb.ipynb``), added a few rules around spaCy and *special tokens*, made-up words
that carry information the rules took out of the text. This module follows those rules and
spellings, step by step, in :func:`apply_rules`:

1. :func:`fixup`, the notebook's clean-up of web-scraped text: HTML entities (``&#39;`` -> ``'``,
   ``&amp;`` -> ``&``, ...), line breaks written as ``<br />`` -> a newline, WikiText's
   ``@-@`` and ``@.@`` -> ``-`` and ``.``, runs of spaces -> one.
2. :func:`replace_char_repeats`: a character repeated 4 times or more becomes
   ``tk_rep <n> <c>``: ``"!!!!"`` -> ``tk_rep 4 !``. The model learns what "many !" means
   once, instead of a token for each length.
3. :func:`replace_word_repeats`: a word repeated 4 times or more becomes ``tk_wrep <n> <w>``.
4. :func:`mark_caps`: a word of 3 or more letters all in capitals is lower-cased and preceded
   by ``t_up`` (``"LOVED"`` -> ``t_up loved``); then everything is lower-cased. ``The`` and
   ``the`` share one token (one vector to learn, not two), and shouting is still visible.
5. Spaces around ``/`` and ``#`` (so "action/comedy" is three tokens), runs of spaces -> one.

Then spaCy's rule-based tokenizer splits the text (:class:`Tokenizer`; ``spacy.blank("en")``,
the English tokenizer without any trained model, so nothing is downloaded). Newlines survive
as tokens of their own (``"\\n\\n"``, a paragraph break). :func:`format_texts` marks the start
of each text with ``xbos`` and each field with ``xfld <i>`` (2018's ``get_texts``): in a
language model the texts are read one after the other, and ``xbos`` tells it a new one begins.

Where this differs from 2018, on purpose: ``&amp;`` becomes ``&`` (2018 replaced ``amp;`` and
left ``&&``); ``<br>`` in any spelling becomes a newline before the ``/`` rule runs (2018 spaced
out the slash of ``<br/>`` first, and the tag survived as ``< br / >``); ``tk_wrep``'s count is
the number of copies even when a word is repeated without spaces (``ha,ha,ha,ha,``).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path

__all__ = [
    "BOS",
    "FLD",
    "PAD",
    "SPECIAL_TOKENS",
    "TK_REP",
    "TK_UP",
    "TK_WREP",
    "UNK",
    "Tokenizer",
    "apply_rules",
    "check_text",
    "fixup",
    "format_texts",
    "mark_caps",
    "read_text_file",
    "replace_char_repeats",
    "replace_word_repeats",
]

# ----- Special tokens: 2018's spellings, each a word no real text contains ------------------
BOS = "xbos"  # beginning of a text (courses/dl2/imdb.ipynb: "beginning-of-sentence tag")
FLD = "xfld"  # beginning of a field, followed by its number: xfld 1 <title> xfld 2 <review>
TK_UP = "t_up"  # the next word was written in capitals
TK_REP = "tk_rep"  # tk_rep <n> <c>: the character c, n times
TK_WREP = "tk_wrep"  # tk_wrep <n> <w>: the word w, n times
UNK = "_unk_"  # a token outside the vocabulary (id 0)
PAD = "_pad_"  # padding, to make texts of a batch the same length (id 1)
SPECIAL_TOKENS = (UNK, PAD, BOS, FLD, TK_UP, TK_REP, TK_WREP)

# ----- 1. fixup: artefacts of scraped HTML and of WikiText ---------------------------------
# The entities 2018's fixup replaced, written there without their '&' ('#39;' -> "'"): here
# matched with or without it. Note quot; -> ' (a single quote), as in 2018.
_ENTITIES = {"#39": "'", "amp": "&", "#146": "'", "nbsp": " ", "#36": "$", "quot": "'"}
_RE_ENTITY = re.compile(r"&?(#39|amp|#146|nbsp|#36|quot);")
_RE_BR = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)  # <br>, <br/>, <br />, <BR >
_FIXUPS = (  # plain replacements, in 2018's order
    ("\\n", "\n"),  # a backslash and an n, written out: a newline
    ('\\"', '"'),
    ("<unk>", "u_n"),  # WikiText's unknown-word marker, so it is not read as our _unk_
    (" @.@ ", "."),  # WikiText: "1 @.@ 5" is "1.5"
    (" @-@ ", "-"),  # WikiText: "state @-@ of @-@ the @-@ art"
    ("\\", " \\ "),
)
_RE_SPACES = re.compile(r" {2,}")

# ----- 2.-5. the rules of fastai 0.7's Tokenizer.proc_text ----------------------------------
# A non-space character, then 3 or more copies of it: 4 or more in all (2018's (\S)(\1{3,}),
# written so that Python's regex engine runs it twice as fast).
_RE_CHAR_REP = re.compile(r"(\S)\1\1\1+")
# A word and what follows it up to the next word ("great "), then 3 or more copies of both.
_RE_WORD_REP = re.compile(r"(\b\w+\W+)(\1{3,})")
# A whole word (a maximal run of \w) of 3 or more characters, none of them a-z: a candidate
# for str.isupper(). Checking only these is 2018's `for s in re.findall(r'\w+|\W+', ss)` loop
# with the same result, without a Python call for every word.
_RE_CAPS = re.compile(r"(?<!\w)[^\Wa-z]{3,}(?!\w)")
_RE_SLASH_HASH = re.compile(r"([/#])")


def fixup(text: str) -> str:
    """2018's ``fixup``: HTML entities, ``<br />`` line breaks and WikiText's ``@-@`` undone.

    ``"It&#39;s <br /><br />great"`` -> ``"It's \\n\\ngreat"``. The known entities are replaced
    with or without their ``&`` (``&amp;`` and ``amp;`` both give ``&``), then any other entity
    is decoded by :func:`html.unescape` (``&eacute;`` -> ``é``), and runs of spaces become one.
    """
    # Each regular expression runs only where it can match: `in` scans the text in C, much
    # faster than a regex trying a match at every character (see benchmarks/bench_tokenize.py)
    if "<" in text:
        text = _RE_BR.sub("\n", text)
    if ";" in text:
        text = _RE_ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)
    for old, new in _FIXUPS:
        text = text.replace(old, new)
    text = html.unescape(text)
    return _RE_SPACES.sub(" ", text) if "  " in text else text


def replace_char_repeats(text: str) -> str:
    """A character repeated 4 times or more -> ``tk_rep <n> <c>``: ``"no!!!!"`` ->
    ``"no tk_rep 4 ! "``. Any non-space character counts, letters and digits too
    (``"sooooo"`` -> ``"s tk_rep 5 o "``; ``"sooo"``, three, is left alone)."""
    return _RE_CHAR_REP.sub(lambda m: f" {TK_REP} {len(m.group(0))} {m.group(1)} ", text)


def replace_word_repeats(text: str) -> str:
    """A word repeated 4 times or more -> ``tk_wrep <n> <w>``: ``"very very very very good"``
    -> ``" tk_wrep 4 very  good"`` (:func:`apply_rules` collapses the spaces).

    As in 2018, a copy is the word *with what follows it* up to the next word (``"very "``), so
    four copies need the fourth to be followed by the same separator: ``"very very very very"``
    at the very end of a text, or ``"very very very very."``, are left alone.
    """

    def repl(m: re.Match[str]) -> str:
        copy = m.group(1)  # "very " (the word and its separator)
        return f" {TK_WREP} {len(m.group(0)) // len(copy)} {copy} "

    return _RE_WORD_REP.sub(repl, text)


def _up(m: re.Match[str]) -> str:
    word = m.group(0)
    # isupper(): every cased character is a capital and there is at least one ("1ST" is,
    # "2018" is not)
    return f" {TK_UP} {word}" if word.isupper() else word


def mark_caps(text: str) -> str:
    """Words of 3 or more characters all in capitals get ``t_up`` in front; then all is
    lower-cased: ``"I LOVED it, OK"`` -> ``"i  t_up loved it, ok"``. Short words ("I", "OK",
    "TV") are only lower-cased: too often capitals for other reasons than emphasis."""
    return _RE_CAPS.sub(_up, text).lower()


def apply_rules(text: str) -> str:
    """All the rules, in 2018's order, on one raw text: what spaCy is given to split.

    :func:`fixup`, :func:`replace_char_repeats`, :func:`replace_word_repeats`,
    :func:`mark_caps`, spaces around ``/`` and ``#``, runs of spaces -> one, and no space at
    either end (the rules add some: ``"THE END"`` -> ``" t_up the t_up end"``).
    """
    text = fixup(text)
    text = replace_char_repeats(text)
    text = replace_word_repeats(text)
    text = mark_caps(text)
    if "/" in text or "#" in text:
        text = _RE_SLASH_HASH.sub(r" \1 ", text)
    if "  " in text:
        text = _RE_SPACES.sub(" ", text)
    return text.strip(" ")  # spaCy would make a space at either end a token " " of its own


# ----- Checking what comes in --------------------------------------------------------------


def _excerpt(text: str, at: int, width: int = 20) -> str:
    return repr(text[max(at - width, 0) : at + width])


def check_text(text: object, where: str = "the text") -> None:
    """Raise a clear error if ``text`` can not be tokenized; ``where`` names it in the message.

    A text must be a ``str`` (not bytes: decode them first), hold something other than
    whitespace, and show no sign of having been decoded with the wrong encoding: no U+FFFD
    replacement character (what ``errors="replace"`` puts where bytes did not decode) and no
    lone surrogate (what ``errors="surrogateescape"`` does), which would not encode back to UTF-8.
    """
    if not isinstance(text, str):
        if isinstance(text, bytes | bytearray):
            raise TypeError(
                f"{where} is bytes, not str: decode it first with the encoding it was written "
                f"in, e.g. data.decode('utf-8') (or 'latin-1', 'cp1252'), or read files with "
                f"read_text_file(path, encoding=...)"
            )
        missing = isinstance(text, float) and math.isnan(text)
        hint = " (a missing value? drop those rows first)" if missing else ""
        raise TypeError(f"{where} is a {type(text).__name__} ({text!r}), not a str{hint}")
    if not text or text.isspace():
        raise ValueError(
            f"{where} is empty or only whitespace ({text[:20]!r}): there is nothing to "
            f"tokenize; drop it first"
        )
    bad = text.find("\ufffd")
    if bad >= 0:
        raise ValueError(
            f"{where} contains U+FFFD, the replacement character, at character {bad} "
            f"(in {_excerpt(text, bad)}): it looks like it was decoded with the wrong encoding "
            f"(or with errors='replace'); decode the original bytes with their real encoding"
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValueError(
                f"{where} fails a UTF-8 round trip: character {err.start} is "
                f"{text[err.start]!r}, a lone surrogate (in {_excerpt(text, err.start)}): it "
                f"looks like it was decoded with the wrong encoding (with "
                f"errors='surrogateescape'); decode the original bytes with their real encoding"
            ) from None


def read_text_file(path: str | PathLike[str], encoding: str = "utf-8") -> str:
    """The text of a file; a byte that does not decode is an error naming the file and where.

    2018's ``get_texts`` read each review with ``open(..., encoding='utf-8')``; a file in
    another encoding then fails with Python's terse UnicodeDecodeError. Here the ValueError
    names the file, the encoding, the byte offset and the bytes, and suggests what to try.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        near = data[max(err.start - 20, 0) : err.end + 20]
        raise ValueError(
            f"{path} is not valid {encoding}: byte(s) {data[err.start : err.end].hex(' ')} at "
            f"byte offset {err.start} ({err.reason}), near {near!r}. If the file was written "
            f"in another encoding, pass it: read_text_file(path, encoding='latin-1') or 'cp1252'"
        ) from err


def format_texts(texts: Iterable[str | Sequence[str]]) -> list[str]:
    """2018's ``get_texts`` markup: ``"\\nxbos xfld 1 <field 1> xfld 2 <field 2> ..."``.

    Each item of ``texts`` is one text: a ``str`` (one field) or a tuple or list of strings,
    its fields (a title and a review, say: ``zip(df.title, df.review)``). Each field is
    checked with :func:`check_text`. The leading newline is 2018's too; spaCy keeps it as a
    token, so a text's tokens start ``["\\n", "xbos", "xfld", "1", ...]``.
    """
    out = []
    for i, item in enumerate(texts):
        fields = (item,) if not isinstance(item, list | tuple) else item
        if not fields:
            raise ValueError(f"text {i} has no fields (an empty {type(item).__name__})")
        parts = []
        for j, field in enumerate(fields, start=1):
            check_text(field, f"text {i}" if len(fields) == 1 else f"text {i}, field {j}")
            parts.append(f"{FLD} {j} {field}")
        out.append(f"\n{BOS} " + " ".join(parts))
    return out


# ----- spaCy ---------------------------------------------------------------------------------


class Tokenizer:
    """2018's rules (:func:`apply_rules`) then spaCy's tokenizer for ``lang``.

    ``spacy.blank(lang)`` holds the language's tokenizer rules (exceptions such as "don't"
    -> ``do`` + ``n't``, prefixes, suffixes, infixes) and no trained model. The special
    tokens are registered as exceptions, so each stays one token (``_unk_`` would otherwise
    be split at its underscores).

    ::

        tok = Tokenizer()
        tok.tokenize("I LOVED it!!!!")          # ['i', 't_up', 'loved', 'it', 'tk_rep', '4', '!']
        tok.tokenize_texts(format_texts(reviews))
    """

    def __init__(self, lang: str = "en") -> None:
        import spacy  # here, so that importing course_utils.text costs no spaCy
        from spacy.symbols import ORTH

        self.lang = lang
        self.nlp = spacy.blank(lang)
        for token in SPECIAL_TOKENS:
            self.nlp.tokenizer.add_special_case(token, [{ORTH: token}])

    def __repr__(self) -> str:
        return f"Tokenizer(lang={self.lang!r})"

    def tokenize(self, text: str) -> list[str]:
        """The tokens of one text, after :func:`check_text` and :func:`apply_rules`."""
        check_text(text)
        return [t.text for t in self.nlp.tokenizer(apply_rules(text))]

    def tokenize_texts(self, texts: Iterable[str], batch_size: int = 1000) -> list[list[str]]:
        """The tokens of each text, in order; an error names the index of the bad text.

        The texts are checked and rewritten by the rules one by one, in Python, as spaCy's
        ``tokenizer.pipe`` asks for them in batches of ``batch_size``.
        """
        if isinstance(texts, str):
            raise TypeError(
                "texts is one str; pass a list of texts (or use tokenize for a single one)"
            )

        def prepared() -> Iterable[str]:
            for i, text in enumerate(texts):
                check_text(text, f"text {i}")
                yield apply_rules(text)

        return [
            [t.text for t in doc]
            for doc in self.nlp.tokenizer.pipe(prepared(), batch_size=batch_size)
        ]
