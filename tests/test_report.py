"""glue: the values a page's prose pastes are recorded as myst-nb reads them, without myst-nb."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from course_utils.report import GLUE_PREFIX, Markdown, glue


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
