"""The vendored plotly.js bundle (the book's trace types only), and which pages get it."""

from __future__ import annotations

import hashlib
import json

import plotly.graph_objects as go
import pytest

from course_book.plotly_figures import (
    COURSE_BUNDLE_JS,
    PLOTLY_JS,
    VENDOR_DIR,
    bundle_for,
    course_bundle,
    installed_plotly_js_version,
    plotly_js_path,
    registered_trace_types,
    trace_types,
)
from course_utils.viz.style import CARTESIAN_TRACE_TYPES


def test_vendored_bundle_matches_its_manifest_and_the_installed_plotly():
    manifest = json.loads((VENDOR_DIR / "plotly-bundles.json").read_text())[COURSE_BUNDLE_JS]
    data = (VENDOR_DIR / COURSE_BUNDLE_JS).read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"]
    # The figure JSON that plotly.py writes must be read by the same plotly.js version:
    # after an upgrade of plotly, run tools/plotly_bundle/update.sh.
    assert manifest["version"] == installed_plotly_js_version()
    assert f"minified) v{manifest['version']}" in data[:200].decode()
    assert manifest["traces"] == ",".join(sorted(CARTESIAN_TRACE_TYPES))
    assert (VENDOR_DIR / "LICENSE.plotly.js").is_file()


def test_the_library_lists_exactly_the_trace_types_the_vendored_bundle_registers():
    # One list of trace types (course_utils.viz.style); the bundle itself is the reference.
    bundle = (VENDOR_DIR / COURSE_BUNDLE_JS).read_text(encoding="utf-8")
    assert registered_trace_types(bundle) == CARTESIAN_TRACE_TYPES
    assert course_bundle()[1] == CARTESIAN_TRACE_TYPES
    # and the full bundle registers more (surface, scattergl, ...), so the parse is real
    full = registered_trace_types(plotly_js_path().read_text(encoding="utf-8"))
    assert full > CARTESIAN_TRACE_TYPES and {"surface", "scattergl"} <= full


def test_trace_types_include_animation_frames():
    figure = go.Figure(
        data=[go.Scatter(y=[1, 2]), go.Heatmap(z=[[1]])],
        frames=[go.Frame(data=[go.Surface(z=[[0, 1], [1, 0]])])],
    )
    assert trace_types(figure.to_plotly_json()) == {"scatter", "heatmap", "surface"}
    assert trace_types({"data": [{"y": [1]}]}) == {"scatter"}  # Plotly's default type


@pytest.mark.parametrize(
    ("types", "bundle"),
    [
        ({"scatter"}, COURSE_BUNDLE_JS),
        ({"scatter", "contour", "heatmap", "image", "bar"}, COURSE_BUNDLE_JS),
        ({"scatter", "surface"}, PLOTLY_JS),
        ({"scattergl"}, PLOTLY_JS),
    ],
)
def test_bundle_for_a_page(types, bundle):
    assert bundle_for(types) == bundle


def test_a_stale_bundle_falls_back_to_the_full_plotly_js(monkeypatch):
    import course_book.plotly_figures as plotly_figures

    monkeypatch.setattr(plotly_figures, "installed_plotly_js_version", lambda: "0.0.1")
    assert bundle_for({"scatter"}) == PLOTLY_JS
    assert "scatter" in course_bundle()[1]
