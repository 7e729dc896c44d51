"""Rebuilds of the book after small edits: what re-executes, and how long the build takes.

Run after a full ``make book`` (the execution cache must hold every page)::

    .venv/bin/python benchmarks/bench_rebuild.py [--module course_utils.detection.loss]

Four builds, each after one edit that the script undoes afterwards:

1. nothing changed;
2. a comment appended to ``course_book``'s CSS (the build machinery);
3. a comment appended to one library module (``--module``);
4. the same module restored (its pages execute once more, back to the original key).

For each it prints the wall time of ``jupyter-book build`` and the pages it executed,
and compares them with the pages whose imports reach the module
(:mod:`course_book.dependencies`): the goal is that (1) and (2) execute nothing and stay
under 10 s, and (3) executes exactly the module's importers.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from course_book.dependencies import ModuleGraph
from course_book.execution import page_modules

REPO = Path(__file__).resolve().parents[1]
CSS = REPO / "src" / "course_book" / "static" / "course_utils.css"
EXECUTED = re.compile(r"(\S+\.md): Executing notebook")


def build() -> tuple[float, list[str]]:
    """Run the book's build as ``make book`` does; its time and the pages it executed."""
    start = time.perf_counter()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", str(REPO)]
        + ["--warningiserror", "--nitpick", "--keep-going"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(result.stdout[-3000:] + result.stderr[-3000:])
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # no colour codes
    pages = sorted(Path(m).relative_to(REPO).as_posix() for m in EXECUTED.findall(log))
    return seconds, pages


def importers(module: str) -> list[str]:
    """The TOC pages whose code runs ``module``, read from their imports."""
    graph = ModuleGraph(["course_utils"])
    toc = (REPO / "_toc.yml").read_text(encoding="utf-8")
    pages = sorted(re.findall(r"file:\s*(\S+)", toc) + re.findall(r"root:\s*(\S+)", toc))
    return [f"{p}.md" for p in pages if module in page_modules(graph, REPO / f"{p}.md")]


def edited(path: Path, suffix: str):
    """Append ``suffix`` to a file; return a function that restores it."""
    original = path.read_bytes()
    path.write_bytes(original + suffix.encode())
    return lambda: path.write_bytes(original)


def report(name: str, seconds: float, pages: list[str], expected: list[str]) -> bool:
    ok = pages == expected
    print(
        f"{name:<32} {seconds:6.1f} s  executed {len(pages):>2} page(s)  expected {len(expected)}"
        f"  {'ok' if ok else 'MISMATCH'}"
    )
    for page in pages:
        print(f"{'':<34}{page}")
    if not ok:
        print(f"{'':<34}expected: {expected}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="course_utils.detection.loss")
    args = parser.parse_args()
    graph = ModuleGraph(["course_utils"])
    module_path = graph.path(args.module)
    if module_path is None:
        raise SystemExit(f"no module {args.module} in course_utils")
    expected = importers(args.module)

    seconds, pages = build()
    print(f"{'warm-up (fills the cache)':<32} {seconds:6.1f} s  executed {len(pages):>2} page(s)")
    ok = report("nothing changed", *build(), expected=[])
    restore = edited(CSS, "\n/* bench_rebuild */\n")
    try:
        ok &= report("course_book's CSS edited", *build(), expected=[])
    finally:
        restore()
    restore = edited(module_path, "\n# bench_rebuild\n")
    try:
        ok &= report(f"{args.module} edited", *build(), expected=expected)
    finally:
        restore()
    ok &= report(f"{args.module} restored", *build(), expected=expected)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
