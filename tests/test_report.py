"""glue: the values a page's prose pastes are recorded as myst-nb reads them, without myst-nb."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from course_utils.report import GLUE_PREFIX, LINE_WIDTH, Markdown, fit, glue, say


@pytest.fixture
def shell():
    return InteractiveShell.instance()


def test_glue_records_a_hidden_output_named_for_myst_nb(shell):
    with capture_output() as captured:
        assert glue("head_accuracy", 0.875) == 0.875
    [output] = captured.outputs
    assert output.data == {GLUE_PREFIX + "text/plain": "0.875"}
    assert output.metadata["scrapbook"] == {"name": "head_accuracy", "mime_prefix": GLUE_PREFIX}


def test_glued_markdown_is_pasted_as_markdown(shell):
    with capture_output() as captured:
        glue("verdict", Markdown("the plain run has the **lower** loss"))
    [output] = captured.outputs
    assert output.data[GLUE_PREFIX + "text/markdown"] == "the plain run has the **lower** loss"


def test_numpy_scalars_are_recorded_as_plain_numbers(shell):
    np = pytest.importorskip("numpy")
    value = np.float64(0.5759535)
    with capture_output() as captured:
        assert glue("score", value) is value  # the caller keeps its NumPy value
        glue("count", np.int64(7641))
    score, count = captured.outputs
    # "np.float64(0.5759535)" would not format under {glue:text}`score:.3f`
    assert score.data == {GLUE_PREFIX + "text/plain": "0.5759535"}
    assert count.data == {GLUE_PREFIX + "text/plain": "7641"}


def test_glue_can_also_show_the_value(shell):
    with capture_output() as captured:
        glue("shown", 3, display=True)
    [output] = captured.outputs
    assert output.data == {"text/plain": "3"} and output.metadata["scrapbook"]["mime_prefix"] == ""


@pytest.mark.parametrize("name", ["two words", "", "1st", None])
def test_a_glue_name_must_be_an_identifier(name):
    with pytest.raises(ValueError, match="Python identifier"):
        glue(name, 1)


# --- printouts that fit a page's code block --------------------------------------------


def test_fit_breaks_long_lines_at_spaces_outside_nested_brackets():
    line = "      (0): Conv2d(1, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)"
    assert fit(line).split("\n") == [
        "      (0): Conv2d(1, 16, kernel_size=(3, 3), stride=(2, 2),",
        "        padding=(1, 1), bias=False)",
    ]


def test_fit_keeps_every_character_and_short_lines():
    text = "short line\n" + " ".join(f"word{i}" for i in range(40)) + "\n  indented"
    lines = fit(text).split("\n")
    assert all(len(line) <= LINE_WIDTH for line in lines)
    assert lines[0] == "short line" and lines[-1] == "  indented"
    assert " ".join(fit(text).split()) == " ".join(text.split())


def test_fit_leaves_a_word_longer_than_the_width_whole():
    assert fit("x" * 100) == "x" * 100
    assert fit("a " + "x" * 100, width=20) == "a\n  " + "x" * 100


def test_say_prints_like_print_wrapped(capsys):
    say("loss:", 0.5, "words " * 20)
    printed = capsys.readouterr().out
    assert printed.startswith("loss: 0.5 words")
    assert max(len(line) for line in printed.splitlines()) <= LINE_WIDTH
    assert " ".join(printed.split()) == " ".join(("loss: 0.5 " + "words " * 20).split())


def test_fit_keeps_each_pair_of_a_long_list_whole():
    words = "suspend individuals pan ararat importantly productions scare uma illustrates"
    words += " disguised pedigree discover taps tim relief nolan plink puerile chill"
    pairs = [(word, 5 - i // 5) for i, word in enumerate(words.split())]  # most_common's
    lines = fit(str(pairs)).split("\n")
    assert len(lines) > 2 and all(len(line) <= LINE_WIDTH for line in lines)
    # continuation lines know they are inside the list: no break inside a pair
    assert not [line for line in lines if line.rstrip().endswith("',")]
