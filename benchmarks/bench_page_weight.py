"""What a reader's browser loads for each page of the built site, and when the first figure draws.

Serves a built site (``_build/html``) from 127.0.0.1 and opens every page of the table of
contents in headless Chromium (Debian's ``chromium``, driven by Playwright), each time in a
fresh browser context (no cache: a first visit), at 1280 x 800. Two loads per page and run:

- **as opened**: the page loads and the browser waits until no request has been in flight
  for half a second, without scrolling. Counted: the requests and the bytes transferred (as
  the server sent them: uncompressed, unless ``--gzip``), the load event, DOMContentLoaded,
  the layout shift (CLS) and any request that leaves the site (blocked, and reported).
- **to the figure** (pages with a figure): the reader who came for the first figure. The
  page scrolls it into view as soon as it is parsed; counted: the time from navigation start
  to the ``cu-plotly-drawn`` event of the first figure, and the load event of the same load.

``--baseline OTHER_SITE`` measures a second build in the same run, interleaved page by page
(baseline first), and prints the ratios: the way to measure a change to the site's assets.

    python benchmarks/bench_page_weight.py                      # _build/html, three runs
    python benchmarks/bench_page_weight.py --baseline /tmp/old  # before/after, same run
    python benchmarks/bench_page_weight.py --quick              # three pages, one run

Goals (issue 17): first figure <= 1.0 s (median over the pages with figures), no page over
1.5 s; <= 2.5 MB and <= 25 requests before scrolling on every page; no third-party request.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import io
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Browser, Page, Route, sync_playwright

from course_book.common import toc_docnames

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 30_000
QUIET_MS = 500
GOALS = {"first_figure_median_ms": 1000, "first_figure_max_ms": 1500, "mb": 2.5, "requests": 25}

# Runs before any script of the page: the load's timings, and (to the figure) the scroll.
INIT = """
window.__cu = {firstFigure: null, cls: 0};
document.addEventListener('cu-plotly-drawn', () => {
  if (window.__cu.firstFigure === null) window.__cu.firstFigure = performance.now();
}, true);
new PerformanceObserver(list => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cu.cls += e.value;
}).observe({type: 'layout-shift', buffered: true});
"""
SCROLL_TO_FIRST_FIGURE = """
new MutationObserver((_, observer) => {
  const figure = document.querySelector('figure.cu-plotly');
  if (figure) { observer.disconnect(); figure.scrollIntoView({block: 'center'}); }
}).observe(document, {childList: true, subtree: true});
"""
JS_LOAD = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const entries = [nav, ...performance.getEntriesByType('resource')];
  return {
    requests: entries.length,
    bytes: entries.reduce((sum, e) => sum + e.transferSize, 0),
    largest: entries.map(e => [e.name.replace(location.origin, ''), e.transferSize])
                    .sort((a, b) => b[1] - a[1]).slice(0, 4),
    dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
    firstFigure: window.__cu.firstFigure, cls: window.__cu.cls,
    figures: document.querySelectorAll('figure.cu-plotly').length,
  };
}"""


class Handler(SimpleHTTPRequestHandler):
    """A static server; with ``gzip_text`` it compresses text files as GitHub Pages does."""

    gzip_text = False
    _compressed: dict[str, bytes] = {}  # path -> gzipped body, per process
    TEXT = (".html", ".js", ".css", ".json", ".svg", ".txt", ".map")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def send_head(self):  # type: ignore[override]
        path = self.translate_path(self.path)
        wants_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (self.gzip_text and wants_gzip and path.endswith(self.TEXT)):
            return super().send_head()
        if not Path(path).is_file():
            return super().send_head()
        body = self._compressed.get(path)
        if body is None:
            body = self._compressed[path] = gzip.compress(Path(path).read_bytes(), 6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


@contextmanager
def serve(site: Path, gzip_text: bool) -> Iterator[str]:
    handler_class = type("SiteHandler", (Handler,), {"gzip_text": gzip_text, "_compressed": {}})
    handler = functools.partial(handler_class, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Load:
    """What one load of one page measured."""

    requests: int
    bytes: int
    dcl: float
    load: float
    cls: float
    first_figure: float | None
    figures: int
    external: list[str]
    largest: list[list]


@dataclass
class PageResult:
    opened: list[Load] = field(default_factory=list)
    to_figure: list[Load] = field(default_factory=list)


def wait_quiet(page: Page, in_flight: set, last: list[float]) -> None:
    """Until no request has been in flight for QUIET_MS (Playwright's networkidle can hang)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while in_flight or time.monotonic() - last[0] < QUIET_MS / 1000:
        if time.monotonic() > deadline:
            raise TimeoutError(f"still loading: {sorted(r.url for r in in_flight)}")
        page.wait_for_timeout(50)


def load_once(browser: Browser, origin: str, docname: str, to_figure: bool) -> Load:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(INIT + (SCROLL_TO_FIRST_FIGURE if to_figure else ""))
    external: list[str] = []
    in_flight: set = set()
    last = [time.monotonic()]

    def route(route: Route) -> None:
        url = route.request.url
        if url.startswith((f"{origin}/", "data:", "blob:", "about:")):
            route.continue_()
        else:
            external.append(url)
            route.abort("blockedbyclient")

    def started(request) -> None:
        in_flight.add(request)
        last[0] = time.monotonic()

    def ended(request) -> None:
        in_flight.discard(request)
        last[0] = time.monotonic()

    context.route("**/*", route)
    page = context.new_page()
    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    try:
        page.goto(f"{origin}/{docname}.html", wait_until="load")
        if to_figure:
            page.wait_for_function("() => window.__cu.firstFigure !== null")
        wait_quiet(page, in_flight, last)
        data = page.evaluate(JS_LOAD)
    finally:
        context.close()
    return Load(
        requests=data["requests"],
        bytes=data["bytes"],
        dcl=data["dcl"],
        load=data["load"],
        cls=data["cls"],
        first_figure=data["firstFigure"],
        figures=data["figures"],
        external=external,
        largest=data["largest"],
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(name: str, results: dict[str, PageResult]) -> dict[str, float]:
    """Print one site's table; return its summary figures."""
    print(f"\n## {name}\n")
    print("| page | MB | requests | DOMContentLoaded ms | load ms | CLS | first figure ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    firsts, worst_mb, worst_requests, external = [], 0.0, 0, set()
    for docname, result in results.items():
        mb = median([load.bytes / 1e6 for load in result.opened])
        requests = median([load.requests for load in result.opened])
        first = median([load.first_figure for load in result.to_figure])
        if result.to_figure:
            firsts.append(first)
        worst_mb, worst_requests = max(worst_mb, mb), max(worst_requests, requests)
        for load in result.opened + result.to_figure:
            external.update(load.external)
        cells = [
            f"{mb:.2f}",
            f"{requests:.0f}",
            f"{median([load.dcl for load in result.opened]):.0f}",
            f"{median([load.load for load in result.opened]):.0f}",
            f"{median([load.cls for load in result.opened]):.3f}",
            f"{first:.0f}" if result.to_figure else "-",
        ]
        print(f"| {docname} | " + " | ".join(cells) + " |")
    summary = {
        "first_figure_median_ms": median(firsts),
        "first_figure_max_ms": max(firsts, default=float("nan")),
        "mb": worst_mb,
        "requests": worst_requests,
        "external": len(external),
    }
    print(
        f"\nfirst figure: median {summary['first_figure_median_ms']:.0f} ms over {len(firsts)} "
        f"pages, slowest {summary['first_figure_max_ms']:.0f} ms; heaviest page "
        f"{summary['mb']:.2f} MB, most requests {summary['requests']:.0f}; "
        f"requests outside the site: {len(external)}"
    )
    for url in sorted(external):
        print(f"  outside the site: {url}")
    heaviest = max(results, key=lambda d: median([x.bytes for x in results[d].opened]))
    largest = results[heaviest].opened[0].largest
    print(
        f"largest loads on {heaviest}: "
        + ", ".join(f"{path.split('?')[0]} {size / 1e6:.2f} MB" for path, size in largest)
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", type=Path, default=REPO / "_build" / "html")
    parser.add_argument("--baseline", type=Path, help="another build, measured in the same run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gzip", action="store_true", help="serve text gzipped, as Pages does")
    parser.add_argument("--pages", nargs="*", help="docnames (default: every page of the toc)")
    parser.add_argument("--quick", action="store_true", help="three pages, one run")
    args = parser.parse_args(argv)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("Debian's chromium is needed: apt-get install chromium")
    sites = {"baseline": args.baseline, "site": args.site} if args.baseline else {"site": args.site}
    for path in sites.values():
        if not (path / "index.html").is_file():
            sys.exit(f"no built site at {path} (make book)")
    docnames = args.pages or toc_docnames(REPO)
    runs = args.runs
    if args.quick:
        docnames, runs = docnames[:3], 1

    results = {name: {d: PageResult() for d in docnames} for name in sites}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        with serve_all(sites, args.gzip) as origins:
            for _ in range(runs):
                for docname in docnames:
                    for name, origin in origins.items():  # interleaved: baseline, then site
                        result = results[name][docname]
                        result.opened.append(load_once(browser, origin, docname, False))
                        if result.opened[-1].figures:
                            result.to_figure.append(load_once(browser, origin, docname, True))
        browser.close()

    print(
        f"{len(docnames)} pages, {runs} runs each, 1280x800, fresh context per load, "
        f"{'gzip' if args.gzip else 'uncompressed'}; Chromium at {chromium}"
    )
    summaries = {name: report(name, results[name]) for name in sites}
    final = summaries["site"]
    if args.baseline:
        base = summaries["baseline"]
        print("\n| measure | baseline | site | site / baseline |")
        print("| --- | --- | --- | --- |")
        for key in ("first_figure_median_ms", "first_figure_max_ms", "mb", "requests"):
            print(f"| {key} | {base[key]:.2f} | {final[key]:.2f} | {final[key] / base[key]:.2f}× |")
    print("\ngoals:")
    for key, goal in GOALS.items():
        verdict = "met" if final[key] <= goal else "NOT met"
        print(f"  {key}: {final[key]:.2f} (goal <= {goal}): {verdict}")
    print(f"  external requests: {final['external']} (goal 0)")
    return 0


@contextmanager
def serve_all(sites: dict[str, Path], gzip_text: bool) -> Iterator[dict[str, str]]:
    with serve(sites.get("baseline") or sites["site"], gzip_text) as first:
        if "baseline" not in sites:
            yield {"site": first}
            return
        with serve(sites["site"], gzip_text) as second:
            yield {"baseline": first, "site": second}


if __name__ == "__main__":
    sys.exit(main())
