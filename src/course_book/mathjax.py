"""MathJax served from the site itself, so pages with maths work offline.

Sphinx loads MathJax from a CDN by default, which breaks the book's promise
that no page requests anything outside the site. MathJax 3 ships on PyPI in the
``sphinx-mathjax-offline`` distribution (its import name is not a valid module
name, so it is used here as a plain folder of files): it is copied once into
``_static/mathjax`` and ``mathjax_path`` points there. Sphinx adds the script
only to pages that contain maths.

The script pages load is not MathJax's ``tex-chtml.js`` (1.16 MB) but the same
components less the right-click menu (``ui/menu``, 0.43 MB), concatenated in the
order MathJax's loader would run them: ``startup`` (the loader, with nothing left
to load), ``core``, ``input/tex`` (with its ams, newcommand, autoload... packages),
``output/chtml`` and its TeX font, and ``a11y/assistive-mml`` (the hidden MathML
that screen readers read). 0.76 MB, evaluated in about half the time
(``benchmarks/README.md``); the rendering is the same. Extensions that ``autoload``
fetches (``\\boldsymbol``...) come from the copied folder as before.
"""

from __future__ import annotations

import filecmp
import shutil
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

__all__ = ["COMPONENTS", "ENTRY_SCRIPT", "PAGE_SCRIPT", "combined_script", "mathjax_dir", "setup"]

DISTRIBUTION = "sphinx-mathjax-offline"
ENTRY_SCRIPT = "tex-chtml.js"  # MathJax's own combined file: how the installed copy is found
PAGE_SCRIPT = "course-tex-chtml.js"  # what pages load: COMPONENTS, concatenated
# In the order tex-chtml.js runs them, less ui/menu.
COMPONENTS = (
    "startup.js",
    "core.js",
    "input/tex.js",
    "output/chtml.js",
    "output/chtml/fonts/tex.js",
    "a11y/assistive-mml.js",
)


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
    config.mathjax_path = f"mathjax/{PAGE_SCRIPT}"
    # async, not Sphinx's default defer: a deferred MathJax (1.2 MB) holds DOMContentLoaded,
    # and with it every figure, until it has parsed; MathJax waits for the page by itself.
    options = dict(config.mathjax_options or {})
    if "async" not in options and "defer" not in options:
        options["async"] = "async"
    config.mathjax_options = options


def combined_script(source: Path) -> bytes:
    """:data:`COMPONENTS` of the MathJax folder ``source``, one after the other.

    Each component file is a complete script; ``;`` and a newline between them keep one
    from running into the next.
    """
    parts = []
    for name in COMPONENTS:
        path = source / name
        if not path.is_file():
            raise ExtensionError(f"MathJax component {name} not found in {source}")
        parts.append(path.read_bytes())
    return b"\n;\n".join(parts) + b"\n"


def copy_mathjax(app: Sphinx, exception: BaseException | None = None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_dir()
    target = Path(app.outdir) / "_static" / "mathjax"
    entry = target / ENTRY_SCRIPT
    if not (entry.exists() and filecmp.cmp(source / ENTRY_SCRIPT, entry, shallow=False)):
        shutil.copytree(source, target, dirs_exist_ok=True)
    combined = combined_script(source)
    page_script = target / PAGE_SCRIPT
    if not (page_script.is_file() and page_script.read_bytes() == combined):
        page_script.write_bytes(combined)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", use_local_mathjax, priority=900)
    # when the build starts, so that the pages written after it get its checksum (?v=...)
    app.connect("builder-inited", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
