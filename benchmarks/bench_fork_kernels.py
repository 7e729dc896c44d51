"""What does a forked kernel save a page, against a fresh kernel process?

Executes the same small notebook (a page's imports, then one line that uses them) with
ordinary kernels and with kernels forked from the build's fork server
(:mod:`course_book.forkkernel`), interleaved and repeated, and prints the median time of
each from "start the kernel" to "the last cell ran", and the ratio. The server's own start
(importing the libraries once) is printed apart: a build pays it once, not per page.

    python benchmarks/bench_fork_kernels.py            # the full run
    python benchmarks/bench_fork_kernels.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import nbformat
from nbclient import NotebookClient

from course_book.parallel import _fork_server

# the imports of the Section 2 chapter on dogs and cats, and one line that uses them
IMPORTS = """\
import numpy as np
import torch
from course_utils.learner import Learner
from course_utils.metrics import accuracy
from course_utils.profile import current_profile
from course_utils.report import glue
from course_utils.vision import ImageData, conv_learner, tfms_from_stats
from course_utils.viz import plot_confusion_matrix, plot_lr_find
"""
USE = "print(torch.zeros(3).sum().item(), current_profile().name)"


def notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (IMPORTS, USE)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def run_once(manager_class, folder: str) -> float:
    options = {} if manager_class is None else {"kernel_manager_class": manager_class}
    nb = notebook()
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, resources={"metadata": {"path": folder}}, **options).execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 5)
    times: dict[str, list[float]] = {"fresh kernel": [], "forked kernel": []}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        with _fork_server() as manager_class:
            server_start = time.perf_counter() - start
            if manager_class is None:
                raise SystemExit("the fork server did not start")
            for _ in range(repeats):  # interleaved: a slow moment hits both
                times["fresh kernel"].append(run_once(None, folder))
                times["forked kernel"].append(run_once(manager_class, folder))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"fork server start (imports, once per build): {server_start:.2f} s")
    for name, values in times.items():
        print(f"{name:>14}: median {medians[name]:.2f} s over {len(values)} runs "
              f"(min {min(values):.2f} s)")  # fmt: skip
    ratio = medians["fresh kernel"] / medians["forked kernel"]
    saved = medians["fresh kernel"] - medians["forked kernel"]
    print(f"forked / fresh: {1 / ratio:.2f} ({saved:.2f} s saved per page)")
    return {"server_start": server_start, "medians": medians, "ratio": ratio}


if __name__ == "__main__":
    main()
