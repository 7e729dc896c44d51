"""The figures as a reader sees them: on a phone, in the dark theme, pictures undistorted.

Every figure of every page is drawn at a phone's width (390 px) and checked for text
that overlaps other text or is cut off by the figure's edge; a screenshot of each is
kept in ``_build/screenshots/`` (phone and dark) for a person to look at. Every figure
is drawn in the dark theme and checked as the light theme is (``test_browser.py``); and
every picture (an image, or a heatmap marked ``PICTURE``) is measured at desktop and
phone width: its pixels are square.

Shares the server, the browser and the tabs of ``test_browser.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import REPO
from playwright.sync_api import Browser
from test_browser import (  # noqa: F401 (chromium and origin are fixtures used here)
    JS_COUNT_MARKS,
    TIMEOUT_MS,
    TRACE_MARKS,
    Tab,
    chromium,
    expect_figure_theme,
    figure_specs,
    listing,
    origin,
    require_built,
    toc_docnames,
)

from course_utils.viz import PICTURE

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS = REPO / "_build" / "screenshots"

# Text boxes inside a drawn figure that overlap each other or stick out of its canvas.
# Tick labels of an x and a y axis may touch at the corner where the axes meet; any other
# pair of texts overlapping by more than 2 px each way is a problem.
JS_TEXT_PROBLEMS = r"""figure => {
  const canvas = figure.querySelector('.cu-plotly-canvas');
  const box = canvas.getBoundingClientRect();
  const shown = el => {
    for (let e = el; e && e !== figure; e = e.parentNode) {
      if (!e.getAttribute) continue;
      const style = getComputedStyle(e);
      if (style.display === 'none' || style.visibility === 'hidden') return false;
      if (style.opacity === '0') return false;
      if (style.fillOpacity === '0' || /rgba\(.*,\s*0\)$/.test(style.fill)) return false;
    }
    return true;
  };
  // A text's outline on the screen: the four corners of its box, turned as it is drawn
  // (tick labels at 45 degrees have boxes on the screen far larger than their letters).
  const corners = t => {
    const b = t.getBBox(), m = t.getScreenCTM();
    const xs = [b.x, b.x + b.width], ys = [b.y, b.y + b.height];
    return [[xs[0], ys[0]], [xs[1], ys[0]], [xs[1], ys[1]], [xs[0], ys[1]]]
      .map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
  };
  // By how much two convex outlines overlap along the axis that separates them best
  // (the separating axis theorem): at most 0 when they do not meet.
  const depth = (p, q) => {
    let least = Infinity;
    for (const poly of [p, q]) for (let i = 0; i < 4; i++) {
      const [x1, y1] = poly[i], [x2, y2] = poly[(i + 1) % 4];
      const len = Math.hypot(x2 - x1, y2 - y1) || 1;
      const ax = -(y2 - y1) / len, ay = (x2 - x1) / len;
      const proj = pts => pts.map(([x, y]) => x * ax + y * ay);
      const a = proj(p), b = proj(q);
      least = Math.min(least, Math.min(Math.max(...a), Math.max(...b))
                              - Math.max(Math.min(...a), Math.min(...b)));
    }
    return least;
  };
  const texts = [...figure.querySelectorAll('svg.main-svg text')]
    .filter(t => t.textContent.trim() && shown(t))
    .map(t => ({ text: t.textContent.trim().slice(0, 40),
                 kind: t.parentNode.getAttribute('class') || '',
                 r: t.getBoundingClientRect(), outline: corners(t) }))
    .filter(t => t.r.width > 0 && t.r.height > 0);
  const problems = [];
  for (const t of texts) {
    if (t.r.left < box.left - 1 || t.r.right > box.right + 1
        || t.r.top < box.top - 1 || t.r.bottom > box.bottom + 1)
      problems.push(`cut off by the edge: "${t.text}"`);
  }
  const tick = /^[xy]\d*tick$/;
  const corner = (a, b) => tick.test(a.kind) && tick.test(b.kind) && a.kind[0] !== b.kind[0];
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
    const a = texts[i], b = texts[j];
    const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
    const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
    if (w > 2 && h > 2 && depth(a.outline, b.outline) > 2 && !(corner(a, b) && w < 6 && h < 6))
      problems.push(`overlap: "${a.text}" / "${b.text}"`);
  }
  return problems;
}"""

# For every picture of a drawn figure: (its trace index, its pixels' height / width).
JS_PIXEL_ASPECTS = """(figure, picture) => {
  const canvas = figure.querySelector('.cu-plotly-canvas');
  const layout = canvas._fullLayout;
  const key = ref => ref[0] + 'axis' + ref.slice(1);
  return canvas._fullData
    .filter(t => t.visible !== false && (t.type === 'image' || t.meta === picture))
    .map(t => {
      const x = layout[key(t.xaxis)], y = layout[key(t.yaxis)];
      const perX = x._length / Math.abs(x.range[1] - x.range[0]);
      const perY = y._length / Math.abs(y.range[1] - y.range[0]);
      return [t.index, (perY * (t.dy || 1)) / (perX * (t.dx || 1))];
    });
}"""


# Log axes whose ticks plotly.js labels with their leading digit only ("2", "5" between
# "1" and "10": its dtick "D1" or "D2"), which reads as a 2 above a 10.
JS_DIGIT_LOG_AXES = """figure => {
  const layout = figure.querySelector('.cu-plotly-canvas')._fullLayout;
  return Object.keys(layout).filter(k => /^[xy]axis\\d*$/.test(k))
    .filter(k => layout[k].type === 'log' && String(layout[k].dtick).startsWith('D'));
}"""


@pytest.fixture
def open_tab_at(chromium: Browser, origin: str) -> Iterator[Callable[..., Tab]]:  # noqa: F811
    """``open_tab_at(viewport, color_scheme="light")``: a new Tab in a fresh context."""
    contexts = []

    def open_(viewport: dict, color_scheme: str = "light") -> Tab:
        context = chromium.new_context(viewport=viewport, color_scheme=color_scheme)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        return Tab(context=context, origin=origin)

    yield open_
    for context in contexts:
        context.close()


def screenshot_path(kind: str, docname: str, index: int) -> Path:
    path = SCREENSHOTS / kind / f"{docname.replace('/', '--')}--{index}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize("docname", toc_docnames())
def test_figures_fit_a_phone(site, open_tab_at, docname):
    """At 390 px every figure is readable: no text over other text, none cut off."""
    require_built(site, docname)
    specs = figure_specs(site, docname)
    if not specs:
        return
    tab = open_tab_at(PHONE)
    tab.goto(docname)
    problems = []
    for index in range(len(specs)):
        figure = tab.figure(index)
        width = figure.evaluate("f => f.querySelector('.cu-plotly-canvas').clientWidth")
        assert width <= PHONE["width"], f"{docname}, figure {index}: {width} px wide"
        figure.screenshot(path=screenshot_path("phone", docname, index))
        problems += [f"figure {index}: {p}" for p in figure.evaluate(JS_TEXT_PROBLEMS)]
    if problems:
        pytest.fail(listing(f"{docname} at {PHONE['width']} px", problems))
    assert not tab.errors, listing(f"{docname} at {PHONE['width']} px", tab.errors)


@pytest.mark.parametrize("docname", toc_docnames())
def test_figures_draw_in_the_dark_theme(site, open_tab_at, docname):
    """A reader whose system is dark gets every figure drawn dark from the start, with
    marks for every trace, light text, and no plot area left white. (And, at desktop
    width, no log axis labelled with bare digits.)"""
    require_built(site, docname)
    specs = figure_specs(site, docname)
    if not specs:
        return
    tab = open_tab_at(DESKTOP, "dark")
    tab.goto(docname)
    problems = []
    for index, spec in enumerate(specs):
        figure = tab.figure(index)
        where = f"{docname}, figure {index}"
        expect_figure_theme(figure, "dark", where)
        for trace_type in sorted({trace.get("type", "scatter") for trace in spec["data"]}):
            if figure.evaluate(JS_COUNT_MARKS, TRACE_MARKS[trace_type]) == 0:
                problems.append(f"{where}: nothing drawn for its {trace_type} traces")
        light = figure.evaluate(
            """f => [...f.querySelectorAll('.cu-plotly-canvas rect.bg')]
                 .map(r => getComputedStyle(r).fill)
                 .filter(c => (c.match(/\\d+/g) || []).slice(0, 3).every(v => Number(v) > 200))"""
        )
        if light:
            problems.append(f"{where}: a plot area stays white in the dark theme: {light}")
        for axis in figure.evaluate(JS_DIGIT_LOG_AXES):
            problems.append(f"{where}: log axis {axis} labels ticks with bare leading digits")
        figure.screenshot(path=screenshot_path("dark", docname, index))
    problems += tab.errors
    if problems:
        pytest.fail(listing(f"{docname}, dark theme", problems))


def picture_figures() -> list[tuple[str, int]]:
    from conftest import SITE

    return [
        (docname, index)
        for docname in toc_docnames()
        for index, spec in enumerate(figure_specs(SITE, docname))
        if any(t.get("type") == "image" or t.get("meta") == PICTURE for t in spec["data"])
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_pictures_keep_square_pixels(site, open_tab_at, viewport):
    figures = picture_figures()
    assert figures, "no figure of the book draws a picture"
    tab = open_tab_at(viewport)
    problems, current = [], None
    for docname, index in figures:
        if docname != current:
            tab.goto(docname)
            current = docname
        figure = tab.figure(index)
        for trace, aspect in figure.evaluate(JS_PIXEL_ASPECTS, PICTURE):
            if abs(aspect - 1) > 0.02:
                problems.append(f"{docname}, figure {index}, trace {trace}: pixels {aspect:.2f}:1")
    if problems:
        pytest.fail(listing(f"pictures stretched at {viewport['width']} px", problems))
