"""What each page loads: what its reader uses, and nothing the figure has to wait for.

Measured with ``benchmarks/bench_page_weight.py`` (numbers in ``benchmarks/README.md``):
before this module a page with a figure loaded 4.3 to 5.7 MB in 34 to 41 requests and drew
its first figure 1.5 to 1.7 s after navigation. What it takes away, every page:

- the theme's ``fontawesome.js`` (1.5 MB): an SVG icon script for the handful of icons in
  the header, which the Font Awesome webfont that the theme's CSS declares draws without it;
- the search index and its two scripts (0.2 MB, three requests) that the theme loads
  synchronously in ``<head>`` of every page for a search-as-you-type it has switched off
  (search runs on ``search.html``, which loads them itself);
- ``sphinx-thebe.css`` (thebe is off: :mod:`course_book.theme` drops its scripts);
- sphinx-design's stylesheet and script on pages without a sphinx-design component, and
  sphinx-togglebutton's on pages without a toggle (a dropdown admonition or ``.toggle``).

And what it defers: plotly.js (1.3 MB) and MathJax (0.8 MB) are not in the page's
``<head>`` but named to a small inline loader (``static/course_lazy.js``) that adds each one
when the first figure, or the first formula, comes within a screen's height of the
viewport: at once for what the first screen shows, later or never for the rest.

Both removals from the template are Jinja filters applied to the theme's own blocks
(``templates/layout.html``), so the page keeps every other line the theme writes.
"""

from __future__ import annotations

import filecmp
import json
import re
import shutil
from pathlib import Path

from docutils import nodes
from markupsafe import Markup
from sphinx.application import Sphinx
from sphinx.builders.html._assets import _file_checksum, _JavaScript
from sphinx.config import Config

from course_book.common import STATIC_DIR
from course_book.icons import inline_icons
from course_book.mathjax import PAGE_SCRIPT
from course_book.plotly_figures import COURSE_BUNDLE_JS, PLOTLY_JS, PLOTLY_SCRIPT_ID

__all__ = [
    "TEMPLATES_DIR",
    "copy_changed_static_files",
    "lazy_load_scripts",
    "prune_page_assets",
    "setup",
    "unused_assets",
    "without_scripts",
]

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Static files no page of the book uses.
UNUSED_EVERYWHERE = frozenset({"sphinx-thebe.css"})
# Static files a page needs only when its document holds what they style or drive.
DESIGN_FILES = frozenset({"sphinx-design.min.css", "design-tabs.js"})
TOGGLE_FILES = frozenset({"togglebutton.css", "togglebutton.js"})
# sphinx-togglebutton's inline settings, which only its script reads.
TOGGLE_SETTINGS = ("toggleHintShow", "toggleHintHide", "toggleOpenOnPrint", "togglebuttonSelector")


def without_scripts(html: str, *names: str) -> Markup:
    """``html`` less every ``<script src=...>`` element whose file name is one of ``names``.

    A query string (``?digest=...``) after the name is allowed; a name must match the whole
    last path segment, so ``"searchindex.js"`` does not remove ``"my-searchindex.js"``.
    """
    if not names:
        return Markup(html)
    alternatives = "|".join(re.escape(name) for name in names)
    pattern = re.compile(
        r"[ \t]*<script\b[^>]*\bsrc=\"(?:[^\"]*/)?(?:" + alternatives + r")(?:\?[^\"]*)?\"[^>]*>"
        r"\s*</script>[ \t]*\n?"
    )
    return Markup(pattern.sub("", str(html)))


def _asset_name(asset) -> str:
    filename = str(getattr(asset, "filename", asset) or "")
    return filename.split("?", 1)[0].rsplit("/", 1)[-1]


def _classes(doctree: nodes.Node) -> set[str]:
    return {name for node in doctree.findall(nodes.Element) for name in node.get("classes", [])}


def unused_assets(doctree: nodes.Node | None) -> frozenset[str]:
    """The static files a page does not use, judged from its document."""
    if doctree is None:  # a page the builder writes itself (search, index): keep its own
        return UNUSED_EVERYWHERE
    classes = _classes(doctree)
    unused = set(UNUSED_EVERYWHERE)
    if not any(name.startswith("sd-") for name in classes):
        unused |= DESIGN_FILES
    has_toggle = "toggle" in classes or any(
        "dropdown" in node.get("classes", []) for node in doctree.findall(nodes.Admonition)
    )
    if not has_toggle:
        unused |= TOGGLE_FILES
    return frozenset(unused)


# Scripts loaded by course_lazy.js: file name -> (the elements that need it, the script's id,
# whether it goes first: the figure in view is drawn before MathJax takes the main thread).
LAZY_SCRIPTS = {
    COURSE_BUNDLE_JS: ("figure.cu-plotly", PLOTLY_SCRIPT_ID, True),
    PLOTLY_JS: ("figure.cu-plotly", PLOTLY_SCRIPT_ID, True),
    f"mathjax/{PAGE_SCRIPT}": (".math", "", False),
}
LAZY_LOADER = STATIC_DIR / "course_lazy.js"


def lazy_load_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Take :data:`LAZY_SCRIPTS` out of the page's ``<head>``; name them to the lazy loader."""
    scripts = context.get("script_files")
    if not scripts:
        return
    entries, kept = [], []
    for script in scripts:
        filename = str(getattr(script, "filename", "") or "").removeprefix("_static/")
        if filename in LAZY_SCRIPTS:
            selector, script_id, first = LAZY_SCRIPTS[filename]
            src = context["pathto"](f"_static/{filename}", 1)
            # Sphinx's own cache-busting checksum, as its <script> tags carry
            checksum = _file_checksum(Path(app.outdir), f"_static/{filename}")
            src = f"{src}?v={checksum}" if checksum else src
            entries.append({"src": src, "id": script_id, "selector": selector, "first": first})
        else:
            kept.append(script)
    if not entries:
        return
    loader = LAZY_LOADER.read_text(encoding="utf-8")
    body = f"window.cuLazyScripts = {json.dumps(entries)};\n{loader}"
    # Into the page's own list: theme.drop_thebe_scripts has given the page a copy of the
    # builder's, so app.add_js_file would no longer reach it.
    kept.append(_JavaScript(None, body=body, priority=900))
    scripts[:] = kept


def prune_page_assets(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Drop from the page's stylesheets and scripts what :func:`unused_assets` names."""
    unused = unused_assets(doctree)
    if "css_files" in context:
        context["css_files"] = [c for c in context["css_files"] if _asset_name(c) not in unused]
    if "script_files" in context:
        toggles_gone = "togglebutton.js" in unused
        kept = []
        for script in context["script_files"]:
            if _asset_name(script) in unused:
                continue
            body = getattr(script, "attributes", {}).get("body", "")
            if toggles_gone and body and any(name in body for name in TOGGLE_SETTINGS):
                continue
            kept.append(script)
        context["script_files"] = kept


def add_templates(app: Sphinx, config: Config) -> None:
    path = str(TEMPLATES_DIR)
    if path not in config.templates_path:
        config.templates_path.append(path)


def register_filters(app: Sphinx) -> None:
    templates = getattr(app.builder, "templates", None)
    environment = getattr(templates, "environment", None)
    if environment is not None:
        environment.filters["course_without_scripts"] = without_scripts
        environment.filters["course_inline_icons"] = inline_icons


def copy_changed_static_files(app: Sphinx, exception) -> None:
    """Copy the extension's static files that differ from the built site's copies.

    Sphinx copies ``html_static_path`` only when some page is written: an edit to
    ``course_plotly.js`` alone ("no targets are out of date") would otherwise never reach
    ``_build/html``. (The pages' ``?v=`` checksums follow at the next page write.)
    """
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static"
    for source in STATIC_DIR.iterdir():
        copy = target / source.name
        if source.is_file() and not (copy.is_file() and filecmp.cmp(source, copy, shallow=False)):
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", add_templates)
    app.connect("build-finished", copy_changed_static_files)
    app.connect("builder-inited", register_filters)
    # after every extension has added its files to the page (the default priority is 500)
    app.connect("html-page-context", lazy_load_scripts, priority=850)
    app.connect("html-page-context", prune_page_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
