"""The tokenizer of section 4: 2018's rules and special tokens, spaCy, and clear errors."""

from __future__ import annotations

import re

import pytest
from helpers import load_benchmark

from course_utils.text.tokenizer import (
    BOS,
    FLD,
    PAD,
    TK_REP,
    TK_UP,
    TK_WREP,
    UNK,
    Tokenizer,
    apply_rules,
    check_text,
    fixup,
    format_texts,
    mark_caps,
    read_text_file,
    replace_char_repeats,
    replace_word_repeats,
)

REVIEW = "I LOVED this movie!!!! Sooo good <br /><br />It's great great great great"


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer()  # spacy.blank("en"): half a second, once for the module


def test_the_special_tokens_keep_2018s_spellings():
    assert (BOS, FLD, TK_UP, TK_REP, TK_WREP) == ("xbos", "xfld", "t_up", "tk_rep", "tk_wrep")
    assert (UNK, PAD) == ("_unk_", "_pad_")


def test_a_review_through_every_rule(tok):
    assert tok.tokenize(REVIEW) == [
        "i", TK_UP, "loved", "this", "movie", TK_REP, "4", "!",  # capitals, then "!!!!"
        "sooo", "good",  # three o's: not a repetition
        "\n\n",  # <br /><br />: a paragraph break, kept as a token
        "it", "'s",  # spaCy splits the clitic
        "great", "great", "great", "great",  # the fourth copy has no separator after it
    ]  # fmt: skip


# ----- each rule on its own --------------------------------------------------------------------


def test_fixup_undoes_html_and_wikitext_artefacts():
    assert fixup("It&#39;s <br /><br />great") == "It's \n\ngreat"
    assert fixup("It#39;s") == "It's"  # IMDb's entities without their '&' too
    assert fixup("Tom &amp; Jerry, Tom amp; Jerry") == "Tom & Jerry, Tom & Jerry"
    assert fixup("say &quot;hi&quot; for #36;5") == "say 'hi' for $5"  # quot; -> ' as in 2018
    assert fixup("a<br>b<BR/>c< br / >d") == "a\nb\nc\nd"  # any spelling of the tag
    assert fixup("state @-@ of @-@ the @-@ art, 1 @.@ 5") == "state-of-the-art, 1.5"
    assert fixup("caf&eacute;&nbsp;  crème") == "café crème"  # html.unescape, spaces collapsed
    assert fixup(r"a \"quote\" \n") == 'a "quote" \n'  # escapes written out in the file
    assert fixup("<unk>") == "u_n"  # WikiText's marker, not our _unk_


def test_a_character_repeated_four_times_or_more():
    assert replace_char_repeats("no!!!!") == f"no {TK_REP} 4 ! "
    assert replace_char_repeats("sooooo") == f"s {TK_REP} 5 o "
    assert replace_char_repeats("sooo ...") == "sooo ..."  # three: left alone
    assert replace_char_repeats("1000000") == f"1 {TK_REP} 6 0 "  # digits too, as in 2018


def test_a_word_repeated_four_times_or_more():
    # the copy keeps its separator, and the rule adds spaces around: apply_rules tidies them
    assert replace_word_repeats("very very very very good") == f" {TK_WREP} 4 very  good"
    assert replace_word_repeats("great great great great great") == f" {TK_WREP} 4 great  great"
    # a copy is the word with its separator: the count is right without spaces too
    assert replace_word_repeats("ha,ha,ha,ha, no") == f" {TK_WREP} 4 ha,  no"
    # 2018's regex: the fourth copy needs the same separator after it
    assert replace_word_repeats("very very very very.") == "very very very very."
    assert replace_word_repeats("very very very good") == "very very very good"


def _do_caps_2018(s: str) -> str:
    """fastai 0.7's ``Tokenizer.do_caps``, restated: a reference to compare with."""
    pieces = re.findall(r"\w+|\W+", s)
    return "".join(
        " t_up " + p.lower() if p.isupper() and len(p) > 2 else p.lower() for p in pieces
    )


@pytest.mark.parametrize(
    "text",
    [
        "I LOVED it, OK?",
        "THE BEST MOVIE EVER MADE",
        "USA and the UK on TV in 1999: 1ST PLACE",
        "ÉTÉ À PARIS, naïve CAFÉ",  # capitals outside ASCII
        "x_Y_Z ABC_def AB_CD_EF __init__",  # underscores are word characters
        "no capitals here",
    ],
)
def test_mark_caps_gives_what_2018s_do_caps_gave(text):
    assert mark_caps(text) == _do_caps_2018(text)


def test_mark_caps_marks_words_of_three_capitals_or_more():
    assert mark_caps("I LOVED it, OK") == f"i  {TK_UP} loved it, ok"
    assert mark_caps("Hello WORLD") == f"hello  {TK_UP} world"


def test_apply_rules_in_2018s_order():
    # the repetitions are found before the capitals are lower-cased, and spaces tidied last
    assert (
        apply_rules("WOW!!!! action/comedy #1") == f"{TK_UP} wow {TK_REP} 4 ! action / comedy # 1"
    )
    assert apply_rules("BAD BAD BAD BAD film") == f"{TK_WREP} 4 {TK_UP} bad film"


# ----- spaCy, special tokens, several texts ---------------------------------------------------


def test_special_tokens_stay_single_tokens(tok):
    assert tok.tokenize("it was bad!!!!") == ["it", "was", "bad", TK_REP, "4", "!"]
    text = f"{BOS} {FLD} 1 {UNK} {PAD} {TK_WREP} 4 {TK_UP}"
    assert tok.tokenize(text) == [BOS, FLD, "1", UNK, PAD, TK_WREP, "4", TK_UP]


def test_format_texts_marks_texts_and_fields_as_in_2018():
    assert format_texts(["Great film", ("Title", "Body")]) == [
        f"\n{BOS} {FLD} 1 Great film",
        f"\n{BOS} {FLD} 1 Title {FLD} 2 Body",
    ]


def test_a_formatted_text_starts_with_a_newline_then_xbos(tok):
    [tokens] = tok.tokenize_texts(format_texts([("A TITLE", "so good!!!!")]))
    assert tokens == [
        "\n", BOS, FLD, "1", "a", TK_UP, "title",
        FLD, "2", "so", "good", TK_REP, "4", "!",
    ]  # fmt: skip


def test_tokenize_texts_is_tokenize_on_each(tok):
    texts = [REVIEW, "A / B", "Hello\n\nWORLD", "one"] * 3
    assert tok.tokenize_texts(texts, batch_size=2) == [tok.tokenize(t) for t in texts]
    assert tok.tokenize_texts(iter(texts[:2])) == [tok.tokenize(t) for t in texts[:2]]
    assert repr(tok) == "Tokenizer(lang='en')"


# ----- errors ---------------------------------------------------------------------------------


def test_bytes_are_refused_with_a_hint_to_decode(tok):
    with pytest.raises(TypeError, match=r"text 1 is bytes, not str: decode it first.*'utf-8'"):
        tok.tokenize_texts(["fine", b"caf\xc3\xa9"])
    with pytest.raises(TypeError, match=r"the text is bytes.*read_text_file"):
        tok.tokenize(b"hello")


def test_a_missing_value_is_named(tok):
    with pytest.raises(TypeError, match=r"text 2 is a float \(nan\), not a str \(a missing value"):
        tok.tokenize_texts(["a", "b", float("nan")])
    with pytest.raises(TypeError, match=r"text 0 is a int \(3\), not a str$"):
        check_text(3, "text 0")


def test_a_replacement_character_means_a_wrong_encoding(tok):
    broken = b"caf\xe9 au lait".decode("utf-8", errors="replace")  # latin-1 bytes read as UTF-8
    with pytest.raises(
        ValueError, match=r"text 1 contains U\+FFFD.* at character 3 .*decoded with the wrong enc"
    ):
        tok.tokenize_texts(["fine", broken])


def test_a_lone_surrogate_fails_the_utf8_round_trip(tok):
    broken = b"caf\xe9".decode("utf-8", errors="surrogateescape")
    with pytest.raises(
        ValueError, match=r"the text fails a UTF-8 round trip: character 3 is '\\udce9'.*wrong enc"
    ):
        tok.tokenize(broken)


@pytest.mark.parametrize("blank", ["", "   ", "\n\t "])
def test_an_empty_text_is_named_by_its_index(tok, blank):
    with pytest.raises(ValueError, match=r"text 2 is empty or only whitespace"):
        tok.tokenize_texts(["a", "b", blank])


def test_one_string_is_not_a_list_of_texts(tok):
    with pytest.raises(TypeError, match=r"texts is one str; pass a list of texts"):
        tok.tokenize_texts("a whole review")


def test_format_texts_names_the_bad_text_and_field():
    with pytest.raises(ValueError, match=r"text 1, field 2 is empty"):
        format_texts(["ok", ("title", " ")])
    with pytest.raises(ValueError, match=r"text 0 has no fields \(an empty tuple\)"):
        format_texts([()])
    with pytest.raises(TypeError, match=r"text 0 is bytes"):
        format_texts([b"x"])


def test_read_text_file_names_the_file_the_encoding_and_the_offset(tmp_path):
    path = tmp_path / "review.txt"
    path.write_bytes("Café crème".encode("latin-1"))  # é is byte 0xe9 at offset 3
    with pytest.raises(
        ValueError,
        match=r"review\.txt is not valid utf-8: byte\(s\) e9 at byte offset 3 .*encoding='latin-1'",
    ) as info:
        read_text_file(path)
    assert isinstance(info.value.__cause__, UnicodeDecodeError)
    assert read_text_file(path, encoding="latin-1") == "Café crème"
    path.write_text("Café crème", encoding="utf-8")
    assert read_text_file(str(path)) == "Café crème"


# ----- the benchmark script --------------------------------------------------------------------


def test_tokenize_benchmark_runs_on_a_few_texts(capsys):
    from course_utils.datasets.quick import QuickSourceUnavailable

    bench = load_benchmark("bench_tokenize")
    try:
        result = bench.main(["--quick", "--texts", "50"])
    except QuickSourceUnavailable as err:
        pytest.skip(str(err))
    assert result["ratio"] > 0 and result["ours_texts_per_s"] > 0
    assert "ours / spacy" in capsys.readouterr().out
