"""The ``video`` directive (course_book.video), built by Sphinx in a temporary folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from helpers import MYST_CONF, REPO, sphinx_build, write_sphinx_book

from course_book.outline import LESSONS, moments_for_video

pytestmark = pytest.mark.slow

STATIC = REPO / "src" / "course_book" / "static"

LESSON_1 = """\
# Videos

```{video} IPBSB1HLNLo
:title: Lesson 1 — Recognizing cats and dogs
2:11 The top-down approach to study
1:02:11 Non-linearity and stochastic gradient descent
```
"""


def build(
    root: Path,
    pages: dict[str, str],
    builder: str = "html",
    extensions: tuple[str, ...] = ("myst_parser", "course_book.video"),
    **options,
) -> tuple[Path, str]:
    """Build ``pages`` (name -> MyST text) with the video extension alone (or ``extensions``)
    and ``builder`` (``options``: :func:`helpers.sphinx_build`'s): the output folder, and the
    warnings and errors, one a line (a build with none exits cleanly, and no build may crash)."""
    write_sphinx_book(root, pages, extensions=list(extensions), conf=MYST_CONF)
    result = sphinx_build(root, builder=builder, **options)
    assert result.returncode == (1 if result.warnings else 0), result.stdout + result.stderr
    return result.outdir, "\n".join(result.warnings)


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.fixture(scope="module")
def lesson_1_html(tmp_path_factory) -> tuple[Path, str]:
    return build(tmp_path_factory.mktemp("html"), {"index": LESSON_1})


# --- HTML -----------------------------------------------------------------------


def test_html_builds_without_warnings(lesson_1_html):
    _, warnings = lesson_1_html
    assert warnings == ""


def test_html_has_the_placeholder_and_no_player(lesson_1_html):
    outdir, _ = lesson_1_html
    html = (outdir / "index.html").read_text(encoding="utf-8")
    page = soup(outdir / "index.html")
    (box,) = page.select("div.cu-video")
    player = box.select_one("div.cu-video-player")
    poster = player.select_one("button.cu-video-poster")
    for element in (player, poster):
        assert element["data-cu-video"] == "IPBSB1HLNLo"
        assert element["data-cu-start"] == "131"  # the first moment
        assert element["data-cu-title"] == "Lesson 1 — Recognizing cats and dogs"
    assert poster["type"] == "button"
    assert poster.select_one("svg.cu-video-play")["aria-hidden"] == "true"
    assert "Recognizing cats and dogs" in poster.select_one(".cu-video-poster-title").text
    note = poster.select_one(".cu-video-note").text
    assert note == "Plays from youtube-nocookie.com; nothing loads until you click"
    assert box.select_one("p.cu-video-title").text == "Lesson 1 — Recognizing cats and dogs"
    assert "<iframe" not in html
    assert "<img" not in str(box)


def test_html_timestamp_links(lesson_1_html):
    outdir, _ = lesson_1_html
    links = soup(outdir / "index.html").select("ul.cu-video-moments a.cu-video-moment")
    assert [a["href"] for a in links] == [
        "https://youtu.be/IPBSB1HLNLo?t=131",
        "https://youtu.be/IPBSB1HLNLo?t=3731",
    ]
    assert [a["data-cu-video"] for a in links] == ["IPBSB1HLNLo"] * 2
    assert [a["data-cu-start"] for a in links] == ["131", "3731"]
    assert [a.select_one(".cu-video-time").text for a in links] == ["2:11", "1:02:11"]
    assert [" ".join(a.text.split()) for a in links] == [
        "2:11 The top-down approach to study",
        "1:02:11 Non-linearity and stochastic gradient descent",
    ]


def test_html_loads_the_script_and_stylesheet(lesson_1_html):
    outdir, _ = lesson_1_html
    page = soup(outdir / "index.html")
    scripts = [s.get("src", "") for s in page.select("script")]
    assert any(src.startswith("_static/course_video.js") for src in scripts)
    script = next(
        s for s in page.select("script") if s.get("src", "").startswith("_static/course_video.js")
    )
    assert script.has_attr("defer")
    styles = [link.get("href", "") for link in page.select("link[rel=stylesheet]")]
    assert any(href.startswith("_static/course_video.css") for href in styles)
    for name in ("course_video.js", "course_video.css"):
        copied = outdir / "_static" / name
        assert copied.read_text(encoding="utf-8") == (STATIC / name).read_text(encoding="utf-8")


def test_html_fetches_nothing_from_third_parties(lesson_1_html):
    """The only Google addresses: the youtu.be links, and the nocookie embed inside the script."""
    outdir, _ = lesson_1_html
    html = (outdir / "index.html").read_text(encoding="utf-8")
    third_party = re.compile(r"[\w.-]*(?:youtube|youtu\.be|google|ytimg|gstatic|ggpht)[^\s\"'<>;]*")
    assert set(third_party.findall(html)) == {
        "youtu.be/IPBSB1HLNLo?t=131",
        "youtu.be/IPBSB1HLNLo?t=3731",
        "youtube-nocookie.com",  # the note on the poster, as text
    }
    assert not re.search(r"<(?:img|iframe|video|source|embed|object)\b", html)
    assert not re.search(r"<link[^>]+href=\"https?://[^\"]*(?:google|youtube)", html)
    script = (outdir / "_static" / "course_video.js").read_text(encoding="utf-8")
    assert re.findall(r"https?://[^\s\"']+", script) == ["https://www.youtube-nocookie.com/embed/"]
    css = (outdir / "_static" / "course_video.css").read_text(encoding="utf-8")
    assert "url(" not in css and "@import" not in css


def test_title_defaults_to_the_lesson_and_timestamp_forms_agree(tmp_path):
    page = "# V\n\n```{video} JNxcznsrRb8\n1:11:45 Confusion\n4305 Same\n1h11m45s Again\n```\n"
    outdir, warnings = build(tmp_path, {"index": page})
    assert warnings == ""
    html = soup(outdir / "index.html")
    poster = html.select_one("button.cu-video-poster")
    assert poster["data-cu-title"] == "Lesson 2 — Convolutional neural networks"
    hrefs = {a["href"] for a in html.select("a.cu-video-moment")}
    assert hrefs == {"https://youtu.be/JNxcznsrRb8?t=4305"}


def test_video_without_moments_starts_at_zero(tmp_path):
    page = "# V\n\n```{video} abcdefghijk\n:title: Another talk\n```\n"
    outdir, warnings = build(tmp_path, {"index": page})
    assert warnings == ""
    html = soup(outdir / "index.html")
    assert html.select_one("button.cu-video-poster")["data-cu-start"] == "0"
    assert html.select("ul.cu-video-moments") == []


def test_parallel_build_is_clean(tmp_path):
    pages = {f"page{i}": LESSON_1.replace("# Videos", f"# Videos {i}") for i in range(4)}
    pages["index"] = (
        "# Index\n\n```{toctree}\n" + "\n".join(f"page{i}" for i in range(4)) + "\n```\n"
    )
    outdir, warnings = build(tmp_path, pages, jobs=2)
    assert warnings == ""
    for i in range(4):
        assert soup(outdir / f"page{i}.html").select("button.cu-video-poster")


# --- other builders ---------------------------------------------------------------


def test_text_builder_gives_plain_links(tmp_path):
    outdir, warnings = build(tmp_path, {"index": LESSON_1}, "text")
    assert warnings == ""
    text = " ".join((outdir / "index.txt").read_text(encoding="utf-8").split())
    assert "Lesson 1 — Recognizing cats and dogs" in text
    assert "Video: https://youtu.be/IPBSB1HLNLo " in text
    assert "2:11 The top-down approach to study: https://youtu.be/IPBSB1HLNLo?t=131" in text
    assert "1:02:11 Non-linearity and stochastic gradient descent: " in text
    assert "https://youtu.be/IPBSB1HLNLo?t=3731" in text
    assert "nocookie" not in text and "Plays from" not in text


@pytest.mark.parametrize(
    ("builder", "output"),
    [
        ("latex", "course.tex"),
        ("man", "course.1"),
        ("texinfo", "course.texi"),
        ("xml", "index.xml"),
    ],
)
def test_other_builders_get_links_and_no_placeholder(tmp_path, builder, output):
    outdir, warnings = build(tmp_path, {"index": LESSON_1}, builder)
    assert warnings == ""
    written = (outdir / output).read_text(encoding="utf-8")
    assert "https://youtu.be/IPBSB1HLNLo?t=3731" in written
    assert "nocookie" not in written and "video_player" not in written


@pytest.mark.parametrize("builder", ["singlehtml", "dirhtml"])
def test_other_html_builders_get_the_placeholder(tmp_path, builder):
    outdir, warnings = build(tmp_path, {"index": LESSON_1}, builder)
    assert warnings == ""
    assert soup(outdir / "index.html").select("button.cu-video-poster[data-cu-video]")


# --- errors ---------------------------------------------------------------------------


def test_malformed_lines_are_reported_with_their_line_and_the_rest_renders(tmp_path):
    page = (
        "# V\n"  # 1
        "\n"  # 2
        "```{video} IPBSB1HLNLo\n"  # 3
        ":title: T\n"  # 4
        "2:11 Good\n"  # 5
        "2:7x Broken timestamp\n"  # 6
        "3:00\n"  # 7
        "1:02:11 Also good\n"  # 8
        "```\n"
    )
    outdir, warnings = build(tmp_path, {"index": page})
    assert re.search(r"index\.md:6: ERROR: video: .*'2:7x Broken timestamp'.*'2:7x'", warnings)
    assert re.search(r"index\.md:7: ERROR: video: .*'3:00'.*no label", warnings)
    assert len(warnings.strip().splitlines()) == 2
    starts = [a["data-cu-start"] for a in soup(outdir / "index.html").select("a.cu-video-moment")]
    assert starts == ["131", "3731"]


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("IPBSB1HLNL", r"'IPBSB1HLNL' is not a YouTube video id"),
        ("IPBSB1HLNLo?t=3", r"'IPBSB1HLNLo\?t=3' is not a YouTube video id"),
        ("https://youtu.be/IPBSB1HLNLo", r"'https://youtu.be/IPBSB1HLNLo' is not a YouTube"),
        ("abcdefghijk", r"'abcdefghijk' is not a lecture video .* :title:"),
    ],
)
def test_bad_video_ids_are_reported(tmp_path, argument, message):
    page = f"# V\n\n```{{video}} {argument}\n2:11 Label\n```\n"
    outdir, warnings = build(tmp_path, {"index": page})
    assert re.search(r"index\.md:3: ERROR: video: " + message, warnings), warnings
    assert "cu-video-poster" not in (outdir / "index.html").read_text(encoding="utf-8")


# --- the landing page -------------------------------------------------------------------


def test_landing_page_builds_cleanly_with_every_lesson(tmp_path):
    """book/index.md with stand-ins for the chapters it links to, under -n (nitpicky)."""
    root = tmp_path / "book"
    stub = "---\norphan: true\n---\n# {}\n"
    index = (REPO / "book" / "index.md").read_text(encoding="utf-8")
    linked_docs = set(re.findall(r"\{doc\}`([^`<>]+)`", index))  # every chapter it links to
    assert {"section1/jupyter", "section1/numpy", "section1/mlp"} <= linked_docs
    pages = {name: stub.format(name) for name in linked_docs}
    pages["index"] = index
    extensions = ("myst_parser", "course_book.video", "course_book.details")
    outdir, warnings = build(root, pages, extensions=extensions, nitpicky=True)
    assert warnings == ""
    html = soup(outdir / "index.html")
    # one closed <details> per lesson, its title the summary, its player inside
    lessons = html.select("details.cu-lesson")
    assert [d.select_one(":scope > summary").get_text(strip=True) for d in lessons] == [
        lesson.heading.replace(" — ", ": ") for lesson in LESSONS
    ]
    assert not any(d.has_attr("open") for d in lessons)
    assert [len(d.select("button.cu-video-poster")) for d in lessons] == [1] * len(LESSONS)
    posters = html.select("button.cu-video-poster")
    assert [p["data-cu-video"] for p in posters] == [lesson.video_id for lesson in LESSONS]
    assert [p["data-cu-title"] for p in posters] == [lesson.heading for lesson in LESSONS]
    for lesson, box in zip(LESSONS, html.select("div.cu-video"), strict=True):
        hrefs = [a["href"] for a in box.select("a.cu-video-moment")]
        assert hrefs == [m.url for m in moments_for_video(lesson.video_id)]
    linked = {a["href"] for a in html.select("a.reference.internal")}
    assert {"section1/jupyter.html", "section1/numpy.html", "section1/mlp.html"} <= linked


def test_details_in_other_builders_is_its_content(tmp_path):
    """``{details}`` outside HTML: the summary and the content, as plain paragraphs."""
    page = "# Page\n\n:::{details} Lesson one\n:class: cu-lesson\n\nThe content.\n:::\n"
    extensions = ("myst_parser", "course_book.details")
    outdir, warnings = build(tmp_path, {"index": page}, "text", extensions=extensions)
    assert warnings == ""
    text = (outdir / "index.txt").read_text(encoding="utf-8")
    assert "Lesson one" in text and "The content." in text
