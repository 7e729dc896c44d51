"""MathJax served from the site itself, so pages with maths work offline.

Sphinx loads MathJax from a CDN by default, which breaks the book's promise
that no page requests anything outside the site. MathJax 3 ships on PyPI in the
``sphinx-mathjax-offline`` distribution (its import name is not a valid module
name, so it is used here as a plain folder of files): it is copied once into
``_static/mathjax`` and ``mathjax_path`` points there. Sphinx adds the script
only to pages that contain maths.
"""

from __future__ import annotations

import filecmp
import shutil
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

__all__ = ["ENTRY_SCRIPT", "mathjax_dir", "setup"]

DISTRIBUTION = "sphinx-mathjax-offline"
ENTRY_SCRIPT = "tex-chtml.js"


def mathjax_dir() -> Path:
    """The folder of the installed MathJax 3 (it holds ``tex-chtml.js`` and its fonts)."""
    try:
        files = distribution(DISTRIBUTION).files or []
    except PackageNotFoundError:
        raise ExtensionError(
            f"MathJax for offline pages comes from the {DISTRIBUTION!r} package: "
            "pip install -r requirements.txt"
        ) from None
    for file in files:
        if file.name == ENTRY_SCRIPT and file.parent.name == "mathjax":
            return Path(file.locate()).parent
    raise ExtensionError(f"{ENTRY_SCRIPT} not found in the installed {DISTRIBUTION!r}")


def use_local_mathjax(app: Sphinx, config: Config) -> None:
    config.mathjax_path = f"mathjax/{ENTRY_SCRIPT}"


def copy_mathjax(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_dir()
    target = Path(app.outdir) / "_static" / "mathjax"
    entry = target / ENTRY_SCRIPT
    if entry.exists() and filecmp.cmp(source / ENTRY_SCRIPT, entry, shallow=False):
        return
    shutil.copytree(source, target, dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", use_local_mathjax, priority=900)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
