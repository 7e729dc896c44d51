"""The vocabulary of section 4: 2018's itos, ids and back, the out-of-vocabulary rate."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from course_utils.text.tokenizer import BOS, PAD, TK_REP, TK_UP, UNK, Tokenizer
from course_utils.text.vocab import Vocab

# 3 x "the", 2 x "cat", then "sat", "ran", "dog" once each
SMALL = [["the", "cat", "sat"], ["the", "cat", "ran"], ["the", "dog"]]
REVIEWS = [
    "I LOVED this movie!!!! It's a great movie.",
    "This movie was great, I loved it!!!!",
    "Great acting, great music: I LOVED it.",
]


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer()


def test_unk_and_pad_come_first_then_the_most_frequent():
    vocab = Vocab.build(SMALL, min_count=2)
    assert vocab.itos == [UNK, PAD, "the", "cat"]
    assert vocab.stoi == {UNK: 0, PAD: 1, "the": 2, "cat": 3}
    assert len(vocab) == 4 and "cat" in vocab and "dog" not in vocab
    assert vocab.counts == Counter(the=3, cat=2, sat=1, ran=1, dog=1)  # all of them, kept
    assert repr(vocab) == "Vocab(4 tokens: ['_unk_', '_pad_', 'the', 'cat'])"


def test_the_default_min_count_is_2018s_three():
    # 2018: `[o for o,c in freq.most_common(max_vocab) if c>min_freq]` with min_freq=2
    assert Vocab.build(SMALL).itos == [UNK, PAD, "the"]


def test_ties_keep_the_order_of_first_appearance():
    vocab = Vocab.build([["b", "a", "c"], ["a", "b", "c"], ["z", "z", "z"]], min_count=1)
    assert vocab.itos == [UNK, PAD, "z", "b", "a", "c"]  # b, a, c seen twice: first seen first


def test_max_size_keeps_the_most_frequent():
    vocab = Vocab.build(SMALL, max_size=1, min_count=1)
    assert vocab.itos == [UNK, PAD, "the"]  # max_size counts the tokens after _unk_, _pad_


def test_markup_tokens_are_kept_however_rare():
    # the 4, xbos 2, end 2 (xbos seen first), t_up 1
    tokens = [[BOS, "the", "the", "the", TK_UP, "end"], [BOS, "the", "end"]]
    # t_up (once) and xbos (twice) stay, in their places by frequency; "end" is out
    assert Vocab.build(tokens, min_count=3).itos == [UNK, PAD, "the", BOS, TK_UP]
    # they count towards max_size: two markup tokens leave room for max_size - 2 others
    assert Vocab.build(tokens, max_size=4, min_count=1).itos == [UNK, PAD, "the", BOS, "end", TK_UP]
    assert Vocab.build(tokens, max_size=3, min_count=1).itos == [UNK, PAD, "the", BOS, TK_UP]
    assert Vocab.build(tokens, max_size=2, min_count=1).itos == [UNK, PAD, BOS, TK_UP]


def test_unk_and_pad_in_the_texts_are_not_listed_twice():
    vocab = Vocab.build([[UNK, UNK, UNK, "a", PAD]], min_count=1)
    assert vocab.itos == [UNK, PAD, "a"]


def test_stoi_reads_unknown_tokens_as_0_without_growing():
    vocab = Vocab.build(SMALL, min_count=2)
    assert vocab.stoi["zebra"] == 0
    assert "zebra" not in vocab.stoi and len(vocab.stoi) == 4  # 2018's defaultdict grew here


def test_numericalize_and_back():
    vocab = Vocab.build(SMALL, min_count=2)
    ids = vocab.numericalize(["the", "dog", "cat"])
    assert ids.dtype == np.int64 and ids.shape == (3,)
    assert ids.tolist() == [2, 0, 3]
    assert vocab.tokens(ids) == ["the", UNK, "cat"]
    assert vocab.textify(ids) == "the _unk_ cat"
    assert vocab.textify([3, 2], sep="|") == "cat|the"
    assert vocab.numericalize([]).shape == (0,) and vocab.tokens([]) == []


def test_text_to_ids_to_text_round_trip_on_real_reviews(tok):
    token_lists = tok.tokenize_texts(REVIEWS)
    vocab = Vocab.build(token_lists, min_count=1)
    for tokens in token_lists:
        ids = vocab.numericalize(tokens)
        assert 0 not in ids  # every token is in the vocabulary
        assert vocab.tokens(ids) == tokens
        assert vocab.textify(ids) == " ".join(tokens)
    # "great" 4 times (Great, great, great, great), then i, loved, movie, it 3 times each, in
    # the order they first appear
    assert vocab.itos[:7] == [UNK, PAD, "great", "i", "loved", "movie", "it"]
    assert vocab.counts[TK_UP] == 2 and vocab.counts[TK_REP] == 2  # LOVED twice, !!!! twice


def test_oov_rate_on_a_hand_counted_example():
    vocab = Vocab.build(SMALL, min_count=2)  # knows "the" and "cat"
    # 7 tokens; "dog", "sat", "on" and "a" are unknown: 4 / 7
    assert vocab.oov_rate([["the", "dog", "sat", "on", "the", "cat"], ["a"]]) == 4 / 7
    assert vocab.oov_rate([["the"], ["cat", "cat"]]) == 0.0
    assert vocab.oov_rate([[UNK, "the"]]) == 0.5  # a literal _unk_ is unknown too


def test_save_and_load_a_plain_json_list(tmp_path, tok):
    vocab = Vocab.build(tok.tokenize_texts([*REVIEWS, "A\n\nparagraph break, café"]), min_count=1)
    path = vocab.save(tmp_path / "itos.json")
    assert json.loads(path.read_text("utf-8")) == vocab.itos  # no pickle: plain strings
    loaded = Vocab.load(path)
    assert loaded.itos == vocab.itos and loaded.stoi == vocab.stoi
    assert "\n\n" in loaded and "café" in loaded
    assert loaded.counts == Counter()  # not saved


# ----- errors ---------------------------------------------------------------------------------


def test_a_min_count_that_leaves_nothing_names_the_top_count():
    with pytest.raises(
        ValueError, match=r"min_count=4 leaves no token: the most frequent, 'the', occurs 3 time"
    ):
        Vocab.build(SMALL, min_count=4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_size": 0}, r"max_size must be at least 1, got 0"),
        ({"min_count": 0}, r"min_count must be at least 1, got 0"),
    ],
)
def test_sizes_below_one_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Vocab.build(SMALL, **kwargs)


def test_empty_input_is_refused():
    with pytest.raises(ValueError, match=r"nothing to build a vocabulary from: .* no token lists"):
        Vocab.build([])
    with pytest.raises(ValueError, match=r"token_lists holds 2 empty token lists"):
        Vocab.build([[], []])
    with pytest.raises(ValueError, match=r"hold only special tokens"):
        Vocab.build([[UNK, PAD]])
    with pytest.raises(ValueError, match=r"token_lists holds no tokens"):
        Vocab.build(SMALL).oov_rate([[]])


def test_strings_where_token_lists_belong_are_refused():
    with pytest.raises(TypeError, match=r"token_lists is one str"):
        Vocab.build("the cat sat")
    with pytest.raises(TypeError, match=r"token_lists\[1\] is a str \('the dog'\), not a list"):
        Vocab.build([["the"], "the dog"])
    with pytest.raises(ValueError, match=r"tokens must be str; found \[3\]"):
        Vocab.build([["the", 3]])
    with pytest.raises(TypeError, match=r"tokens is one str"):
        Vocab.build(SMALL).numericalize("the cat")


def test_ids_outside_the_vocabulary_are_named():
    vocab = Vocab.build(SMALL, min_count=2)  # ids 0 ... 3
    outside = r"2 id\(s\) outside the vocabulary's 0 \.\.\. 3: ids\[1\] = 4, ids\[2\] = -1"
    with pytest.raises(ValueError, match=outside):
        vocab.tokens([2, 4, -1])
    with pytest.raises(TypeError, match=r"ids must be integers; got an array of dtype float64"):
        vocab.textify([1.0, 2.0])
    with pytest.raises(ValueError, match=r"ids must be 1-D.*shape \(2, 1\)"):
        vocab.textify(np.array([[1], [2]]))


def test_an_itos_must_start_with_unk_and_pad_and_hold_each_token_once():
    with pytest.raises(ValueError, match=r"starts with '_unk_' \(id 0\) and '_pad_' .*\['a'\]"):
        Vocab(["a"])
    with pytest.raises(ValueError, match=r"token 'a' is in the vocabulary twice: ids 2 and 3"):
        Vocab([UNK, PAD, "a", "a"])


def test_load_names_the_file_that_is_not_a_vocabulary(tmp_path):
    path = tmp_path / "itos.json"
    path.write_text('{"a": 1}', "utf-8")
    with pytest.raises(ValueError, match=r"itos\.json holds a JSON dict, not a list of tokens"):
        Vocab.load(path)
    path.write_text('["_pad_", "_unk_"]', "utf-8")
    with pytest.raises(ValueError, match=r"itos\.json: a vocabulary starts with '_unk_'"):
        Vocab.load(path)
    path.write_text("not json", "utf-8")
    with pytest.raises(ValueError, match=r"itos\.json is not a JSON file"):
        Vocab.load(path)
