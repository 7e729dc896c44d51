"""How much does the Learner cost over a hand-written PyTorch loop?

Both train the same MLP from the same initial weights on the same data (a
DataLoader over a TensorDataset, not shuffled, so both see the same batches),
with the same optimiser (SGD, momentum 0.9) for the same number of steps, and
both validate every epoch (loss and accuracy), accumulating losses as tensors
and reading them once per epoch. Runs are interleaved (hand, learner, learner,
hand, ...) and repeated; the script prints the min and median time of each and
their ratios, and checks that both ended with the same weights.

    python benchmarks/bench_learner_fit.py            # the full run
    python benchmarks/bench_learner_fit.py --quick    # a smoke run of a few seconds
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.data import DataLoaders
from course_utils.learner import Learner
from course_utils.metrics import accuracy


def make_data(rows: int, features: int, classes: int, bs: int, seed: int = 0) -> DataLoaders:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, features, generator=g)
    y = torch.randint(0, classes, (rows,), generator=g)
    x = centres[y] + torch.randn(rows, features, generator=g)  # (rows, features)
    cut = rows * 4 // 5
    return DataLoaders(
        DataLoader(TensorDataset(x[:cut], y[:cut]), batch_size=bs),
        DataLoader(TensorDataset(x[cut:], y[cut:]), batch_size=bs * 2),
    )


def make_model(features: int, hidden: int, classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, classes),
    )  # fmt: skip


def hand_loop(model: nn.Module, dls: DataLoaders, epochs: int, lr: float) -> list[tuple]:
    """The loop of lesson 5, written out, with a validation pass per epoch."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    history = []
    for _ in range(epochs):
        model.train()
        train_sum, n_train = torch.zeros(()), 0
        for xb, yb in dls.train_dl:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            train_sum += loss.detach() * len(yb)
            n_train += len(yb)
        model.eval()
        valid_sum, correct, n_valid = torch.zeros(()), torch.zeros(()), 0
        with torch.no_grad():
            for xb, yb in dls.valid_dl:
                out = model(xb)
                valid_sum += F.cross_entropy(out, yb) * len(yb)
                correct += (out.argmax(dim=1) == yb).sum()
                n_valid += len(yb)
        history.append((train_sum.item() / n_train, valid_sum.item() / n_valid,
                        correct.item() / n_valid))  # fmt: skip
    return history


def learner_fit(model: nn.Module, dls: DataLoaders, epochs: int, lr: float) -> Learner:
    learn = Learner(dls, model, metrics=[accuracy], device="cpu", verbose=False)
    learn.fit(epochs, lr)
    return learn


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast smoke run")
    parser.add_argument("--rows", type=int, default=None, help="examples (train + valid)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None, help="timed runs of each loop")
    parser.add_argument("--bs", type=int, default=64, help="batch size")
    parser.add_argument("--hidden", type=int, default=256, help="hidden units")
    args = parser.parse_args(argv)
    rows = args.rows or (2_000 if args.quick else 20_000)
    epochs = args.epochs or 1
    repeats = args.repeats or (2 if args.quick else 15)
    features, classes, lr = 64, 10, 0.05

    dls = make_data(rows, features, classes, args.bs)
    torch.manual_seed(0)
    init = make_model(features, args.hidden, classes)
    steps = epochs * len(dls.train_dl)
    print(f"data: {rows} rows, batch size {args.bs}, {steps} steps; MLP hidden {args.hidden}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")  # fmt: skip

    times: dict[str, list[float]] = {"hand": [], "learner": []}
    final: dict[str, nn.Module] = {}

    def run(kind: str) -> None:
        model = copy.deepcopy(init)
        start = time.perf_counter()
        (hand_loop if kind == "hand" else learner_fit)(model, dls, epochs, lr)
        times[kind].append(time.perf_counter() - start)
        final[kind] = model

    run("hand")  # warm-up, untimed: first-call costs of both
    run("learner")
    times = {"hand": [], "learner": []}
    for r in range(repeats):
        for kind in ("hand", "learner") if r % 2 == 0 else ("learner", "hand"):
            run(kind)

    same = all(
        torch.allclose(a, b, atol=1e-5)
        for a, b in zip(final["hand"].parameters(), final["learner"].parameters(), strict=True)
    )
    result = {
        "hand_min": min(times["hand"]),
        "learner_min": min(times["learner"]),
        "hand_median": statistics.median(times["hand"]),
        "learner_median": statistics.median(times["learner"]),
    }
    result["ratio_min"] = result["learner_min"] / result["hand_min"]
    result["ratio_median"] = result["learner_median"] / result["hand_median"]
    print(f"repeats: {repeats} of each, interleaved")
    print(f"hand loop     min {result['hand_min']:.3f} s   median {result['hand_median']:.3f} s")
    print(f"Learner.fit   min {result['learner_min']:.3f} s   "
          f"median {result['learner_median']:.3f} s")  # fmt: skip
    print(f"ratio Learner/hand: min {result['ratio_min']:.3f}x   "
          f"median {result['ratio_median']:.3f}x   (goal: at most 1.03x)")  # fmt: skip
    print(f"same final weights: {'yes' if same else 'NO'}")
    result["same_weights"] = same
    return result


if __name__ == "__main__":
    main()
