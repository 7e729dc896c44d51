"""What does the learning-rate finder cost, in epochs of training?

Times ``learn.lr_find()`` and one epoch of ``learn.fit`` (training and
validation) on the same data and model, interleaved and repeated, and prints
the ratio, next to the number of iterations the sweep ran and the number of
batches in an epoch (the sweep stops early once the loss diverges).

    python benchmarks/bench_lr_find.py            # the full run
    python benchmarks/bench_lr_find.py --quick    # a smoke run of a few seconds
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.data import DataLoaders
from course_utils.learner import Learner


def make_data(rows: int, features: int, classes: int, bs: int, seed: int = 0) -> DataLoaders:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, features, generator=g)
    y = torch.randint(0, classes, (rows,), generator=g)
    x = centres[y] + torch.randn(rows, features, generator=g)  # (rows, features)
    cut = rows * 4 // 5
    return DataLoaders(
        DataLoader(TensorDataset(x[:cut], y[:cut]), batch_size=bs, shuffle=True),
        DataLoader(TensorDataset(x[cut:], y[cut:]), batch_size=bs * 2),
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast smoke run")
    parser.add_argument("--rows", type=int, default=None, help="examples (train + valid)")
    parser.add_argument("--num-it", type=int, default=100, help="lr_find's num_it")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--bs", type=int, default=64, help="batch size")
    args = parser.parse_args(argv)
    rows = args.rows or (2_000 if args.quick else 20_000)
    repeats = args.repeats or (1 if args.quick else 5)
    features, hidden, classes = 64, 256, 10

    dls = make_data(rows, features, classes, args.bs)
    torch.manual_seed(0)
    init = nn.Sequential(
        nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, classes),
    )  # fmt: skip
    n_batches = len(dls.train_dl)
    print(f"data: {rows} rows, batch size {args.bs}, {n_batches} training batches per epoch; "
          f"lr_find(num_it={args.num_it}); torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")  # fmt: skip

    times: dict[str, list[float]] = {"epoch": [], "lr_find": []}
    iterations = []

    def run(kind: str) -> None:
        learn = Learner(dls, copy.deepcopy(init), device="cpu", verbose=False)
        start = time.perf_counter()
        if kind == "epoch":
            learn.fit(1, 0.05)
        else:
            iterations.append(learn.lr_find(num_it=args.num_it).iterations)
        times[kind].append(time.perf_counter() - start)

    run("epoch")  # warm-up, untimed
    times["epoch"].clear()
    for r in range(repeats):
        for kind in ("epoch", "lr_find") if r % 2 == 0 else ("lr_find", "epoch"):
            run(kind)

    epoch, sweep = min(times["epoch"]), min(times["lr_find"])
    result = {
        "epoch_s": epoch,
        "lr_find_s": sweep,
        "lr_find_epochs": sweep / epoch,
        "iterations": max(iterations),
        "batches_per_epoch": n_batches,
    }
    print(f"one epoch of fit   min {epoch:.3f} s   (train {n_batches} batches + validation)")
    print(f"lr_find            min {sweep:.3f} s   ({result['iterations']} iterations, "
          f"{result['iterations'] / n_batches:.2f} epochs of batches)")  # fmt: skip
    print(f"cost of lr_find: {result['lr_find_epochs']:.2f} epochs of training")
    return result


if __name__ == "__main__":
    main()
