"""What `pip install` gives: the student's library alone, and the book's machinery apart."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from helpers import REPO

pytestmark = pytest.mark.slow

BUILD_TOOLS = ("sphinx", "jupyter-book", "myst-nb", "jupytext", "sphinx-mathjax-offline")


def build_wheel(project: Path, out: Path) -> zipfile.ZipFile:
    """``pip wheel`` of one project, without its dependencies, offline."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--wheel-dir", str(out), str(project)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def metadata(wheel: zipfile.ZipFile):
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(name).decode())


def requirement_names(meta) -> set[str]:
    names = set()
    for requirement in meta.get_all("Requires-Dist") or []:
        name = requirement.split(";")[0].split("[")[0]
        for stop in "<>=!~ (":
            name = name.split(stop)[0]
        names.add(name.strip().lower().replace("_", "-"))
    return names


def test_the_student_library_ships_only_its_modules(tmp_path):
    wheel = build_wheel(REPO, tmp_path)
    files = [n for n in wheel.namelist() if ".dist-info/" not in n]
    assert files and all(n.startswith("course_utils/") and n.endswith(".py") for n in files), [
        n for n in files if not n.endswith(".py")
    ]
    assert not any("course_book" in n or "sphinxext" in n for n in wheel.namelist())
    assert not any(n.endswith("entry_points.txt") for n in wheel.namelist())
    required = requirement_names(metadata(wheel))
    assert {"torch", "numpy", "plotly"} <= required
    assert not required & set(BUILD_TOOLS), required & set(BUILD_TOOLS)
    # a few hundred kilobytes of Python, not megabytes of vendored JavaScript
    assert sum(info.file_size for info in wheel.infolist()) < 1_000_000


def test_the_book_machinery_is_a_package_of_its_own(tmp_path):
    wheel = build_wheel(REPO / "src" / "course_book", tmp_path)
    names = wheel.namelist()
    for needed in (
        "course_book/__init__.py",
        "course_book/dependencies.py",
        "course_book/outline.py",
        "course_book/static/course_plotly.js",
        "course_book/static/course_plotly_narrow.js",
        "course_book/vendor/plotly-course.min.js",
    ):
        assert needed in names
    assert not any(n.startswith("course_utils/") for n in names)
    assert not any(n.startswith("course_book/build/") or "pyproject" in n for n in names)
    required = requirement_names(metadata(wheel))
    assert {"course-utils", "sphinx", "jupyter-book", "myst-nb"} <= required
    (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "course_book.plotly_figures:PlotlyMimeRenderer" in text
    assert "course_book.provenance:ProvenanceMimeRenderer" in text
