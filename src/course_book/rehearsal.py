"""``make rehearsal``: every chapter's full-profile code run offline, on CPU, before it matters.

The publishing build runs the chapters in the full profile on a GPU runner, with the canonical
datasets and pretrained weights; nothing else does. This runs the same chapters (their launch
notebooks, the code students run) in a rehearsal of the full profile
(:mod:`course_utils.profile`): ``COURSE_PROFILE=full COURSE_REHEARSAL=1``, the downloads and
weights served by a local mirror of miniatures in the canonical formats
(:mod:`course_utils.datasets.miniatures`, :mod:`course_utils.datasets.mirror`), every fit cut
to a few batches. So each chapter's full-only branches, the 224-pixel images, the published
architectures loading a weights file, the loaders with worker processes, and every dataset's
download, checksum, extraction and ``prepare`` run on every CI build.

What only the real data can show is reported, not asserted (``course_utils.report.claim``);
every other assert of a chapter holds. The run uses a data folder and a torch cache of its own
(under ``--work``), so neither the reader's data cache nor the book's execution cache sees a
miniature. It prints, for each chapter, its time and the claims it reported, and fails if any
chapter fails.

    python -m course_book.rehearsal                   # every chapter, two at a time
    python -m course_book.rehearsal book/section2/dogs-vs-cats.md --jobs 1
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_book.common import toc_docnames

__all__ = ["ChapterResult", "main", "rehearse"]

# A claim reported, not asserted, as course_utils.report.claim prints it: one line, or more
# (report.fit wraps it at the chapters' width, its continuation lines indented two spaces).
UNMET = re.compile(
    r"^\[rehearsal\] not asserted, as only the real data can show it: (.*(?:\n  .*)*)$", re.M
)
CELL_TIMEOUT_S = 600
_KERNEL_START = threading.Lock()
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class ChapterResult:
    chapter: str
    seconds: float
    error: str | None = None  # the failing cell's error, shortened
    unmet: list[str] = field(default_factory=list)  # claims reported, not asserted


def _unmet(text: str) -> list[str]:
    """The claims a notebook's output reports as not asserted, each on one line again."""
    return [" ".join(part.strip() for part in found.split("\n")) for found in UNMET.findall(text)]


def chapters(root: Path) -> list[str]:
    """The notebook chapters of ``_toc.yml``, in order (``book/section1/numpy``...)."""
    from course_book.launch import is_notebook_markdown

    return [name for name in toc_docnames(root) if is_notebook_markdown(root / f"{name}.md")]


def _run_notebook(path: Path, env: dict[str, str]) -> ChapterResult:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    error = None
    try:
        # One kernel starts at a time: each picks free TCP ports in this process, and two
        # picking at once can get the same one (ipykernel's heartbeat then fails to bind).
        with _KERNEL_START:
            client.km = client.create_kernel_manager()
            client.start_new_kernel(env=env)
            client.start_new_kernel_client()
        client.execute()
    except CellExecutionError as failure:
        lines = [ANSI.sub("", line) for line in str(failure).strip().splitlines() if line.strip()]
        failing = [line.strip() for line in lines if line.lstrip().startswith("--->")]
        error = " | ".join([*failing[-1:], lines[-1]])[:600]  # the failing line, the error
    except Exception as failure:  # a kernel that died, a timeout: the chapter failed
        error = f"{type(failure).__name__}: {str(failure)[:500]}"
    nbformat.write(notebook, path.with_suffix(".executed.ipynb"))  # to read what happened
    text = "\n".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )
    return ChapterResult(path.stem, time.perf_counter() - start, error, _unmet(text))


def rehearse(root: Path, names: list[str], work: Path, jobs: int = 2) -> list[ChapterResult]:
    """Run the launch notebooks of ``names`` in a rehearsal of the full profile."""
    from course_book.launch import main as write_launch_notebooks
    from course_utils.datasets.miniatures import (
        build_mirror,
        place_manual_miniatures,
        serve_mirror,
    )

    if work.exists():
        shutil.rmtree(work)
    notebooks, mirror, data = work / "launch", work / "mirror", work / "data"
    write_launch_notebooks(["--root", str(root), "--out", str(notebooks)])
    build_mirror(mirror)
    place_manual_miniatures(data / "rehearsal")  # where full_data_root() is in a rehearsal
    threads = max(1, (os.cpu_count() or 2) // jobs)
    with serve_mirror(mirror) as origin:
        env = dict(
            os.environ,
            COURSE_PROFILE="full",
            COURSE_REHEARSAL="1",
            COURSE_DATA_MIRROR=origin,
            COURSE_DATA_DIR=str(data),
            TORCH_HOME=str(work / "torch"),
            OMP_NUM_THREADS=str(threads),
            PYTHONWARNINGS="ignore",
        )
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [
                pool.submit(_run_notebook, notebooks / f"{name}.ipynb", env) for name in names
            ]
            results = []
            for name, future in zip(names, futures, strict=True):
                result = future.result()
                result.chapter = name
                results.append(result)
                status = "ok" if result.error is None else "FAILED"
                print(f"[rehearsal] {name}: {status} in {result.seconds:.0f} s", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="book/...md files (default: every chapter)")
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--work", type=Path, default=Path("_build/rehearsal"))
    parser.add_argument("--jobs", type=int, default=2, help="chapters at a time")
    args = parser.parse_args(argv)
    names = [c.removesuffix(".md") for c in args.chapters] or chapters(args.root)
    start = time.perf_counter()
    results = rehearse(args.root.resolve(), names, args.work.resolve(), args.jobs)
    failed = [r for r in results if r.error is not None]
    seconds = time.perf_counter() - start
    print(
        f"\nrehearsal of the full profile: {len(results)} chapters in {seconds:.0f} s, "
        f"{len(failed)} failed"
    )
    for result in results:
        for statement in result.unmet:
            print(f"  {result.chapter}: reported, not asserted: {statement}")
    for result in failed:
        print(f"  FAILED {result.chapter}: {result.error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
