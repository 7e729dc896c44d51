"""Which library modules a page runs (course_book.dependencies), read from the code."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO

from course_book.dependencies import ModuleGraph, code_imports
from course_book.execution import page_modules


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import a.b.c", {"a.b.c"}),
        ("import a, b as bee", {"a", "b"}),
        ("from a.b import c, d as dee", {"a.b", "a.b.c", "a.b.d"}),
        ("from a import *", {"a"}),
        ("def f():\n    import inner\n", {"inner"}),  # imports anywhere in a cell count
        # ... except where they never run
        (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    import a\nelse:\n    import b",
            {"typing", "typing.TYPE_CHECKING", "b"},
        ),
        ("import typing\nif typing.TYPE_CHECKING:\n    from a import b", {"typing"}),
        # IPython-only lines are skipped, the rest is still parsed
        ("%matplotlib inline\n!pip install x\nimport a", {"a"}),
        # a cell that is not Python at all is read line by line
        ("import a\nfrom b import (c,\n  d)\nthis is ? not python", {"a", "b", "b.c"}),
    ],
)
def test_code_imports(source, expected):
    assert code_imports(source) == expected


@pytest.fixture
def library(tmp_path, monkeypatch) -> Path:
    """lib/: pkg/__init__ imports pkg.sub; pkg/sub/{__init__,x,y}; z stands alone."""
    files = {
        "pkg/__init__.py": "from pkg.sub import X\n",
        "pkg/sub/__init__.py": "from .x import X\n",
        "pkg/sub/x.py": "import os\nfrom ..z import Z\nX = Z + 1\n",
        "pkg/sub/y.py": "from . import x\n",
        "pkg/z.py": "Z = 1\n",
        "pkg/alone.py": "import numpy\n",
        "other.py": "import pkg.z\n",
    }
    for name, text in files.items():
        path = tmp_path / "lib" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    return tmp_path / "lib"


def test_closure_follows_parents_submodules_and_relative_imports(library):
    graph = ModuleGraph(["pkg"])
    assert graph.path("pkg.sub.x") == library / "pkg" / "sub" / "x.py"
    assert graph.path("pkg.sub") == library / "pkg" / "sub" / "__init__.py"
    assert graph.path("pkg.sub.X") is None  # a name, not a module
    assert graph.path("os") is None  # not followed
    everything = {"pkg", "pkg.sub", "pkg.sub.x", "pkg.z"}
    # importing pkg.z runs pkg/__init__ first, and with it the whole subpackage
    assert graph.closure({"pkg.z"}) == everything
    assert graph.closure({"pkg.sub.y"}) == everything | {"pkg.sub.y"}
    # ``from pkg import alone``: alone is a submodule, so it runs
    assert graph.closure(code_imports("from pkg import alone")) == everything | {"pkg.alone"}
    assert graph.closure({"numpy", "other"}) == set()  # neither is followed


def test_digest_changes_with_the_sources_of_the_modules_only(library):
    graph = ModuleGraph(["pkg"])
    before = graph.digest({"pkg", "pkg.z"})
    assert graph.digest({"pkg.z", "pkg"}) == before
    (library / "pkg" / "alone.py").write_text("import numpy  # edited\n")
    assert graph.digest({"pkg", "pkg.z"}) == before
    (library / "pkg" / "z.py").write_text("Z = 2\n")
    assert graph.digest({"pkg", "pkg.z"}) != before


def test_a_package_that_does_not_exist_is_named():
    with pytest.raises(ModuleNotFoundError, match="no_such_package_here"):
        ModuleGraph(["no_such_package_here"])


def test_the_book_pages_depend_on_what_they_import():
    """On the real book: a page that imports only the provenance cell runs no figure code,
    and the build machinery (course_book) is never part of a page's key."""
    graph = ModuleGraph(["course_utils"])
    jupyter = page_modules(graph, REPO / "book" / "section1" / "jupyter.md")
    assert "course_utils.provenance" in jupyter
    assert not any(module.startswith("course_utils.viz") for module in jupyter)
    cnn = page_modules(graph, REPO / "book" / "section2" / "cnn.md")
    assert {"course_utils.viz", "course_utils.viz.conv"} <= cnn
    assert all(module.startswith("course_utils") for module in cnn)
