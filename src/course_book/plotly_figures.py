"""Interactive Plotly figures in the built book, offline.

With plotly 7 a notebook cell that shows a figure emits only the mime type
``application/vnd.plotly.v1+json``; myst-nb drops it by default, so figures
silently vanish. This module is a myst-nb mime renderer (entry point
``myst_nb.mime_renderers``) that turns that output into a ``<div>`` holding the
figure's JSON (data, layout, frames, sliders), drawn in the browser by
``course_plotly.js`` with plotly.js.

plotly.js is served by the site (no CDN: the site works with no network) and
loaded only by pages that have a figure. Evaluating plotly.js dominates the time to
the first figure, so a page whose figures use only the trace types the book's
figures use (``course_utils.viz.style.CARTESIAN_TRACE_TYPES``: scatter, bar,
histogram, heatmap, contour, image) loads ``plotly-course.min.js``, plotly.js's core
with exactly those (1.3 MB, ~150 ms to evaluate where the 1.5 MB cartesian dist
bundle takes ~480 ms), built from plotly.js's sources at the installed version by
``tools/plotly_bundle/update.sh``; any other page loads the full 4.8 MB bundle
copied from the installed ``plotly`` package.
"""

from __future__ import annotations

import filecmp
import json
import re
import shutil
from functools import cache
from pathlib import Path

import plotly
from docutils import nodes
from plotly.offline import get_plotlyjs_version
from sphinx.application import Sphinx
from sphinx.util import logging

from course_book.common import add_static_dir, json_for_script_tag
from course_book.narrow_figures import narrow_layout

__all__ = [
    "MIME_TYPE",
    "PlotlyFigureNode",
    "PlotlyMimeRenderer",
    "bundle_for",
    "course_bundle",
    "plotly_js_path",
    "registered_trace_types",
    "setup",
    "trace_types",
]

MIME_TYPE = "application/vnd.plotly.v1+json"
PLOTLY_JS = "plotly.min.js"
COURSE_BUNDLE_JS = "plotly-course.min.js"
PLOTLY_SCRIPT_ID = "cu-plotly-js"  # course_plotly.js waits for this script's load event
VENDOR_DIR = Path(__file__).parent / "vendor"
logger = logging.getLogger(__name__)


class PlotlyFigureNode(nodes.General, nodes.Element):
    """A Plotly figure; ``figure_json`` holds the compact JSON of the whole figure."""


class PlotlyMimeRenderer:
    """myst-nb mime render plugin for ``application/vnd.plotly.v1+json``."""

    # Lower is preferred; text/html is 30. A figure beats its HTML and text fallbacks
    # in HTML builders; other builders keep their own choice (an image or text/plain).
    mime_priority_overrides = [("html", MIME_TYPE, 5), ("dirhtml", MIME_TYPE, 5)]

    @staticmethod
    def handle_mime(renderer, data, inline: bool):
        if data.mime_type != MIME_TYPE or inline:
            return None
        figure = data.content
        if isinstance(figure, str):
            figure = json.loads(figure)
        title = _figure_title(figure)
        narrow = narrow_layout(figure)
        if narrow is not None:  # drawn instead of the layout's own keys on a narrow canvas
            figure = {**figure, "narrow": narrow}
        node = PlotlyFigureNode(
            figure_json=json.dumps(figure, separators=(",", ":"), allow_nan=False),
            title=title,
            trace_types=sorted(trace_types(figure)),
            height=_figure_height(figure),
        )
        return [node]


def _figure_height(figure: dict) -> int | None:
    """The figure's own height in pixels, if its layout sets one: the page reserves that
    much room before the figure is drawn, so nothing below it moves when it appears."""
    height = figure.get("layout", {}).get("height")
    if isinstance(height, (int, float)) and not isinstance(height, bool) and height > 0:
        return round(height)
    return None


def _figure_title(figure: dict) -> str:
    title = figure.get("layout", {}).get("title", {})
    if isinstance(title, dict):
        title = title.get("text", "")
    return str(title or "Interactive figure")


def trace_types(figure: dict) -> set[str]:
    """Every trace type a figure draws, in its data and in its animation frames."""
    traces = list(figure.get("data") or [])
    for frame in figure.get("frames") or []:
        traces.extend(frame.get("data") or [])
    return {trace.get("type", "scatter") for trace in traces}


@cache
def course_bundle_version() -> str:
    """The plotly.js version of the vendored course bundle (from its manifest)."""
    manifest = json.loads((VENDOR_DIR / "plotly-bundles.json").read_text())[COURSE_BUNDLE_JS]
    return manifest["version"]


def course_bundle() -> tuple[str, frozenset[str]]:
    """The vendored course bundle's plotly.js version and the trace types it holds.

    The trace types are the library's :data:`~course_utils.viz.style.CARTESIAN_TRACE_TYPES`,
    the one list of them; ``tests/test_plotly_bundle.py`` checks it against the trace
    modules the vendored file registers (:func:`registered_trace_types`).
    """
    # Imported when a page with a figure is written, not when the extension loads:
    # importing course_utils.viz loads torch, which a build with nothing to write never needs.
    from course_utils.viz.style import CARTESIAN_TRACE_TYPES

    return course_bundle_version(), CARTESIAN_TRACE_TYPES


def registered_trace_types(bundle_js: str) -> frozenset[str]:
    """The trace types a plotly.js bundle registers (``moduleType:"trace",name:"bar"``)."""
    return frozenset(re.findall(r'moduleType:"trace",name:"(\w+)"', bundle_js))


def installed_plotly_js_version() -> str:
    return get_plotlyjs_version()


def bundle_for(types: set[str]) -> str:
    """The plotly.js file a page needs: the course bundle when it holds every trace type."""
    version, traces = course_bundle()
    if types <= traces and version == installed_plotly_js_version():
        return COURSE_BUNDLE_JS
    return PLOTLY_JS


def visit_plotly_html(self, node: PlotlyFigureNode) -> None:
    title = self.attval(node["title"])
    height = node.get("height")
    # the CSS reserves 360 px for a figure without a height of its own
    reserved = f' style="min-height: {height}px"' if height else ""
    self.body.append(
        f'<figure class="cu-plotly" role="group" aria-label="{title}">'
        f'<script type="application/json" class="cu-plotly-data">'
        f"{json_for_script_tag(node['figure_json'])}</script>"
        f'<div class="cu-plotly-canvas"{reserved}></div>'
        '<noscript><p class="cu-plotly-noscript">This interactive figure needs JavaScript.</p>'
        "</noscript></figure>\n"
    )
    raise nodes.SkipNode


def skip_node(self, node) -> None:
    raise nodes.SkipNode


def plotly_js_path() -> Path:
    """The full plotly.js bundle that ships inside the installed ``plotly`` package."""
    path = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    if not path.is_file():
        raise FileNotFoundError(f"plotly.js not found in the installed plotly package: {path}")
    return path


def add_plotly_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Load plotly.js and our loader on the pages that have a figure, and only there."""
    if doctree is None:
        return
    figures = list(doctree.findall(PlotlyFigureNode))
    if not figures:
        return
    types = set().union(*(node.get("trace_types", ["scatter"]) for node in figures))
    # plotly.js is async, and course_book.page_assets hands it to the lazy loader, which adds
    # it when a figure comes near. course_plotly.js (small, deferred: it needs the parsed
    # page) draws each figure once both are there.
    app.add_js_file(bundle_for(types), **{"async": "async", "id": PLOTLY_SCRIPT_ID})
    app.add_js_file("course_plotly_narrow.js", defer="defer")  # before course_plotly.js
    app.add_js_file("course_plotly.js", defer="defer")


def warn_on_stale_bundle(app: Sphinx) -> None:
    """Warn when the vendored bundle is not the installed plotly.js (pages get the full one)."""
    version = course_bundle_version()
    installed = installed_plotly_js_version()
    if version != installed:
        logger.warning(
            "the vendored %s is plotly.js %s but plotly ships %s: pages load the full bundle. "
            "Run tools/plotly_bundle/update.sh",
            COURSE_BUNDLE_JS,
            version,
            installed,
        )


def _copy_if_changed(source: Path, target: Path) -> None:
    if target.exists() and filecmp.cmp(source, target, shallow=False):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def copy_plotly_js(app: Sphinx, exception: BaseException | None = None) -> None:
    """Copy both plotly.js bundles into ``_static`` (skipped when unchanged)."""
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    _copy_if_changed(plotly_js_path(), static / PLOTLY_JS)
    _copy_if_changed(VENDOR_DIR / COURSE_BUNDLE_JS, static / COURSE_BUNDLE_JS)


def setup(app: Sphinx) -> dict:
    add_static_dir(app)
    app.add_node(
        PlotlyFigureNode,
        html=(visit_plotly_html, None),
        latex=(skip_node, None),
        text=(skip_node, None),
        man=(skip_node, None),
        texinfo=(skip_node, None),
    )
    app.add_css_file("course_utils.css")
    app.connect("builder-inited", warn_on_stale_bundle)
    app.connect("html-page-context", add_plotly_scripts)
    # when the build starts, so that the pages written after it get its checksum (?v=...)
    app.connect("builder-inited", copy_plotly_js)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
