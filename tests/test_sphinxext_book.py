"""Fixture books built by the real tools: figures, provenance, failures, the cache."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from bookfixtures import (
    BIN,
    REPO,
    notebook_page,
    run,
    sphinx_build,
    sphinx_warnings,
    write_sphinx_book,
)
from bs4 import BeautifulSoup

pytestmark = pytest.mark.slow

FIGURE_CELL = """
import plotly.graph_objects as go

frames = [go.Frame(name=str(k), data=[go.Scatter(x=[0, 1, 2], y=[0, k, 2 * k])]) for k in range(3)]
steps = [
    {"method": "animate", "label": str(k), "args": [[str(k)], {"mode": "immediate"}]}
    for k in range(3)
]
fig = go.Figure(data=[go.Scatter(x=[0, 1, 2], y=[0, 0, 0])], frames=frames)
fig.update_layout(title="Slope", sliders=[{"steps": steps}])
fig
"""

# A trace type outside plotly.js's cartesian bundle, only in an animation frame.
SURFACE_CELL = """
import plotly.graph_objects as go

frame = go.Frame(name="z", data=[go.Surface(z=[[0, 1], [1, 0]])])
go.Figure(data=[go.Scatter(x=[0, 1], y=[0, 1])], frames=[frame]).update_layout(title="Surface")
"""


@pytest.fixture(scope="module")
def figure_book(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("figure_book")
    index = "# Fixture book\n\n```{toctree}\nfigures\nplain\nsurface\n```\n"
    pages = {
        "index": index,
        "figures": notebook_page("Figures", FIGURE_CELL, "print(6 * 7)"),
        "plain": notebook_page("Plain", "print('no figure here')"),
        "surface": notebook_page("Surface", SURFACE_CELL),
    }
    write_sphinx_book(root, pages)
    result = sphinx_build(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sphinx_warnings(result.stderr) == []
    return root / "_build" / "html"


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_figure_is_embedded_with_frames_and_sliders(figure_book):
    page = soup(figure_book / "figures.html")
    figures = page.select("figure.cu-plotly")
    assert len(figures) == 1
    spec = json.loads(figures[0].select_one("script.cu-plotly-data").string)
    assert [frame["name"] for frame in spec["frames"]] == ["0", "1", "2"]
    assert len(spec["layout"]["sliders"][0]["steps"]) == 3
    assert figures[0]["aria-label"] == "Slope"


def test_plotly_js_is_local_and_only_on_pages_with_figures(figure_book):
    scripts = [s.get("src", "") for s in soup(figure_book / "figures.html").select("script")]
    # Scatter traces only: the page gets the cartesian bundle, not the full one.
    assert any(src.startswith("_static/plotly-cartesian.min.js") for src in scripts)
    assert not any(src.startswith("_static/plotly.min.js") for src in scripts)
    assert not any("cdn" in src or src.startswith("http") for src in scripts)
    plain_scripts = [s.get("src", "") for s in soup(figure_book / "plain.html").select("script")]
    assert not any("plotly" in src for src in plain_scripts)
    for bundle in ("plotly.min.js", "plotly-cartesian.min.js"):
        assert (figure_book / "_static" / bundle).stat().st_size > 1_000_000


def test_a_trace_outside_the_cartesian_bundle_gets_the_full_plotly_js(figure_book):
    scripts = [s.get("src", "") for s in soup(figure_book / "surface.html").select("script")]
    assert any(src.startswith("_static/plotly.min.js") for src in scripts)
    assert not any("plotly-cartesian" in src for src in scripts)


def test_provenance_notice_and_footer(figure_book):
    page = soup(figure_book / "figures.html")
    notice = page.select_one(".cu-provenance-notice")
    assert "quick profile" in notice.get_text()
    # The notice sits right under the page title.
    assert notice.find_previous_sibling("h1") is not None
    footer = page.select_one(".cu-provenance").get_text(" ", strip=True)
    for field in ("Profile", "Device", "course_utils", "torch", "Page run time", "Built"):
        assert field in footer
    runtime = float(re.search(r"Page run time\s*:?\s*([\d.]+) s", footer).group(1))
    assert runtime > 0


def test_launch_notebooks_and_buttons(figure_book):
    page = soup(figure_book / "figures.html")
    colab = page.find("a", href=re.compile(r"^https://colab\.research\.google\.com/"))
    assert colab["href"].endswith("/github/example/course/blob/launch/figures.ipynb")
    binder = page.find("a", href=re.compile(r"^https://mybinder\.org/"))
    assert binder["href"].endswith("/v2/gh/example/course/launch?urlpath=tree/figures.ipynb")
    notebook = json.loads((figure_book / "_launch" / "figures.ipynb").read_text())
    sources = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert "google.colab" in sources[0] and "git+https://github.com/example/course@" in sources[0]
    assert sources[1].startswith("import plotly.graph_objects as go")
    requirements = (figure_book / "_launch" / ".binder" / "requirements.txt").read_text()
    assert "torch==2.14.1+cpu" in requirements
    assert re.search(r"course_utils @ git\+https://github.com/example/course@\S+", requirements)
    # "Download .ipynb" gives the executed notebook.
    executed = json.loads((figure_book / "_sources" / "figures.ipynb").read_text())
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert any("42" in "".join(o.get("text", "")) for o in outputs)


def test_a_page_without_provenance_fails_the_build(tmp_path):
    pages = {
        "index": "# Book\n\n```{toctree}\nbare\n```\n",
        "bare": notebook_page("Bare", "print(1)", provenance=False),
    }
    result = sphinx_build(write_sphinx_book(tmp_path, pages))
    assert result.returncode != 0
    assert "bare: it has no provenance report" in result.stderr


def test_a_failing_cell_fails_the_jupyter_book_build(tmp_path):
    """Through `jupyter-book build` with the book's own execute settings."""
    (tmp_path / "_config.yml").write_text((REPO / "_config.yml").read_text())
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n- file: broken\n")
    (tmp_path / "index.md").write_text("# Book\n")
    (tmp_path / "broken.md").write_text(notebook_page("Broken", "x = 1\n1 / (x - 1)"))
    (tmp_path / ".binder").mkdir()
    (tmp_path / ".binder" / "requirements.txt").write_text("numpy\n")
    result = run(
        [str(BIN / "jupyter-book"), "build", ".", "--warningiserror", "--keep-going"],
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "ZeroDivisionError" in output


def test_library_change_re_executes_pages(tmp_path):
    """The cache keys on the library: editing it re-runs the page; no edit, no re-run."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "fixturelib.py").write_text("VALUE = 'first'\n")
    cell = """
    import time
    import fixturelib
    print(f"value={fixturelib.VALUE} stamp={time.time_ns()}")
    """
    pages = {
        "index": "# Book\n\n```{toctree}\nuses_lib\n```\n",
        "uses_lib": notebook_page("Uses the library", textwrap.dedent(cell)),
    }
    root = write_sphinx_book(
        tmp_path / "book", pages, 'course_execution_dependencies = ["fixturelib"]'
    )
    import os

    env = {"PYTHONPATH": os.pathsep.join([str(lib), os.environ.get("PYTHONPATH", "")])}

    def printed() -> str:
        result = sphinx_build(root, env)
        assert result.returncode == 0, result.stdout + result.stderr
        text = (root / "_build" / "html" / "uses_lib.html").read_text()
        return re.search(r"value=\w+ stamp=\d+", text).group(0)

    first = printed()
    assert first.startswith("value=first")
    assert printed() == first  # nothing changed: the cached outputs are reused
    (lib / "fixturelib.py").write_text("VALUE = 'second'\n")
    assert printed().startswith("value=second")
