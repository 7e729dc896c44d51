"""Chapter code fits the column: no line of a chapter's code cells is longer than the
chapters' line length (``ruff-chapters.toml``, which ``make lint`` applies to the launch
notebooks). Read from the MyST sources, so it needs no build and names the line to fix."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest
from helpers import REPO

FENCE = re.compile(r"^(`{3,})\{code-cell\}")


def chapter_line_length() -> int:
    """The ``line-length`` of ``ruff-chapters.toml``."""
    text = (REPO / "ruff-chapters.toml").read_text(encoding="utf-8")
    match = re.search(r"^line-length\s*=\s*(\d+)\s*$", text, re.MULTILINE)
    assert match, "ruff-chapters.toml sets no line-length"
    return int(match.group(1))


def code_cells(text: str) -> list[tuple[int, list[str]]]:
    """Each ``{code-cell}`` of a MyST notebook: (line number of its first source line, its
    source lines), without the fences and the cell's options (``:tags: [...]`` or a ``---``
    block)."""
    lines = text.split("\n")
    cells = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        i += 1
        if i < len(lines) and lines[i] == "---":  # options as a YAML block
            i = lines.index("---", i + 1) + 1
        while i < len(lines) and re.match(r"^:[\w-]+:", lines[i]):  # options as :key: value
            i += 1
        start = i
        while i < len(lines) and lines[i].rstrip() != fence.group(1):
            i += 1
        cells.append((start + 1, lines[start:i]))
        i += 1
    return cells


def long_lines(path: Path, text: str, limit: int) -> list[str]:
    """``path:line: (length) text`` for each code line longer than ``limit``."""
    return [
        f"{path}:{first + n}: ({len(line)} > {limit}) {line.strip()}"
        for first, source in code_cells(text)
        for n, line in enumerate(source)
        if len(line) > limit
    ]


CHAPTERS = sorted((REPO / "book").rglob("*.md"))


def test_the_chapters_have_code_and_a_line_length():
    assert len(CHAPTERS) > 20
    assert 60 <= chapter_line_length() < 100  # shorter than the library's 100


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: str(p.relative_to(REPO)))
def test_chapter_code_lines_fit_the_column(path):
    text = path.read_text(encoding="utf-8")
    cells = code_cells(text)
    # the same cells as jupytext reads (what myst-nb executes and the launch notebooks hold)
    notebook = jupytext.reads(text, fmt="myst")
    sources = ["\n".join(source) for _, source in cells]
    assert sources == [c.source for c in notebook.cells if c.cell_type == "code"]
    too_long = long_lines(path.relative_to(REPO), text, chapter_line_length())
    assert not too_long, "\n".join([f"{len(too_long)} lines of chapter code too long:", *too_long])


def test_long_lines_are_found_and_named():
    page = "\n".join(
        [
            "# A page",
            "```{code-cell} ipython3",
            ":tags: [hide-input]",
            "x = 1  # " + "a" * 80,
            "```",
            "",
            "A long line of prose " + "b" * 100,
            "",
            "```{code-cell} ipython3",
            "---",
            "tags: [remove-cell]",
            "---",
            "y = 2",
            "z = 3  # " + "c" * 70,
            "```",
        ]
    )
    assert [len(source) for _, source in code_cells(page)] == [1, 2]
    found = long_lines(Path("page.md"), page, 72)
    assert [line.split(": ")[0] for line in found] == ["page.md:4", "page.md:14"]
