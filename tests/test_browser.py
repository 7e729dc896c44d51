"""The built book in headless Chromium: clean loads, offline figures, dark mode, videos.

The site is served over HTTP from 127.0.0.1 (not ``file://``) so that every request
a page makes can be observed. Any request that leaves the local server is aborted,
so nothing can hang on the network, and recorded, so that the test can fail on it.

Run ``pytest tests/test_browser.py -s`` to see the load measurements printed by
:func:`test_measure_first_figure`.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from helpers import REPO
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    Response,
    Route,
    expect,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from course_book.common import toc_docnames as book_toc

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_MS = 15_000  # any single wait; a figure draws in well under a second
LOCAL_SCHEMES = ("data:", "blob:", "about:")
# Errors from the theme that cannot be fixed in this project: exact text (of a console
# error or an uncaught exception) -> why it is ignored. Empty: every error is ours to fix.
THEME_NOISE: dict[str, str] = {}

EMBED = "https://www.youtube-nocookie.com/embed/"
PLOTLY_JS = re.compile(r"/_static/plotly(-course)?\.min\.js(\?|$)")
# Hosts that a page with video placeholders must not contact before a click.
VIDEO_HOSTS = re.compile(
    r"(^|\.)(youtube\.com|youtube-nocookie\.com|youtu\.be|ytimg\.com|googlevideo\.com"
    r"|google\.com|googleapis\.com|gstatic\.com|doubleclick\.net)$"
)

# What Plotly draws for each trace type the book uses; a new type needs a line here.
TRACE_MARKS = {
    "scatter": ".scatterlayer .trace path",
    "heatmap": ".heatmaplayer .hm image",
    "bar": ".barlayer .point path",
    "histogram": ".barlayer .point path",  # plotly draws a histogram's bins as bars
    "contour": ".contourlayer path",
    "image": ".imagelayer image",
}
# How many of the elements that match a selector carry a shape or an image. (A heatmap's
# image has its href in the XLink namespace, which CSS attribute selectors do not see.)
JS_COUNT_MARKS = """(figure, selector) => [...figure.querySelectorAll(selector)]
  .filter(e => (e.getAttribute('d') || e.getAttribute('href') || '').length > 0).length"""

# Everything Plotly drew for the traces of a figure, as one string.
JS_DRAWN_MARKS = """figure => [...figure.querySelectorAll(
    '.main-svg .overplot path, .main-svg .overplot image, .main-svg .overplot text')]
  .map(e => e.getAttribute('d') || e.getAttribute('href') || e.textContent).join('|')"""

# The relative luminance (0 black .. 1 white) of a CSS colour, as the browser parses it
# (a canvas writes it back as #rrggbb, or rgba(r, g, b, a) when translucent); null if none.
JS_LUMINANCE = """color => {
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.fillStyle = 'rgba(0, 0, 0, 0)';
  ctx.fillStyle = color || '';
  const parsed = ctx.fillStyle;
  const channels = parsed.startsWith('#')
    ? [1, 3, 5].map(i => parseInt(parsed.slice(i, i + 2), 16))
    : (parsed.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  if (channels.length !== 3 || /rgba\\(0, 0, 0, 0\\)/.test(parsed)) return null;
  const [r, g, b] = channels.map(c => c / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}"""

# The colours of a drawn figure and their luminance.
JS_FIGURE_COLOURS = f"""figure => {{
  const luminance = {JS_LUMINANCE};
  const layout = figure.querySelector('.cu-plotly-canvas')._fullLayout;
  const svg = figure.querySelector('svg.main-svg');
  return {{
    paper: layout.paper_bgcolor, paperLuminance: luminance(layout.paper_bgcolor),
    font: layout.font.color, fontLuminance: luminance(layout.font.color),
    svgBackground: svg.style.background,
    svgLuminance: luminance(svg.style.backgroundColor),
  }};
}}"""

# Opens every closed <details> around an element (a hide-cell cell: its code and output behind
# one toggle), as a reader's click on its summary does.
JS_OPEN_TOGGLES = """element => {
  const closed = () => element.closest('details:not([open])');
  for (let d = closed(); d; d = closed()) {
    d.querySelector(':scope > summary').click();
    if (!d.open) d.open = true;
  }
}"""

# Marks the sections headed "Solution..." (an exercise's worked answer); returns how many.
JS_MARK_SOLUTIONS = """() => {
  const headings = [...document.querySelectorAll(
    'section > h2, section > h3, section > h4, section > h5')]
    .filter(h => h.textContent.replace(/#$/, '').trim().startsWith('Solution'));
  headings.forEach(h => h.parentElement.setAttribute('data-cu-solution', ''));
  return headings.length;
}"""

# Records the time of the first drawn figure; runs before any script of the page.
INIT_FIRST_FIGURE = """
window.__cuFirstFigureMs = null;
document.addEventListener('cu-plotly-drawn', () => {
  if (window.__cuFirstFigureMs === null) window.__cuFirstFigureMs = performance.now();
}, true);
"""

JS_PAGE_WEIGHT = r"""() => {
  const entries = [...performance.getEntriesByType('navigation'),
                   ...performance.getEntriesByType('resource')];
  const plotly = entries.filter(e => /\/_static\/plotly(-course)?\.min\.js/.test(e.name));
  return {
    requests: entries.length,
    transferred: entries.reduce((sum, e) => sum + e.transferSize, 0),
    plotly: plotly.reduce((sum, e) => sum + e.transferSize, 0),
    load: performance.getEntriesByType('navigation')[0].loadEventEnd,
  };
}"""


# --- the pages ---------------------------------------------------------------------


def toc_docnames() -> list[str]:
    """Every page of the table of contents, root first."""
    return book_toc(REPO)


ROOT = toc_docnames()[0]


@functools.cache
def figure_specs(site: Path, docname: str) -> tuple[dict, ...]:
    """The Plotly figures of a built page, as the JSON embedded in it (none if not built)."""
    path = site / f"{docname}.html"
    if not path.is_file():
        return ()
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    return tuple(
        json.loads(figure.select_one("script.cu-plotly-data").string)
        for figure in soup.select("figure.cu-plotly")
    )


def figure_pages(site: Path) -> list[str]:
    """The built toc pages that have a figure, the one with the most figures first."""
    pages = [name for name in toc_docnames() if figure_specs(site, name)]
    return sorted(pages, key=lambda name: -len(figure_specs(site, name)))


# --- the server, the browser and one page ------------------------------------------


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def origin(site: Path) -> Iterator[str]:
    """``http://127.0.0.1:PORT``, serving the built site from a background thread."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def chromium(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Tab:
    """A page in a browser context of its own, with everything it reported and requested."""

    context: BrowserContext
    origin: str
    page: Page = field(init=False)
    errors: list[str] = field(default_factory=list)  # console errors, uncaught exceptions
    requests: list[str] = field(default_factory=list)  # every URL asked for, in order
    failed: list[str] = field(default_factory=list)  # local requests that failed
    _in_flight: set[Request] = field(default_factory=set)
    _last_activity: float = 0.0

    def __post_init__(self) -> None:
        self.context.route("**/*", self._route)  # before the page exists: it sees everything
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self._error("uncaught", str(error)))
        self.page.on("request", self._request)
        self.page.on("response", self._response)
        self.page.on("requestfinished", self._request_done)
        self.page.on("requestfailed", self._request_failed)

    def is_local(self, url: str) -> bool:
        return url.startswith((f"{self.origin}/", *LOCAL_SCHEMES))

    def external(self, since: int = 0) -> list[str]:
        return [url for url in self.requests[since:] if not self.is_local(url)]

    def goto(self, docname: str) -> None:
        self.page.goto(f"{self.origin}/{docname}.html")

    def settle(self, quiet_ms: int = 500) -> None:
        """Wait until no request has been in flight for ``quiet_ms``.

        Not Playwright's "networkidle": on the pages with plotly.js it sometimes never
        comes, with no request pending that Playwright reports.
        """
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while self._in_flight or time.monotonic() - self._last_activity < quiet_ms / 1000:
            if time.monotonic() > deadline:
                pending = sorted(request.url for request in self._in_flight)
                pytest.fail(listing(f"still loading after {TIMEOUT_MS} ms", pending))
            self.page.wait_for_timeout(100)  # lets Playwright deliver the page's events

    def figure(self, index: int) -> Locator:
        """Figure ``index`` of the page, shown (a closed toggle around it opened, as a reader
        opens a solution), scrolled into view and drawn."""
        figure = self.page.locator("figure.cu-plotly").nth(index)
        figure.evaluate(JS_OPEN_TOGGLES)
        figure.scroll_into_view_if_needed()
        expect(figure).to_have_attribute("data-cu-drawn", "true", timeout=TIMEOUT_MS)
        return figure

    def _error(self, kind: str, text: str, where: str = "") -> None:
        if text not in THEME_NOISE:
            self.errors.append(f"{kind}: {text}" + (f" ({where})" if where else ""))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self._error("console.error", message.text, message.location.get("url", ""))

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)
        self._in_flight.add(request)
        self._last_activity = time.monotonic()

    def _request_done(self, request: Request) -> None:
        self._in_flight.discard(request)
        self._last_activity = time.monotonic()

    def _response(self, response: Response) -> None:
        if response.status >= 400 and self.is_local(response.url):
            self.failed.append(f"HTTP {response.status}: {response.url}")

    def _request_failed(self, request: Request) -> None:
        self._request_done(request)
        if self.is_local(request.url):
            self.failed.append(f"{request.failure}: {request.url}")

    def _route(self, route: Route) -> None:
        """Let local requests through; abort the rest (``requests`` still has them)."""
        if self.is_local(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")


@pytest.fixture
def open_tab(chromium: Browser, origin: str) -> Iterator[Callable[..., Tab]]:
    """``open_tab(init_script=None)``: a new Tab, in a fresh context (no cache, no storage)."""
    contexts = []

    def open_(init_script: str | None = None) -> Tab:
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        if init_script:
            context.add_init_script(init_script)
        return Tab(context=context, origin=origin)

    yield open_
    for context in contexts:
        context.close()


def listing(problem: str, items: list[str]) -> str:
    """A failure message that shows every item, not pytest's shortened diff."""
    return "\n    ".join([f"{problem} ({len(items)}):", *items])


def require_built(site: Path, docname: str) -> None:
    if not (site / f"{docname}.html").is_file():
        pytest.fail(f"{docname} is in _toc.yml but {docname}.html was not built")


# --- 1. every page loads cleanly and offline ---------------------------------------------


@pytest.mark.parametrize("docname", toc_docnames())
def test_page_loads_cleanly_and_offline(site, open_tab, docname):
    require_built(site, docname)
    tab = open_tab()
    tab.goto(docname)
    tab.settle()
    problems = [f"request outside the site: {url}" for url in tab.external()]
    problems += tab.errors + tab.failed
    if problems:
        pytest.fail(listing(f"{docname}, on load", problems))


# --- 2. figures draw -------------------------------------------------------------------


@pytest.mark.parametrize("docname", toc_docnames())
def test_figures_draw(site, open_tab, docname):
    require_built(site, docname)
    specs = figure_specs(site, docname)
    tab = open_tab()
    tab.goto(docname)
    tab.settle()
    if not specs:
        plotly = [url for url in tab.requests if PLOTLY_JS.search(url)]
        assert plotly == [], f"{docname} has no figure but loads plotly.js"
        return
    errors, requests = len(tab.errors), len(tab.requests)
    for index, spec in enumerate(specs):
        figure = tab.figure(index)
        where = f"{docname}, figure {index}"
        traces = figure.evaluate("f => f.querySelector('.cu-plotly-canvas').data.length")
        assert traces == len(spec["data"]), where
        assert figure.locator("svg.main-svg").count() >= 1, f"{where}: no SVG"
        for trace_type in sorted({trace.get("type", "scatter") for trace in spec["data"]}):
            assert trace_type in TRACE_MARKS, f"{where}: add the marks of {trace_type!r}"
            marks = figure.evaluate(JS_COUNT_MARKS, TRACE_MARKS[trace_type])
            assert marks > 0, f"{where}: nothing drawn for its {trace_type} traces"
    problems = [f"request outside the site: {url}" for url in tab.external(since=requests)]
    problems += tab.errors[errors:]
    if problems:
        pytest.fail(listing(f"{docname}, while drawing its figures", problems))


def solution_count(site: Path, docname: str) -> int:
    """How many sections of a built page are headed "Solution..."."""
    soup = BeautifulSoup((site / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")
    headings = soup.select("section > h2, section > h3, section > h4, section > h5")
    return sum(h.get_text(strip=True).removesuffix("#").startswith("Solution") for h in headings)


# What a solution must not show before it is opened: its cells' code and output, the numbers
# pasted into its prose, and the sentences of its dropdowns.
SOLUTION_PARTS = (
    ".cell_input, .cell_output:not(:has(.cu-provenance)), .pasted-text,"
    " .admonition.dropdown > :not(.admonition-title)"
)


@pytest.mark.parametrize("docname", toc_docnames())
def test_solutions_stay_closed_then_open_with_their_figures(site, open_tab, docname):
    """Before a click, nothing of a solution shows; one click on a step's toggle shows its
    code and output together, and each of its figures draws, as wide as its column."""
    require_built(site, docname)
    expected = solution_count(site, docname)
    if not expected:
        return
    tab = open_tab()
    tab.goto(docname)
    tab.settle()
    assert tab.page.evaluate(JS_MARK_SOLUTIONS) == expected, docname
    solutions = tab.page.locator("section[data-cu-solution]")
    parts = solutions.locator(SOLUTION_PARTS)
    assert parts.count(), f"{docname}: its solutions have nothing to open"
    shown = [
        " ".join(parts.nth(i).inner_text().split())[:80]
        for i in range(parts.count())
        if parts.nth(i).is_visible()
    ]
    if shown:
        pytest.fail(listing(f"{docname}: solution parts visible before a click", shown))

    # open every step, one click each, as a reader would
    errors = len(tab.errors)
    summaries = solutions.locator("details > summary")
    for i in range(summaries.count()):
        summaries.nth(i).click()
        cell = summaries.nth(i).locator("xpath=ancestor::div[contains(@class, 'cell')][1]")
        for part in (cell.locator(".cell_input"), cell.locator(".cell_output")):
            if part.count() and part.first.inner_text().strip():
                expect(part.first).to_be_visible()  # code and output, with the one click
    dropdowns = solutions.locator(".admonition.dropdown > .admonition-title")
    for i in range(dropdowns.count()):
        dropdowns.nth(i).click()
    unopened = solutions.locator("details:not([open]), .admonition.toggle-hidden")
    assert unopened.count() == 0, f"{docname}: {unopened.count()} toggles still closed"
    hidden = [
        " ".join(parts.nth(i).inner_text().split())[:80]
        for i in range(parts.count())
        if parts.nth(i).inner_text().strip() and not parts.nth(i).is_visible()
    ]
    if hidden:
        pytest.fail(listing(f"{docname}: solution parts still hidden once opened", hidden))

    figures = solutions.locator("figure.cu-plotly")
    for i in range(figures.count()):
        figure = figures.nth(i)
        figure.scroll_into_view_if_needed()
        expect(figure).to_have_attribute("data-cu-drawn", "true", timeout=TIMEOUT_MS)
        drawn, column = figure.evaluate(  # the width drawn, and the width of the column it fills
            "f => [f.querySelector('svg.main-svg').getBoundingClientRect().width,"
            " f.querySelector('.cu-plotly-canvas').getBoundingClientRect().width]"
        )
        where = f"{docname}, solution figure {i}"
        assert column > 300, f"{where}: its column is {column} px wide"
        assert abs(drawn - column) <= 3, f"{where}: drawn {drawn} px wide in a {column} px column"
    if tab.errors[errors:]:
        pytest.fail(listing(f"{docname}, opening its solutions", tab.errors[errors:]))


def test_sliders_change_the_plotted_data(site, open_tab):
    """Clicking another step of a slider redraws the figure with that step's data."""
    sliders = [
        (docname, index)
        for docname in figure_pages(site)
        for index, spec in enumerate(figure_specs(site, docname))
        if spec.get("layout", {}).get("sliders")
    ]
    assert sliders, "no figure in the book has a slider"
    for docname in dict.fromkeys(name for name, _ in sliders):  # one page load per page
        tab = open_tab()
        tab.goto(docname)
        errors = len(tab.errors)
        for index in [i for name, i in sliders if name == docname]:
            spec, where = figure_specs(site, docname)[index], f"{docname}, figure {index}"
            check_slider(tab, index, spec, where)
        if tab.errors[errors:]:
            pytest.fail(listing(f"{docname}, while moving a slider", tab.errors[errors:]))


def check_slider(tab: Tab, index: int, spec: dict, where: str) -> None:
    figure = tab.figure(index)
    canvas = figure.locator(".cu-plotly-canvas")
    steps = spec["layout"]["sliders"][0]["steps"]
    active = canvas.evaluate("c => c._fullLayout.sliders[0].active")
    target = len(steps) - 1 if active != len(steps) - 1 else 0
    data_before = canvas.evaluate("c => JSON.stringify(c.data)")
    marks_before = figure.evaluate(JS_DRAWN_MARKS)

    # Plotly draws a tick for every step (a label only for some, when they are many) and
    # reads a click anywhere on the rail as "the step nearest to this x".
    ticks = figure.locator("g.slider-container rect.slider-tick-rect")
    expect(ticks).to_have_count(len(steps), timeout=TIMEOUT_MS)
    rail_rect = figure.locator("g.slider-container rect.slider-rail-rect")
    rail_rect.scroll_into_view_if_needed()  # a tall figure can leave its slider off screen
    tick, rail = ticks.nth(target).bounding_box(), rail_rect.bounding_box()
    assert tick and rail, f"{where}: the slider is not drawn"
    tab.page.mouse.click(tick["x"] + tick["width"] / 2, rail["y"] + rail["height"] / 2)
    try:
        tab.page.wait_for_function(
            f"""([figure, target, before]) => {{
                const layout = figure.querySelector('.cu-plotly-canvas')._fullLayout;
                return layout.sliders[0].active === target && ({JS_DRAWN_MARKS})(figure) !== before;
            }}""",
            arg=[figure.element_handle(), target, marks_before],
            timeout=TIMEOUT_MS,
        )
    except PlaywrightTimeout:
        pytest.fail(f"{where}: step {target + 1} of the slider did not redraw the traces")
    assert canvas.evaluate("c => JSON.stringify(c.data)") != data_before, where

    # The figure now holds what the step sets: restyle/update args are
    # [{trace attribute: [value for each trace]}, {layout attribute: value}, [traces]].
    step = steps[target]
    method, args = step.get("method"), step.get("args", [])
    if method in ("restyle", "update") and args:
        data, layout = canvas.evaluate("c => [c.data, c.layout]")
        traces = args[2] if len(args) > 2 else range(len(data))
        for attribute, values in args[0].items():
            for trace, value in zip(traces, values, strict=False):
                drawn = dotted(data[trace], attribute)
                assert drawn == value, f"{where}: {attribute} of trace {trace} after the step"
        for attribute, value in (args[1] if method == "update" and len(args) > 1 else {}).items():
            assert dotted(layout, attribute) == value, f"{where}: layout {attribute} after the step"


def choice_menus(spec: dict) -> list[int]:
    """Indices of a figure's rows of buttons that choose a variant (not play/pause)."""
    menus = spec.get("layout", {}).get("updatemenus") or []
    return [
        i
        for i, menu in enumerate(menus)
        if not all(b.get("method") == "animate" for b in menu.get("buttons", []))
    ]


def keyboard_figures(site: Path) -> list[tuple[str, int]]:
    return [
        (docname, index)
        for docname in figure_pages(site)
        for index, spec in enumerate(figure_specs(site, docname))
        if spec.get("layout", {}).get("sliders") or choice_menus(spec)
    ]


def test_sliders_and_buttons_answer_the_keyboard(site, open_tab):
    """Tab reaches every figure with controls; End/Home move the slider, digits press buttons."""
    figures = keyboard_figures(site)
    assert figures, "no figure in the book has a slider or buttons"
    for docname in dict.fromkeys(name for name, _ in figures):
        tab = open_tab()
        tab.goto(docname)
        errors = len(tab.errors)
        for index in [i for name, i in figures if name == docname]:
            spec, where = figure_specs(site, docname)[index], f"{docname}, figure {index}"
            figure = tab.figure(index)
            canvas = figure.locator(".cu-plotly-canvas")
            assert figure.get_attribute("tabindex") == "0", f"{where}: not focusable"
            assert "Keyboard:" in figure.get_attribute("aria-label"), where
            figure.focus()
            if spec["layout"].get("sliders"):
                steps = len(spec["layout"]["sliders"][0]["steps"])
                active = canvas.evaluate("c => c._fullLayout.sliders[0].active || 0")
                key, target = ("Home", 0) if active == steps - 1 else ("End", steps - 1)
                before = canvas.evaluate("c => JSON.stringify(c.data)")
                tab.page.keyboard.press(key)
                tab.page.wait_for_function(
                    "([c, t, b]) => c._fullLayout.sliders[0].active === t"
                    " && JSON.stringify(c.data) !== b",
                    arg=[canvas.element_handle(), target, before],
                    timeout=TIMEOUT_MS,
                )
            for menu in choice_menus(spec)[:1]:
                buttons = spec["layout"]["updatemenus"][menu]["buttons"]
                active = canvas.evaluate(f"c => c._fullLayout.updatemenus[{menu}].active")
                target = 1 if active == 0 else 0
                before = canvas.evaluate("c => JSON.stringify(c.data.map(t => t.visible))")
                tab.page.keyboard.press(str(target + 1))
                tab.page.wait_for_function(
                    f"([c, t]) => c._fullLayout.updatemenus[{menu}].active === t",
                    arg=[canvas.element_handle(), target],
                    timeout=TIMEOUT_MS,
                )
                after = canvas.evaluate("c => JSON.stringify(c.data.map(t => t.visible))")
                changes_visibility = any(
                    "visible" in (b.get("args") or [{}])[0] for b in buttons if b.get("args")
                )
                if changes_visibility:
                    assert after != before, f"{where}: button {target + 1} showed nothing new"
        if tab.errors[errors:]:
            pytest.fail(listing(f"{docname}, keyboard", tab.errors[errors:]))


def dotted(obj: object, path: str) -> object:
    """``obj["a"]["b"]`` for the Plotly attribute string ``"a.b"``."""
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


# --- 3. dark mode ------------------------------------------------------------------------


def switch_theme(tab: Tab, theme: str) -> None:
    """Click the theme button as a reader would, until the page shows ``theme``."""
    button = tab.page.locator(".theme-switch-button").first
    for _ in range(3):  # the button cycles through three modes
        if tab.page.evaluate("() => document.documentElement.dataset.theme") == theme:
            return
        button.click()
    expect(tab.page.locator("html")).to_have_attribute("data-theme", theme, timeout=TIMEOUT_MS)


def expect_figure_theme(figure: Locator, theme: str, where: str) -> None:
    """Wait until the figure's paper is dark (or light), and its text contrasts with it."""
    dark = theme == "dark"
    try:
        figure.page.wait_for_function(
            f"""([figure, dark]) => {{
                const paper = ({JS_FIGURE_COLOURS})(figure).paperLuminance;
                return paper !== null && (dark ? paper < 0.2 : paper > 0.8);
            }}""",
            arg=[figure.element_handle(), dark],
            timeout=TIMEOUT_MS,
        )
    except PlaywrightTimeout:
        colours = figure.evaluate(JS_FIGURE_COLOURS)
        pytest.fail(f"{where}: not redrawn for the {theme} theme: {colours}")
    colours = figure.evaluate(JS_FIGURE_COLOURS)
    assert None not in (colours["svgLuminance"], colours["fontLuminance"]), (where, colours)
    assert abs(colours["svgLuminance"] - colours["paperLuminance"]) < 0.01, (where, colours)
    if dark:
        assert colours["fontLuminance"] > 0.6, (where, colours)
    else:
        assert colours["fontLuminance"] < 0.4, (where, colours)


# Each button of a figure's button rows: (its label, contrast ratio of its text on its face).
JS_BUTTON_CONTRASTS = """figure => {
  const luminance = color => {  // WCAG's relative luminance of a CSS colour
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.fillStyle = color;
    const hex = ctx.fillStyle;  // #rrggbb
    return [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map(c => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
      .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  };
  const ratio = (a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  return [...figure.querySelectorAll('g.updatemenu-button')].map(button => {
    const face = button.querySelector('rect.updatemenu-item-rect').style.fill;
    const text = button.querySelector('text.updatemenu-item-text').style.fill;
    return [button.textContent, ratio(luminance(face), luminance(text))];
  });
}"""


def test_every_button_is_readable_in_both_themes(site, open_tab):
    """The text of every button, the pressed one included, contrasts with its face (4.5:1,
    WCAG's bar for text) in the light and the dark theme."""
    pages = [
        (docname, index)
        for docname in figure_pages(site)
        for index, spec in enumerate(figure_specs(site, docname))
        if not all(map(is_animation_menu, spec.get("layout", {}).get("updatemenus", [])))
    ]
    assert pages, "no figure of the book has a row of buttons"
    docname, index = pages[0]
    tab = open_tab()
    tab.goto(docname)
    figure = tab.figure(index)
    for theme in ("light", "dark"):
        switch_theme(tab, theme)
        expect_figure_theme(figure, theme, f"{docname}, figure {index}")
        contrasts = figure.evaluate(JS_BUTTON_CONTRASTS)
        assert contrasts, f"{docname}, figure {index}: no button drawn"
        unreadable = [f"{label!r}: {ratio:.1f}:1" for label, ratio in contrasts if ratio < 4.5]
        if unreadable:
            pytest.fail(listing(f"{docname}, figure {index}, {theme} theme", unreadable))


def is_animation_menu(menu: dict) -> bool:
    return all(button.get("method") == "animate" for button in menu.get("buttons", []))


def test_figures_follow_the_dark_theme(site, open_tab):
    pages = figure_pages(site)
    assert pages, "no page of the book has a figure"
    docname = pages[0]
    last = len(figure_specs(site, docname)) - 1
    tab = open_tab()
    tab.goto(docname)
    first = tab.figure(0)
    expect_figure_theme(first, "light", f"{docname}, figure 0")
    errors = len(tab.errors)

    drawn = tab.page.locator("figure.cu-plotly").nth(last).get_attribute("data-cu-drawn")
    switch_theme(tab, "dark")
    expect_figure_theme(first, "dark", f"{docname}, figure 0 after the switch")
    # The last figure is usually drawn only now, from the start in the dark theme.
    where = f"{docname}, figure {last} ({'redrawn' if drawn else 'drawn after the switch'})"
    expect_figure_theme(tab.figure(last), "dark", where)

    switch_theme(tab, "light")
    for index in (0, last):
        figure = tab.page.locator("figure.cu-plotly").nth(index)
        expect_figure_theme(figure, "light", f"{docname}, figure {index} back to light")
    if tab.errors[errors:]:
        pytest.fail(listing(f"{docname}, while switching themes", tab.errors[errors:]))


# --- 4. video placeholders -----------------------------------------------------------------


@dataclass
class Moment:
    video_id: str
    seconds: int
    link: Locator


def moment(links: Locator, index: int) -> Moment:
    """Timestamp link ``index``, its video and time read from its href and visible text."""
    link = links.nth(index)
    href = urlsplit(link.get_attribute("href"))
    assert href.netloc == "youtu.be", href
    seconds = int(parse_qs(href.query)["t"][0])
    clock = link.locator(".cu-video-time").inner_text()
    parts = [int(part) for part in clock.split(":")]
    assert sum(part * 60**power for power, part in enumerate(reversed(parts))) == seconds
    return Moment(video_id=href.path.strip("/"), seconds=seconds, link=link)


def video_requests(tab: Tab) -> list[str]:
    return [url for url in tab.requests if VIDEO_HOSTS.search(urlsplit(url).hostname or "")]


def expect_player(tab: Tab, box: Locator, expected: Moment) -> None:
    """Exactly one iframe on the page, in ``box``, playing ``expected`` with safe attributes."""
    iframe = box.locator(".cu-video-player iframe")
    expect(iframe).to_have_count(1, timeout=TIMEOUT_MS)
    assert tab.page.locator("iframe").count() == 1, "more than one iframe on the page"
    src = iframe.get_attribute("src")
    pattern = rf"{re.escape(EMBED)}{expected.video_id}\?start={expected.seconds}(&|$)"
    assert re.match(pattern, src), src
    title = box.locator(".cu-video-title").inner_text().strip()
    assert title and iframe.get_attribute("title") == title
    assert iframe.get_attribute("loading") == "lazy"
    assert iframe.get_attribute("allowfullscreen") is not None
    assert iframe.get_attribute("referrerpolicy") == "strict-origin-when-cross-origin"


def start_of(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.path.rsplit("/", 1)[-1], int(parse_qs(parts.query)["start"][0])


def open_lessons(tab: Tab) -> None:
    """Open every lesson of the landing page's list (a click on its <summary>, not a player)."""
    lessons = tab.page.locator("details.cu-lesson")
    assert lessons.count() == 7, "the landing page lists the seven lessons"
    for index in range(lessons.count()):
        lessons.nth(index).locator("summary").click()
        expect(lessons.nth(index)).to_have_attribute("open", "")


def test_video_placeholders_load_nothing_before_a_click(site, open_tab):
    require_built(site, ROOT)
    tab = open_tab()
    tab.goto(ROOT)
    tab.settle()
    expect(tab.page.locator("button.cu-video-poster").first).to_be_hidden()  # lessons closed
    open_lessons(tab)
    tab.page.mouse.wheel(0, 20_000)  # scroll past every poster
    tab.settle()
    expect(tab.page.locator("button.cu-video-poster").first).to_be_visible(timeout=TIMEOUT_MS)
    assert tab.page.locator(".cu-video-player").count() >= 1
    assert tab.page.locator("iframe").count() == 0
    if video_requests(tab):
        pytest.fail(listing("requests to a video host before any click", video_requests(tab)))


def test_timestamp_links_start_the_player_there(site, open_tab):
    require_built(site, ROOT)
    tab = open_tab()
    tab.goto(ROOT)
    open_lessons(tab)
    box = tab.page.locator(".cu-video").first
    links = box.locator("a.cu-video-moment")
    assert links.count() >= 3, "the first video needs three timestamps for this test"
    # Not the first timestamp: the poster alone would start there too.
    for index in (1, 2):
        chosen = moment(links, index)
        with tab.page.expect_request(lambda request: request.url.startswith(EMBED)) as asked:
            chosen.link.click()
        assert start_of(asked.value.url) == (chosen.video_id, chosen.seconds)
        expect_player(tab, box, chosen)
        expect(chosen.link).to_have_attribute("aria-current", "true", timeout=TIMEOUT_MS)
        assert tab.page.url.endswith(f"/{ROOT}.html"), "the click left the page"
    assert [start_of(url)[1] for url in video_requests(tab)] == [
        moment(links, 1).seconds,
        moment(links, 2).seconds,
    ]


def test_poster_plays_from_the_keyboard(site, open_tab):
    require_built(site, ROOT)
    tab = open_tab()
    tab.goto(ROOT)
    open_lessons(tab)
    boxes = tab.page.locator(".cu-video")
    box = boxes.nth(min(1, boxes.count() - 1))
    first = moment(box.locator("a.cu-video-moment"), 0)  # the poster starts at the first one
    poster = box.locator("button.cu-video-poster")
    poster.focus()
    with tab.page.expect_request(lambda request: request.url.startswith(EMBED)) as asked:
        tab.page.keyboard.press("Enter")
    assert start_of(asked.value.url) == (first.video_id, first.seconds)
    expect_player(tab, box, first)
    assert tab.page.evaluate("() => document.activeElement.tagName") == "IFRAME"


def labelled_point_figures(site: Path) -> list[tuple[str, int]]:
    """(page, figure) of every figure whose points carry their own labels (embeddings)."""
    return [
        (docname, index)
        for docname in figure_pages(site)
        for index, spec in enumerate(figure_specs(site, docname))
        if any(labelled_points(trace) for trace in spec["data"])
    ]


def labelled_points(trace: dict) -> bool:
    """A trace of points each with its own label written beside it and named on hover, as
    ``plot_embeddings_pca(show_text=True)`` draws them (one row of data per point)."""
    mode = trace.get("mode", "")
    return "markers" in mode and "text" in mode and "customdata" in trace


def test_labelled_points_answer_hover_and_drag(site, open_tab):
    """The embedding figures: hovering a point names its level; dragging zooms in."""
    figures = labelled_point_figures(site)
    assert figures, "no figure in the book labels its points"
    for docname, index in figures:
        spec, where = figure_specs(site, docname)[index], f"{docname}, figure {index}"
        first = next(t for t in spec["data"] if labelled_points(t))
        tab = open_tab()
        tab.goto(docname)
        figure = tab.figure(index)
        # the first point of the first labelled trace: traces are drawn in data order
        traces = [t for t in spec["data"] if t.get("type", "scatter") == "scatter"]
        layer = figure.locator("g.scatterlayer g.trace").nth(traces.index(first))
        point = layer.locator("path.point").first
        box = point.bounding_box()
        assert box, f"{where}: no point drawn"
        tab.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        label = figure.locator("g.hovertext")
        expect(label.first).to_be_visible(timeout=TIMEOUT_MS)
        assert str(first["text"][0]) in label.first.text_content(), where
        canvas = figure.locator(".cu-plotly-canvas")
        before = canvas.evaluate("c => c._fullLayout.xaxis.range.slice()")
        area = figure.locator("rect.nsewdrag").first.bounding_box()
        assert area, f"{where}: no drag area"
        x0, y0 = area["x"] + area["width"] * 0.3, area["y"] + area["height"] * 0.3
        tab.page.mouse.move(x0, y0)
        tab.page.mouse.down()
        tab.page.mouse.move(x0 + area["width"] * 0.3, y0 + area["height"] * 0.3, steps=5)
        tab.page.mouse.up()
        after = canvas.evaluate("c => c._fullLayout.xaxis.range.slice()")
        assert after[1] - after[0] < before[1] - before[0], f"{where}: dragging did not zoom in"
        if tab.errors:
            pytest.fail(listing(f"{where}, while hovering and dragging", tab.errors))


def figure_index(site: Path, docname: str, trace_type: str) -> int:
    """The index of the first figure on ``docname`` that draws a ``trace_type`` trace."""
    for index, spec in enumerate(figure_specs(site, docname)):
        if any(t.get("type", "scatter") == trace_type for t in spec["data"]):
            return index
    pytest.fail(f"{docname} has no figure with a {trace_type} trace")


def test_rating_block_answers_hover_with_all_three_numbers(site, open_tab):
    """Lesson 5's spreadsheet: a cell's hover gives the rating, the prediction and the error."""
    docname = "book/section4/collaborative-filtering"
    require_built(site, docname)
    index = figure_index(site, docname, "heatmap")
    known = figure_specs(site, docname)[index]["data"][0]["z"]  # rows of ratings, None = none
    row, col = next((i, j) for i, r in enumerate(known) for j, v in enumerate(r) if v is not None)
    tab = open_tab()
    tab.goto(docname)
    figure = tab.figure(index)
    area = figure.locator("rect.nsewdrag").first.bounding_box()
    assert area, "no plot area"
    label = figure.locator("g.hovertext")
    # the centre of the first cell with a rating (row 0 is at the top: the axis is reversed)
    n_rows, n_cols = len(known), len(known[0])
    cell = (
        area["x"] + (col + 0.5) * area["width"] / n_cols,
        area["y"] + (row + 0.5) * area["height"] / n_rows,
    )
    tab.page.mouse.move(*cell)
    expect(label.first).to_be_visible(timeout=TIMEOUT_MS)
    text = label.first.text_content()
    assert re.search(r"rating \d\.\d, predicted \d\.\d\d, error [+-]\d\.\d\d", text), text
    if tab.errors:
        pytest.fail(listing(f"{docname}, while hovering", tab.errors))


def test_film_map_names_each_film_on_hover(site, open_tab):
    """Lesson 6's map of the films: hovering a point gives the film's title and ratings."""
    docname = "book/section4/film-embeddings"
    require_built(site, docname)
    index = figure_index(site, docname, "scatter")
    spec = figure_specs(site, docname)[index]
    tab = open_tab()
    tab.goto(docname)
    figure = tab.figure(index)
    point = figure.locator("g.scatterlayer g.trace").first.locator("path.point").first
    box = point.bounding_box()
    assert box, "no point drawn"
    tab.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    label = figure.locator("g.hovertext")
    expect(label.first).to_be_visible(timeout=TIMEOUT_MS)
    # the nearest point answers, perhaps one drawn over the first: any film of the figure
    text = label.first.text_content()
    films = [t for trace in spec["data"] for t in trace.get("text", [])]  # "Title (year): ..."
    assert any(film in text for film in films), text
    assert re.search(r"\d\.\d\d stars, \d+ ratings", text)
    if tab.errors:
        pytest.fail(listing(f"{docname}, while hovering", tab.errors))


def test_network_diagram_switches_views_and_names_its_units(site, open_tab):
    """The MLP chapter's network: its buttons swap the forward labels for the backward
    ones, and hovering over the loss names it, in the view shown."""
    docname = "book/section1/mlp"
    require_built(site, docname)
    views = ["forward", "backward", "one weight"]
    index = next(
        (
            i
            for i, spec in enumerate(figure_specs(site, docname))
            for menu in spec["layout"].get("updatemenus", [])
            if [b["label"] for b in menu["buttons"]] == views
        ),
        None,
    )
    assert index is not None, f"{docname} has no network diagram"
    tab = open_tab()
    tab.goto(docname)
    figure = tab.figure(index)
    canvas = figure.locator(".cu-plotly-canvas")
    # hidden traces are not drawn: the page shows one view's labels at a time
    expect(canvas).to_contain_text("W₁ (64, 64)")
    expect(canvas).not_to_contain_text("∂L/∂W₁")
    figure.locator("g.updatemenu-button", has_text="backward").click()
    expect(canvas).to_contain_text("∂L/∂W₁")
    expect(canvas).not_to_contain_text("W₁ (64, 64)")
    # the loss, the last unit of the units' trace, in page pixels
    x, y = canvas.evaluate(
        """gd => {
          const units = gd.data.find(t => t.visible === true && t.mode === "markers"
                                          && t.hovertext.at(-1).startsWith("L: the loss"));
          const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
          const box = gd.getBoundingClientRect();
          return [box.left + xa._offset + xa.l2p(units.x.at(-1)),
                  box.top + ya._offset + ya.l2p(units.y.at(-1))];
        }"""
    )
    tab.page.mouse.move(x, y)
    label = figure.locator("g.hovertext")
    expect(label.first).to_be_visible(timeout=TIMEOUT_MS)
    assert "∂L/∂L = 1" in label.first.text_content()
    if tab.errors:
        pytest.fail(listing(f"{docname}, while switching views", tab.errors))


# --- 5. what a page loads, and when ----------------------------------------------------------


def math_pages(site: Path) -> list[str]:
    return [
        name
        for name in toc_docnames()
        if (site / f"{name}.html").is_file()
        and 'class="math' in (site / f"{name}.html").read_text(encoding="utf-8")
    ]


def test_maths_is_typeset_on_every_page_that_has_it(site, open_tab):
    """MathJax (the site's own, without its menu, added when a formula comes near) typesets
    every formula of the page, with no TeX error and nothing from outside the site."""
    pages = math_pages(site)
    assert pages, "no page of the book has maths"
    for docname in pages:
        tab = open_tab()
        tab.goto(docname)
        formulas = tab.page.locator(".math").count()
        tab.page.locator(".math").first.scroll_into_view_if_needed()
        try:
            tab.page.wait_for_function(
                "n => document.querySelectorAll('mjx-container').length >= n", arg=formulas
            )
        except PlaywrightTimeout:
            pytest.fail(f"{docname}: {formulas} formulas, not all typeset")
        tab.settle()
        assert tab.page.locator("mjx-merror").count() == 0, f"{docname}: a TeX error"
        hidden_mathml = tab.page.locator("mjx-assistive-mml").count()
        assert hidden_mathml >= formulas, f"{docname}: formulas without MathML for screen readers"
        problems = [f"request outside the site: {url}" for url in tab.external()] + tab.errors
        if problems:
            pytest.fail(listing(f"{docname}, typesetting", problems))


def test_plotly_loads_when_a_figure_comes_near(site, open_tab):
    """A page loads plotly.js when its first screen shows a figure, and otherwise only once
    the reader scrolls towards one; then the figure draws."""
    far = near = None
    for docname in figure_pages(site):
        tab = open_tab()
        tab.goto(docname)
        tab.settle()
        top = tab.page.evaluate(
            "() => document.querySelector('figure.cu-plotly').getBoundingClientRect().top"
            " / innerHeight"
        )
        requested = any(PLOTLY_JS.search(url) for url in tab.requests)
        if top < 1:  # in the first screen
            assert requested, f"{docname}: a figure in view, and no plotly.js"
            near = near or docname
        elif top > 2:  # two screens down: the loader waits for the reader
            assert not requested, f"{docname}: plotly.js loaded for a figure {top:.1f} screens down"
            tab.figure(0)  # scrolled into view, then drawn
            assert any(PLOTLY_JS.search(url) for url in tab.requests), docname
            far = far or docname
        if tab.errors:
            pytest.fail(listing(docname, tab.errors))
    assert far, "no page has its first figure two screens down: the lazy path went untested"


def test_pages_load_no_icon_script_no_search_index_and_few_files(site, open_tab):
    """Every page: no fontawesome.js, no search index, icons drawn as inline SVG, one
    stylesheet (course_book.bundles)."""
    for docname in toc_docnames():
        tab = open_tab()
        tab.goto(docname)
        tab.settle()
        names = [url.rsplit("/", 1)[-1].split("?")[0] for url in tab.requests]
        unused = {"fontawesome.js", "searchindex.js", "searchtools.js", "sphinx-thebe.css"}
        assert not unused & set(names), f"{docname}: {sorted(unused & set(names))}"
        # the icons in the page are SVG; the theme's CSS still draws a few of its own (an
        # admonition's sign, the breadcrumb's arrow) from the solid webfont, the only one left
        fonts = {n for n in names if n.endswith((".woff2", ".ttf")) and n.startswith("fa-")}
        assert fonts <= {"fa-solid-900.woff2"}, f"{docname}: {sorted(fonts)}"
        stylesheets = [n for n in names if n.endswith(".css")]
        assert len(stylesheets) == 1, f"{docname}: {stylesheets}"
        icons = tab.page.locator("svg.cu-icon:visible")
        assert icons.count() >= 3, f"{docname}: the header's icons are not drawn"
        box = icons.first.bounding_box()
        assert box and 10 <= box["height"] <= 40 and box["width"] > 5, f"{docname}: {box}"


def test_search_from_a_chapter_finds_chapters(site, open_tab):
    """Ctrl+K on a chapter (which no longer loads the search index) searches on search.html."""
    tab = open_tab()
    tab.goto("book/section2/sgd")
    tab.page.keyboard.press("Control+k")
    tab.page.keyboard.type("momentum")
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url(re.compile(r"/search\.html\?q=momentum"))
    results = tab.page.locator("ul.search li")
    expect(results.first).to_be_visible(timeout=TIMEOUT_MS)
    hits = results.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any("optimizers" in href for href in hits), hits
    if tab.errors:
        pytest.fail(listing("searching", tab.errors))


# --- 6. the landing page, the notice, the table of contents -----------------------------


@pytest.mark.parametrize(("width", "screens"), [(1280, 1), (390, 1.5)])
def test_course_map_comes_early_on_the_landing_page(site, chromium, origin, width, screens):
    """The course map's heading in the first screen at 1280x800, within a short scroll on a
    phone; the seven lessons' videos below it are one line each, closed."""
    require_built(site, ROOT)
    context = chromium.new_context(viewport={"width": width, "height": 800})
    try:
        tab = Tab(context=context, origin=origin)
        tab.goto(ROOT)
        tab.settle()
        heading = tab.page.locator("#the-course-map h2")
        top = heading.evaluate("h => h.getBoundingClientRect().bottom + scrollY")
        assert top <= screens * 800, f"at {width} px the course map starts at {top:.0f} px"
        lessons = tab.page.locator("details.cu-lesson")
        assert lessons.count() == 7
        heights = lessons.evaluate_all("ds => ds.map(d => d.getBoundingClientRect().height)")
        assert all(h < 80 for h in heights), heights  # one line each while closed
        assert tab.page.locator(".cu-video-player:visible").count() == 0
    finally:
        context.close()


NOTICE_PAGES = ["book/section2/dogs-vs-cats", "book/section2/cnn", "book/section1/numpy"]


@pytest.mark.parametrize("docname", NOTICE_PAGES)
def test_notice_shows_its_sentence_and_keeps_the_details_closed(site, open_tab, docname):
    require_built(site, docname)
    tab = open_tab()
    tab.goto(docname)
    notice = tab.page.locator(".cu-provenance-notice")
    sentence = notice.locator("p.cu-provenance-summary")
    expect(sentence).to_be_visible()
    assert re.fullmatch(r"This page ran .+\.", sentence.inner_text().strip())
    box = sentence.bounding_box()
    assert box and box["y"] < 800, f"{docname}: the sentence is not in the first screen"
    more = notice.locator("details.cu-provenance-details")
    assert more.get_attribute("open") is None
    expect(more.locator("summary")).to_be_visible()
    facts = more.locator("ul")
    expect(facts).to_be_hidden()  # the paths and enum names wait for a click
    more.locator("summary").click()
    expect(facts).to_be_visible()
    assert "Profile:" in more.inner_text()


# The TOC link that the page highlights (pydata-sphinx-theme's classes).
JS_ACTIVE_TOC = """() => [...document.querySelectorAll('#pst-page-toc-nav a.active')]
  .map(a => a.getAttribute('href'))"""
# Scroll so that the heading's top is at ``y`` px from the top of the viewport.
JS_SCROLL_HEADING_TO = """([id, y]) => {
  const target = document.getElementById(id);
  const heading = target.querySelector('h1, h2, h3, h4, h5, h6') || target;
  window.scrollTo(0, window.scrollY + heading.getBoundingClientRect().top - y);
  return heading.getBoundingClientRect().top;
}"""
# Each TOC section's id and its heading's distance to the next heading, in page order.
JS_TOC_SECTIONS = """() => {
  const ids = [...document.querySelectorAll('#pst-page-toc-nav a[href^="#"]')]
    .map(a => decodeURIComponent(a.getAttribute('href').slice(1)));
  const tops = ids.map(id => {
    const t = document.getElementById(id);
    return (t.querySelector('h1, h2, h3, h4, h5, h6') || t).getBoundingClientRect().top + scrollY;
  });
  return ids.map((id, i) => [id, (i + 1 < ids.length ? tops[i + 1] : 1e9) - tops[i]]);
}"""


def expect_highlighted(tab: Tab, section: str, where: str) -> None:
    try:
        tab.page.wait_for_function(
            f"id => ({JS_ACTIVE_TOC})().join() === '#' + id", arg=section, timeout=3000
        )
    except PlaywrightTimeout:
        active = tab.page.evaluate(JS_ACTIVE_TOC)
        pytest.fail(f"{where}: the table of contents highlights {active}, not #{section}")


def test_toc_highlights_the_section_being_read(site, open_tab):
    """Scrolled so that a section's heading has passed the top third of the viewport and the
    next one has not, the "On this page" entry highlighted is that section: going down, and
    coming back up (where the theme's own highlight stayed on the section below)."""
    docname = "book/section2/dogs-vs-cats"
    require_built(site, docname)
    tab = open_tab()
    tab.goto(docname)
    tab.settle()
    sections = tab.page.evaluate(JS_TOC_SECTIONS)
    assert len(sections) >= 4, f"{docname}: too few sections for this test"
    third = 800 / 3
    # a long section (its next heading more than a screen below), not the first or the last
    long = [id for id, gap in sections[1:-1] if gap > 800]
    assert long, f"{docname}: no section longer than a screen"
    down, up = sections[-1][0], long[0]
    tab.page.evaluate(JS_SCROLL_HEADING_TO, [down, third - 60])
    expect_highlighted(tab, down, f"{docname}, scrolled down to #{down}")
    # back up into the middle of a long section: its heading above the viewport, the next
    # heading still below the top third
    tab.page.evaluate(JS_SCROLL_HEADING_TO, [up, -200])
    expect_highlighted(tab, up, f"{docname}, scrolled back up into #{up}")
    # a small step down within it changes nothing; past the next heading, the next section
    tab.page.evaluate("() => window.scrollBy(0, 100)")
    expect_highlighted(tab, up, f"{docname}, a little further into #{up}")
    following = sections[[id for id, _ in sections].index(up) + 1][0]
    tab.page.evaluate(JS_SCROLL_HEADING_TO, [following, third - 40])
    expect_highlighted(tab, following, f"{docname}, scrolled on to #{following}")
    # at the end of the page, the last section, whose heading cannot reach the top third
    tab.page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    expect_highlighted(tab, sections[-1][0], f"{docname}, at the end of the page")
    if tab.errors:
        pytest.fail(listing(docname, tab.errors))


# --- 7. code that fits the column ------------------------------------------------------

# Every code block of a cell, its input and its outputs, with the cells tagged hide-input
# opened first: its first line, the length of its longest line, and whether it scrolls
# sideways (scrollWidth beyond clientWidth, a pixel of rounding allowed).
JS_WIDE_CODE = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  return [...document.querySelectorAll('div.cell_input pre, div.cell_output pre')].map(pre => {
    const lines = pre.textContent.split('\\n');
    return {
      input: pre.closest('div.cell_input') !== null,
      first: lines.find(line => line.trim()) || '',
      longest: Math.max(...lines.map(line => line.length)),
      visible: pre.clientWidth > 0,
      wide: pre.scrollWidth > pre.clientWidth + 1,
    };
  });
}"""


def test_code_blocks_fit_the_column(site, open_tab):
    """At 1280 px no code block of a cell, input or output, is wider than its box: chapter
    code is wrapped at the chapters' line length (ruff-chapters.toml) and printouts are
    formatted to fit, so nothing scrolls sideways and hides a comment."""
    problems, blocks = [], 0
    tab = open_tab()
    for docname in toc_docnames():
        require_built(site, docname)
        tab.goto(docname)
        found = tab.page.evaluate(JS_WIDE_CODE)
        blocks += len(found)
        hidden = [block for block in found if not block["visible"]]
        assert not hidden, f"{docname}: {len(hidden)} code blocks not laid out, not measured"
        problems += [
            f"{docname}: {'input' if b['input'] else 'output'} of {b['longest']} characters:"
            f" {b['first'].strip()[:60]}"
            for b in found
            if b["wide"]
        ]
    assert blocks > 100, f"only {blocks} code blocks in the book: the selector is stale"
    if problems:
        pytest.fail(listing("code blocks wider than their box at 1280 px", problems))


# --- 7. a measurement, not a test of speed ---------------------------------------------


def test_measure_first_figure(site, open_tab):
    """Print, for each page with figures: time to the first drawn figure, bytes sent."""
    pages = figure_pages(site)
    assert pages, "no page of the book has a figure"
    print()
    for docname in pages:
        tab = open_tab(INIT_FIRST_FIGURE)
        tab.goto(docname)
        scrolled = tab.page.evaluate("() => window.__cuFirstFigureMs === null")
        first = tab.page.locator("figure.cu-plotly").first
        first.evaluate(JS_OPEN_TOGGLES)  # a figure in a closed solution: opened first
        first.scroll_into_view_if_needed()
        tab.page.wait_for_function("() => window.__cuFirstFigureMs !== null")
        first_ms = tab.page.evaluate("() => window.__cuFirstFigureMs")
        tab.settle()
        weight = tab.page.evaluate(JS_PAGE_WEIGHT)
        print(
            f"{docname}: {len(figure_specs(site, docname))} figures;"
            f" load event {weight['load']:.0f} ms;"
            f" first figure drawn {first_ms:.0f} ms after navigation start"
            f"{' (scrolled to it after load)' if scrolled else ''};"
            f" {weight['transferred'] / 1e6:.2f} MB in {weight['requests']} requests"
            f" (plotly.js {weight['plotly'] / 1e6:.2f} MB)"
        )
