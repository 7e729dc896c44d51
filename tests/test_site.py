"""Tests of the built book (``make book`` first; ``make test`` does both)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from helpers import REPO

from course_book.common import toc_docnames as book_toc
from course_utils.provenance import MIME_TYPE as PROVENANCE_MIME
from course_utils.provenance import summary

pytestmark = pytest.mark.site

PLOTLY_MIME = "application/vnd.plotly.v1+json"
MAX_PAGE_BYTES = 2_500_000
MAX_FIGURE_JSON_BYTES = 1_000_000


def toc_docnames() -> list[str]:
    """Every page of the table of contents, root first."""
    return book_toc(REPO)


def notebook_docnames() -> list[str]:
    """Pages that are notebooks: MyST markdown with a kernelspec in the front matter."""
    names = []
    for name in toc_docnames():
        text = (REPO / f"{name}.md").read_text()
        if text.startswith("---") and "kernelspec:" in text.split("---")[1]:
            names.append(name)
    return names


@cache
def page(site: Path, docname: str) -> BeautifulSoup:
    return BeautifulSoup((site / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")


def executed_notebook(site: Path, docname: str) -> dict:
    """The executed notebook that "download .ipynb" serves."""
    return json.loads((site / "_sources" / f"{docname}.ipynb").read_text(encoding="utf-8"))


def code_cells(notebook: dict) -> list[dict]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_every_toc_page_is_built(site):
    for docname in toc_docnames():
        assert (site / f"{docname}.html").is_file(), docname


def test_section_one_chapters_are_notebooks():
    assert {
        "book/section1/jupyter",
        "book/section1/numpy",
        "book/section1/mlp",
    } <= set(notebook_docnames())


@pytest.mark.parametrize("docname", toc_docnames())
def test_no_traceback_or_error_output(site, docname):
    soup = page(site, docname)
    assert not soup.select(".traceback, .output.error"), docname
    text = soup.get_text(" ")
    for marker in ("Traceback (most recent call last)", "Error in callback"):
        assert marker not in text, f"{docname}: {marker}"
    for stderr in soup.select(".output.stderr"):
        assert "Error" not in stderr.get_text(), f"{docname}: {stderr.get_text()[:200]}"


@pytest.mark.parametrize("docname", toc_docnames())
def test_no_script_points_outside_the_site(site, docname):
    """Every script is served by the site; no inline script names a CDN (thebe's did)."""
    soup = page(site, docname)
    for script in soup.find_all("script"):
        source = script.get("src", "")
        assert not re.match(r"(https?:)?//", source), f"{docname}: {source}"
        assert "unpkg.com" not in (script.string or ""), f"{docname}: inline script names a CDN"
    assert soup.body["data-default-mode"] == "auto", docname


def test_one_search_field_and_the_theme_buttons(site):
    """No second search bar on top (pydata 0.17 default), the repository and launch buttons kept."""
    soup = page(site, "book/section1/numpy")
    assert len(soup.select("button.search-button-field")) == 1
    assert not soup.select("#pst-header .bd-header__inner")
    assert soup.select_one('a[href^="https://github.com/"]') is not None
    assert soup.select_one('a[href*="colab.research.google.com"]') is not None


@pytest.mark.parametrize("docname", notebook_docnames())
def test_every_figure_output_is_rendered(site, docname):
    produced = sum(
        PLOTLY_MIME in output.get("data", {})
        for cell in code_cells(executed_notebook(site, docname))
        for output in cell.get("outputs", [])
    )
    figures = page(site, docname).select("figure.cu-plotly")
    assert len(figures) == produced, f"{docname}: {produced} figure outputs, {len(figures)} drawn"
    for figure in figures:
        spec_text = figure.select_one("script.cu-plotly-data").string
        assert len(spec_text.encode()) <= MAX_FIGURE_JSON_BYTES
        spec = json.loads(spec_text)
        assert spec["data"], "a figure with no traces"
        # the page reserves the figure's own height: no jump, and no gap under short figures
        height = spec.get("layout", {}).get("height")
        reserved = figure.select_one("div.cu-plotly-canvas").get("style")
        assert reserved == (f"min-height: {round(height)}px" if height else None), docname


def test_the_book_has_figures_with_sliders(site):
    sliders = 0
    for docname in notebook_docnames():
        for figure in page(site, docname).select("figure.cu-plotly"):
            spec = json.loads(figure.select_one("script.cu-plotly-data").string)
            sliders += bool(spec.get("layout", {}).get("sliders"))
    assert sliders >= 1


@pytest.mark.parametrize("docname", toc_docnames())
def test_page_size_budget(site, docname):
    assert (site / f"{docname}.html").stat().st_size <= MAX_PAGE_BYTES


@pytest.mark.parametrize("docname", notebook_docnames())
def test_provenance_on_every_executed_page(site, docname):
    soup = page(site, docname)
    notice = soup.select_one(".cu-provenance-notice")
    assert notice is not None, docname
    # one plain sentence first, from the page's own report; the facts follow, collapsed
    sentence = notice.select_one(":scope > p.cu-provenance-summary").get_text()
    report = [
        output["data"][PROVENANCE_MIME]
        for cell in code_cells(executed_notebook(site, docname))
        for output in cell["outputs"]
        if PROVENANCE_MIME in output.get("data", {})
    ][-1]
    assert sentence == summary(report), docname
    assert re.search(r" in the (quick|full) build[ ,.:]", sentence), sentence
    more = notice.select_one(":scope > details.cu-provenance-details")
    assert more is not None and not more.has_attr("open"), docname
    assert more.select_one("summary") and "Data:" in more.get_text()
    assert re.search(r"Profile: (quick|full) \(", more.get_text())
    footer = soup.select_one(".cu-provenance").get_text(" ", strip=True)
    assert re.search(r"Device\s*:?\s*(CPU, \d+ cores|GPU: .+)", footer), footer
    assert re.search(r"course_utils\s*:?\s*\S+ at commit [0-9a-f]{7,}|unknown", footer), footer
    runtime = float(re.search(r"Page run time\s*:?\s*([\d.]+) s", footer).group(1))
    assert runtime > 0, docname
    assert re.search(r"Built\s*:?\s*\d{4}-\d\d-\d\d", footer)


def test_plotly_js_served_locally(site):
    for bundle in ("plotly.min.js", "plotly-course.min.js"):
        assert (site / "_static" / bundle).stat().st_size > 1_000_000
    for docname in toc_docnames():
        for script in page(site, docname).select("script[src]"):
            assert not script["src"].startswith(("http:", "https:", "//")), script["src"]


def test_execution_report_page(site):
    soup = page(site, "book/execution-report")
    table_text = soup.select_one("table").get_text(" ")
    for docname in notebook_docnames():
        assert Path(docname).name in table_text, docname


@pytest.mark.parametrize("docname", notebook_docnames())
def test_launch_buttons_open_this_pages_notebook(site, docname):
    soup = page(site, docname)
    colab = soup.find("a", href=re.compile(r"^https://colab\.research\.google\.com/github/"))
    binder = soup.find("a", href=re.compile(r"^https://mybinder\.org/v2/gh/"))
    assert colab is not None and binder is not None, docname
    assert colab["href"].endswith(f"/blob/launch/{docname}.ipynb")
    assert binder["href"].endswith(f"/launch?urlpath=lab/tree/{docname}.ipynb")

    launch = json.loads((site / "_launch" / f"{docname}.ipynb").read_text(encoding="utf-8"))
    setup, *chapter_cells = code_cells(launch)
    commit = launch["metadata"]["course_utils"]["commit"]
    assert f"@{commit}" in "".join(setup["source"])
    launch_code = ["".join(cell["source"]) for cell in chapter_cells]
    page_code = ["".join(cell["source"]) for cell in code_cells(executed_notebook(site, docname))]
    assert launch_code == page_code, f"{docname}: the launch notebook's code differs from the page"
    assert all(not cell["outputs"] for cell in chapter_cells)


def test_download_gives_the_executed_notebook(site):
    for docname in notebook_docnames():
        href = f"_sources/{docname}.ipynb"
        links = [a["href"] for a in page(site, docname).select("a[href]")]
        assert any(link.endswith(href) for link in links), docname
        outputs = [o for c in code_cells(executed_notebook(site, docname)) for o in c["outputs"]]
        assert outputs, docname


def test_binder_environment_is_cpu_only_and_pinned(site):
    requirements = (site / "_launch" / ".binder" / "requirements.txt").read_text()
    assert "download.pytorch.org/whl/cpu" in requirements
    assert re.search(r"^torch==[\d.]+\+cpu$", requirements, re.M)
    assert re.search(r"^course_utils @ git\+https://github\.com/\S+@\S+$", requirements, re.M)


def test_landing_page_embeds_every_lecture_moment(site):
    from course_book.outline import LESSONS, MOMENTS

    soup = page(site, "book/index")
    players = soup.select("div.cu-video-player")
    assert sorted(p["data-cu-video"] for p in players) == sorted(
        lesson.video_id for lesson in LESSONS
    )
    links = {
        (a["data-cu-video"], int(a["data-cu-start"]), a["href"])
        for a in soup.select("a.cu-video-moment")
    }
    expected = {
        (m.video_id, m.seconds, f"https://youtu.be/{m.video_id}?t={m.seconds}") for m in MOMENTS
    }
    assert links == expected
    assert not soup.select("iframe"), "no third-party frame before the reader clicks"
    # one closed line per lesson, each holding its player, after the course map
    lessons = soup.select("details.cu-lesson")
    assert [len(d.select("div.cu-video-player")) for d in lessons] == [1] * len(LESSONS)
    assert not any(d.has_attr("open") for d in lessons)
    assert all(d.select_one(":scope > summary").get_text().startswith("Lesson") for d in lessons)
    sections = [section["id"] for section in soup.select("main section[id]")]
    assert sections.index("the-course-map") < sections.index("the-lecture-videos")


# Where each lecture moment of Section 2 is taught: (video id, seconds) -> page.
SECTION2_PAGES = {
    ("IPBSB1HLNLo", 131): "book/section2/dogs-vs-cats",
    ("IPBSB1HLNLo", 371): "book/section2/dogs-vs-cats",
    ("IPBSB1HLNLo", 750): "book/section2/dogs-vs-cats",
    ("IPBSB1HLNLo", 1220): "book/section2/dogs-vs-cats",
    ("IPBSB1HLNLo", 3731): "book/section2/sgd",
    ("IPBSB1HLNLo", 4100): "book/section2/cnn",
    ("9C06ZPF8Uuc", 2535): "book/section2/cnn",
    ("9C06ZPF8Uuc", 2985): "book/section2/cnn",
    ("JNxcznsrRb8", 285): "book/section2/learning-rate",
    ("JNxcznsrRb8", 2625): "book/section2/learning-rate",
    ("J99NV9Cr75I", 6825): "book/section2/optimizers",
    ("J99NV9Cr75I", 7145): "book/section2/optimizers",
    ("J99NV9Cr75I", 7921): "book/section2/overfitting",
    ("JNxcznsrRb8", 900): "book/section2/augmentation",
    ("JNxcznsrRb8", 1450): "book/section2/augmentation",
    ("JNxcznsrRb8", 4305): "book/section2/augmentation",
    ("9C06ZPF8Uuc", 4830): "book/section2/multi-label",
}


# Where each lecture moment of Section 4 is taught (collaborative filtering has none).
SECTION4_PAGES = {
    ("gbceqO8PpBg", 5010): "book/section4/text-to-numbers",
    ("gbceqO8PpBg", 5475): "book/section4/text-to-numbers",
    ("gbceqO8PpBg", 5970): "book/section4/text-to-numbers",
    ("gbceqO8PpBg", 6225): "book/section4/text-to-numbers",
    ("sHcLkfRrgoQ", 4155): "book/section4/rnn-from-scratch",
    ("sHcLkfRrgoQ", 5765): "book/section4/rnn-from-scratch",
    ("sHcLkfRrgoQ", 6525): "book/section4/rnn-from-scratch",
    ("H3g26EVADgY", 184): "book/section4/rnn-from-scratch",
    ("H3g26EVADgY", 3220): "book/section4/lstm",
}
MOMENT_PAGES = SECTION2_PAGES | SECTION4_PAGES


def test_section4_pages_cover_every_moment_of_the_outline():
    from course_book.outline import SECTIONS

    (section4,) = [section for section in SECTIONS if section.number == 4]
    outline = {(m.video_id, m.seconds) for topic in section4.topics for m in topic.moments}
    assert set(SECTION4_PAGES) == outline
    assert len(outline) == 9
    assert set(SECTION4_PAGES.values()) <= set(toc_docnames())


@pytest.mark.parametrize(
    ("docname", "video_id"),
    [
        ("book/section4/collaborative-filtering", "J99NV9Cr75I"),  # lesson 5
        ("book/section4/film-embeddings", "sHcLkfRrgoQ"),  # lesson 6
    ],
)
def test_recommendation_pages_embed_their_lecture(site, docname, video_id):
    """The outline gives collaborative filtering no moment: each page embeds its lesson's
    lecture from the start, and no moment is invented."""
    soup = page(site, docname)
    assert video_id in {p["data-cu-video"] for p in soup.select("div.cu-video-player")}
    assert not soup.select("a.cu-video-moment")


def test_section2_pages_cover_every_moment_of_the_outline():
    from course_book.outline import SECTIONS

    (section2,) = [section for section in SECTIONS if section.number == 2]
    outline = {(m.video_id, m.seconds) for topic in section2.topics for m in topic.moments}
    assert set(SECTION2_PAGES) == outline
    assert set(SECTION2_PAGES.values()) <= set(toc_docnames())


@pytest.mark.parametrize("moment", sorted(MOMENT_PAGES), ids=lambda m: f"{m[0]}-{m[1]}")
def test_each_lecture_moment_is_embedded_on_its_topics_page(site, moment):
    video_id, seconds = moment
    soup = page(site, MOMENT_PAGES[moment])
    links = {
        (a["data-cu-video"], int(a["data-cu-start"]), a["href"])
        for a in soup.select("a.cu-video-moment")
    }
    assert (video_id, seconds, f"https://youtu.be/{video_id}?t={seconds}") in links
    players = {p["data-cu-video"] for p in soup.select("div.cu-video-player")}
    assert video_id in players


def test_section2_chapters_exercises_and_bonus_are_notebooks():
    names = set(notebook_docnames())
    section2 = [name for name in toc_docnames() if name.startswith("book/section2/")]
    assert len(section2) == 16
    assert set(section2) <= names


def test_section3_chapters_are_notebooks_on_the_course_map():
    section3 = [name for name in toc_docnames() if name.startswith("book/section3/")]
    assert section3 == [
        "book/section3/structured-data",
        "book/section3/embeddings-vs-trees",
        "book/section3/embeddings-learned",
    ]
    assert set(section3) <= set(notebook_docnames())
    index = (REPO / "book" / "index.md").read_text()
    assert all(f"{{doc}}`{name.removeprefix('book/')}`" in index for name in section3)


def test_section4_chapters_are_notebooks_on_the_course_map():
    section4 = [name for name in toc_docnames() if name.startswith("book/section4/")]
    assert section4 == [
        "book/section4/text-to-numbers",
        "book/section4/rnn-from-scratch",
        "book/section4/lstm",
        "book/section4/collaborative-filtering",
        "book/section4/film-embeddings",
    ]
    assert set(section4) <= set(notebook_docnames())
    index = (REPO / "book" / "index.md").read_text()
    assert all(f"{{doc}}`{name.removeprefix('book/')}`" in index for name in section4)


def test_exercise_solutions_are_executed_behind_a_toggle(site):
    for docname in toc_docnames():
        if "/exercises/" not in docname:
            continue
        soup = page(site, docname)
        hidden = soup.select(".cell.tag_hide-input, .cell.tag_hide-cell, details.toggle-details")
        assert hidden, f"{docname}: no solution behind a toggle"
        notebook = executed_notebook(site, docname)
        assert all(cell.get("outputs") is not None for cell in code_cells(notebook))
        assert any(cell["outputs"] for cell in code_cells(notebook)), docname


def heading_text(heading) -> str:
    """A heading's words, without the "#" of its permalink."""
    return heading.get_text(" ", strip=True).removesuffix("#").strip()


def solution_sections(soup: BeautifulSoup) -> list:
    """The sections of a page headed "Solution...": an exercise's worked answer."""
    headings = soup.select("section > h2, section > h3, section > h4, section > h5")
    return [h.parent for h in headings if heading_text(h).startswith("Solution")]


def closed(element, within) -> bool:
    """Whether ``element`` is hidden until the reader opens a toggle (inside ``within``): a
    <details> that is not open (MyST-NB's hide-cell) or a dropdown admonition, which
    sphinx-togglebutton closes when the page loads."""
    for parent in element.parents:
        if parent is within:
            return False
        if parent.name == "details" and not parent.has_attr("open"):
            return True
        if parent.name == "div" and {"admonition", "dropdown"} <= set(parent.get("class", [])):
            return True
    return False


def test_exercise_solutions_stay_closed_until_the_reader_opens_them(site):
    """No solution gives its answer away: every cell of a Solution section, its code and its
    output (text, tables, figures) together, and every number pasted into its prose, is inside
    a closed toggle."""
    sections, cells, problems = 0, 0, []
    for docname in notebook_docnames():
        for section in solution_sections(page(site, docname)):
            sections += 1
            where = f"{docname}#{section.get('id')}"
            for cell in section.select("div.cell"):
                if cell.select_one(".cu-provenance"):
                    continue  # the chapter's last cell: where the outputs came from
                cells += 1
                shown = [
                    " ".join(part.get("class", []))
                    for part in cell.select(".cell_input, .cell_output")
                    if not closed(part, section)
                ]
                if shown:
                    problems.append(f"{where}: a cell shows its {', '.join(shown)}")
            for pasted in section.select(".pasted-text, .pasted-inline"):
                if not closed(pasted, section):
                    problems.append(f"{where}: pasted {pasted.get_text()!r} shows")
    assert sections >= 24, f"only {sections} Solution sections found"
    assert cells >= sections, f"only {cells} cells in {sections} Solution sections"
    assert not problems, "\n".join(problems)


def test_sentences_that_read_a_solution_are_in_dropdowns():
    """In the sources, a sentence of a Solution section that pastes a glued result sits in a
    dropdown (an admonition of class dropdown), not in the page's open prose; the built HTML
    keeps no mark of a {glue:md} paste, so the chapters are read."""
    problems, solutions = [], 0
    for docname in notebook_docnames():
        fences: list[str] = []  # the open fences, innermost last: "dropdown", "code", "other"
        solution_level = None
        lines = (REPO / f"{docname}.md").read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            heading = re.match(r"(#+) (.*)", line) if not fences else None
            if heading:
                level = len(heading[1])
                if solution_level is not None and level <= solution_level:
                    solution_level = None
                if heading[2].startswith("Solution"):
                    solution_level, solutions = level, solutions + 1
            elif line.startswith("```") and line.strip() != "```":
                opening = "code" if line.startswith("```{code-cell") else "other"
                following = lines[number : number + 3]
                fences.append("dropdown" if ":class: dropdown" in following else opening)
            elif line.strip() == "```" and fences:
                fences.pop()
            elif solution_level is not None and "{glue" in line and "dropdown" not in fences:
                problems.append(f"{docname}.md:{number}: {line.strip()}")
    assert solutions >= 24, f"only {solutions} Solution sections found"
    assert not problems, "glued results outside a dropdown:\n" + "\n".join(problems)
