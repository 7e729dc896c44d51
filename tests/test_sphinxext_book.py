"""Fixture books built by the real tools: figures, provenance, failures, the cache."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from helpers import (
    BIN,
    REPO,
    lazy_scripts,
    notebook_page,
    run,
    sphinx_build,
    write_sphinx_book,
)

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

MATHS_PAGE = r"""# Maths

The mean squared error {math}`L = \frac{1}{n}\sum_i (\hat y_i - y_i)^2`, and its gradient:

```{math}
\frac{\partial L}{\partial a} = \frac{2}{n} \sum_i e_i x_i.
```
"""

# A trace type outside the book's plotly.js bundle, only in an animation frame.
SURFACE_CELL = """
import plotly.graph_objects as go

frame = go.Frame(name="z", data=[go.Surface(z=[[0, 1], [1, 0]])])
go.Figure(data=[go.Scatter(x=[0, 1], y=[0, 1])], frames=[frame]).update_layout(title="Surface")
"""


@pytest.fixture(scope="module")
def figure_book(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("figure_book")
    index = "# Fixture book\n\n```{toctree}\nfigures\nplain\nsurface\nmaths\n```\n"
    pages = {
        "index": index,
        "maths": MATHS_PAGE,
        "figures": notebook_page("Figures", FIGURE_CELL, "print(6 * 7)"),
        "plain": notebook_page("Plain", "print('no figure here')"),
        "surface": notebook_page("Surface", SURFACE_CELL),
    }
    write_sphinx_book(root, pages)
    result = sphinx_build(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.warnings == []
    return result.outdir


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
    html = (figure_book / "figures.html").read_text(encoding="utf-8")
    scripts = [s.get("src", "") for s in soup(figure_book / "figures.html").select("script")]
    # plotly.js is no <script> of the page: the lazy loader adds it when a figure comes near.
    # Scatter traces only: the page gets the course bundle, not the full one.
    (plotly,) = lazy_scripts(html)
    assert plotly["src"].startswith("_static/plotly-course.min.js?v=")
    assert plotly | {"src": ""} == {
        "src": "",
        "id": "cu-plotly-js",
        "selector": "figure.cu-plotly",
        "first": True,
    }
    assert not any("plotly" in src and "bundles/" not in src for src in scripts)
    assert not any("cdn" in src or src.startswith("http") for src in scripts)
    plain = (figure_book / "plain.html").read_text(encoding="utf-8")
    assert lazy_scripts(plain) == []
    assert "plotly" not in plain
    for bundle in ("plotly.min.js", "plotly-course.min.js"):
        assert (figure_book / "_static" / bundle).stat().st_size > 1_000_000


def test_a_trace_outside_the_course_bundle_gets_the_full_plotly_js(figure_book):
    (plotly,) = lazy_scripts((figure_book / "surface.html").read_text(encoding="utf-8"))
    assert plotly["src"].startswith("_static/plotly.min.js")


def test_maths_loads_the_sites_own_mathjax_when_a_formula_comes_near(figure_book):
    html = (figure_book / "maths.html").read_text(encoding="utf-8")
    (mathjax,) = lazy_scripts(html)
    assert mathjax["src"].startswith("_static/mathjax/course-tex-chtml.js?v=")
    assert (mathjax["selector"], mathjax["first"]) == (".math", False)
    assert (figure_book / "_static" / "mathjax" / "course-tex-chtml.js").stat().st_size > 500_000
    sources = [tag.get("src", "") for tag in soup(figure_book / "maths.html").select("script")]
    assert not any("mathjax" in src for src in sources)


def test_pages_load_few_files_and_nothing_unused(figure_book):
    """page_assets, icons and bundles: one stylesheet, a script bundle or two, no icon script,
    no search index, inline SVG icons, and every file a page names is in the site."""
    for name in ("index", "figures", "plain", "maths"):
        page = soup(figure_book / f"{name}.html")
        stylesheets = page.select('link[rel="stylesheet"]')
        assert len(stylesheets) == 1, name
        sources = [s["src"] for s in page.select("script[src]")]
        assert not any(
            word in src
            for src in sources
            for word in ("fontawesome", "searchindex", "searchtools", "thebe", "design-tabs")
        ), sources
        assert len(sources) <= 3, sources  # one synchronous and one deferred bundle (+ toggles)
        for element in [*stylesheets, *page.select("script[src]")]:
            url = element.get("href") or element["src"]
            assert (figure_book / url.split("?")[0]).is_file(), url
            for member in element.get("data-course-bundle", "").split():
                assert (figure_book / "_static" / member).is_file(), member
        assert not page.select('i[class*="fa-"], span[class*="fa-solid"]'), name
        assert page.select("svg.cu-icon path[d]"), name
        assert not page.select('link[rel="preload"][as="script"]'), name


def test_provenance_notice_and_footer(figure_book):
    page = soup(figure_book / "figures.html")
    notice = page.select_one(".cu-provenance-notice")
    sentence = notice.select_one("p.cu-provenance-summary").get_text()
    assert re.fullmatch(
        r"This page ran on a CPU \(\d+ cores\) in the quick build and uses "
        r"no dataset\.",
        sentence,
    ), sentence
    more = notice.select_one("details.cu-provenance-details")
    assert not more.has_attr("open") and "Profile: quick" in more.get_text()
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


FIXTURE_LIBRARY = {
    "__init__.py": '"""A library for the cache tests: a imports b; c stands alone."""\n',
    "a.py": "from .b import VALUE as B_VALUE\n\nVALUE = 'a+' + B_VALUE\n",
    "b.py": "VALUE = 'b-first'\n",
    "c.py": "VALUE = 'c'\n",
}
STAMP_CELL = """
import time
{imports}
print(f"value={{{value}}} stamp={{time.time_ns()}}")
"""


def stamp_cell(imports: str, value: str) -> str:
    return STAMP_CELL.format(imports=imports, value=value)


def test_each_page_re_executes_when_the_code_it_runs_changes_and_only_then(tmp_path):
    """The cache keys each page on its cells and the library modules it imports.

    Four builds of one book: nothing changed, a static file changed, a module changed
    (only its importers run again), a page's prose changed (served from the cache, with
    its outputs in the published notebook).
    """
    lib = tmp_path / "lib" / "fixturelib"
    lib.mkdir(parents=True)
    for name, text in FIXTURE_LIBRARY.items():
        (lib / name).write_text(text)
    pages = {
        "index": "# Book\n\n```{toctree}\nuses_a\nuses_c\nplain\n```\n",
        # uses_a imports fixturelib.a, which imports fixturelib.b: it runs b too
        "uses_a": notebook_page("Uses a", stamp_cell("import fixturelib.a", "fixturelib.a.VALUE")),
        "uses_c": notebook_page("Uses c", stamp_cell("from fixturelib import c", "c.VALUE")),
        "plain": notebook_page("Plain", stamp_cell("", "'plain'")),
    }
    root = write_sphinx_book(
        tmp_path / "book",
        pages,
        'course_execution_dependencies = ["fixturelib"]\nhtml_static_path = ["static"]',
    )
    (root / "static").mkdir()
    (root / "static" / "extra.css").write_text("body { margin: 0; }\n")
    env = {"PYTHONPATH": os.pathsep.join([str(lib.parent), os.environ.get("PYTHONPATH", "")])}

    def build() -> dict[str, str]:
        result = sphinx_build(root, env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.warnings == []
        printed = {}
        for page in ("uses_a", "uses_c", "plain"):
            text = (root / "_build" / "html" / f"{page}.html").read_text()
            printed[page] = re.search(r"value=\S+ stamp=\d+", text).group(0)
            # the published notebook ("download .ipynb") is the executed one, every time
            for folder in (
                root / "_build" / "html" / "_sources",
                root / "_build" / "jupyter_execute",
            ):
                notebook = json.loads((folder / f"{page}.ipynb").read_text())
                outputs = [
                    o for c in notebook["cells"] if c["cell_type"] == "code" for o in c["outputs"]
                ]
                assert any(printed[page] in "".join(o.get("text", "")) for o in outputs), folder
        return printed

    first = build()
    assert first["uses_a"].startswith("value=a+b-first")
    assert build() == first  # nothing changed: every page's cached outputs are reused

    (root / "static" / "extra.css").write_text("body { margin: 0; } /* edited */\n")
    assert build() == first  # a static file is no code that a page runs

    (lib / "b.py").write_text("VALUE = 'b-second'\n")  # imported by a, so by uses_a only
    second = build()
    assert second["uses_a"].startswith("value=a+b-second") and second["uses_a"] != first["uses_a"]
    assert second["uses_c"] == first["uses_c"] and second["plain"] == first["plain"]

    uses_c = root / "uses_c.md"  # a prose-only edit: read again, served from the cache
    uses_c.write_text(uses_c.read_text().replace("# Uses c\n", "# Uses c\n\nOne more sentence.\n"))
    third = build()
    assert third == second
    assert "One more sentence." in (root / "_build" / "html" / "uses_c.html").read_text()


TIMED_CELL = """
import os, time
start = time.time()
time.sleep(3)
print(f"start={start:.3f} end={time.time():.3f} threads={os.environ.get('OMP_NUM_THREADS')}")
"""


def timed_book(root: Path, failing: bool = False) -> Path:
    pages = {
        "index": "# Book\n\n```{toctree}\nfirst\nsecond\n```\n",
        "first": notebook_page("First", TIMED_CELL),
        "second": notebook_page("Second", TIMED_CELL + ("\n1 / 0" if failing else "")),
    }
    return write_sphinx_book(root, pages, "nb_execution_show_tb = True")  # as _config.yml


def page_intervals(root: Path) -> dict[str, tuple[float, float, str]]:
    intervals = {}
    for page in ("first", "second"):
        text = (root / "_build" / "html" / f"{page}.html").read_text()
        start, end, threads = re.search(r"start=(\S+) end=(\S+) threads=(\w+)", text).groups()
        intervals[page] = (float(start), float(end), threads)
    return intervals


def test_pages_execute_two_at_a_time_and_force_runs_them_again(tmp_path):
    root = timed_book(tmp_path)
    env = {"COURSE_EXECUTION_JOBS": "2", "OMP_NUM_THREADS": ""}
    result = sphinx_build(root, {**env, "COURSE_EXECUTION": "force"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "executing 2 pages, 2 at a time" in result.stdout
    first = page_intervals(root)
    (a_start, a_end, threads), (b_start, b_end, _) = first["first"], first["second"]
    assert a_start < b_end and b_start < a_end  # the two pages ran at the same time
    cpus = len(os.sched_getaffinity(0))
    assert threads == str(max(1, cpus // 2))  # each kernel got its share of the threads
    # the cache serves them now; forced, both run again
    assert sphinx_build(root, env).returncode == 0 and page_intervals(root) == first
    result = sphinx_build(root, {**env, "COURSE_EXECUTION": "force"})
    assert result.returncode == 0, result.stdout + result.stderr
    again = page_intervals(root)
    assert all(again[page][0] > first[page][1] for page in first)


def test_one_job_leaves_execution_to_myst_nb(tmp_path):
    root = timed_book(tmp_path)
    result = sphinx_build(root, {"COURSE_EXECUTION_JOBS": "1", "COURSE_EXECUTION": "force"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "at a time" not in result.stdout
    intervals = page_intervals(root)
    (a_start, a_end, _), (b_start, b_end, _) = intervals["first"], intervals["second"]
    assert a_end <= b_start or b_end <= a_start  # one after the other


def test_a_page_failing_in_parallel_fails_the_build_with_its_traceback(tmp_path):
    root = timed_book(tmp_path, failing=True)
    result = sphinx_build(root, {"COURSE_EXECUTION_JOBS": "2"})
    assert result.returncode != 0
    assert "second: failed; myst-nb runs it again" in result.stdout
    assert "ZeroDivisionError" in result.stdout + result.stderr
    # the page that succeeded is cached: once the other is mended, only that one runs
    second = root / "second.md"
    second.write_text(second.read_text().replace("\n1 / 0", ""))
    result = sphinx_build(root, {"COURSE_EXECUTION_JOBS": "2"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "executing 1 page, 2 at a time" in result.stdout


def test_a_bad_job_count_is_named(tmp_path):
    root = timed_book(tmp_path)
    result = sphinx_build(root, {"COURSE_EXECUTION_JOBS": "two"})
    assert result.returncode != 0
    assert "COURSE_EXECUTION_JOBS='two' must be a whole number" in result.stderr
