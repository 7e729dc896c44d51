"""What does the LSTM written out in Python cost, against PyTorch's own, on the CPU?

Times :class:`course_utils.models.recurrent.LSTM` (one :func:`lstm_cell` call per step,
in a Python loop) and :class:`torch.nn.LSTM` (ATen's C++ loop) with the same weights, in
float32 on the CPU: the forward pass (with autograd recording, as in training) and the
forward and backward passes together. The sizes default to the first layer of AWD-LSTM,
fastai's language model (sequence 70, batch 64, input 400, hidden 1150). The two run
interleaved (ours, torch's, torch's, ours, ...) after an untimed warm-up; the script prints
the best and median seconds and the ratio ours/torch of the medians, and checks that both
give the same outputs.

    python benchmarks/bench_lstm.py            # the full run (3 to 4 minutes on one thread)
    python benchmarks/bench_lstm.py --quick    # a smoke run of a second
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from course_utils.models.recurrent import LSTM


def forward_seconds(model: nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    model(x)
    return time.perf_counter() - start


def forward_backward_seconds(model: nn.Module, x: torch.Tensor) -> float:
    """Forward, a scalar loss, backward to every weight and to the input."""
    x = x.detach().requires_grad_()
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    out, (h_n, c_n) = model(x)
    (out.sum() + h_n.sum() + c_n.sum()).backward()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a second")
    parser.add_argument("--seq", type=int, default=None, help="sequence length (70)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (64)")
    parser.add_argument("--input", type=int, default=None, help="input size (400)")
    parser.add_argument("--hidden", type=int, default=None, help="hidden size (1150)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs of each (5)")
    args = parser.parse_args(argv)
    quick = (5, 4, 16, 32, 2) if args.quick else (70, 64, 400, 1150, 5)
    given = (args.seq, args.batch, args.input, args.hidden, args.repeats)
    seq, batch, n_in, hidden, repeats = (g or d for g, d in zip(given, quick, strict=True))

    torch.manual_seed(0)
    ref = nn.LSTM(n_in, hidden)
    ours = LSTM(n_in, hidden)
    ours.load_state_dict(ref.state_dict(), strict=True)
    models = {"torch": ref, "ours": ours}
    x = torch.randn(seq, batch, n_in)  # (T, B, I)
    with torch.no_grad():  # same weights, same numbers (up to float32 rounding)
        torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-5, rtol=1e-4)
    print(
        f"one LSTM layer, float32 on the CPU: sequence {seq}, batch {batch}, input {n_in}, "
        f"hidden {hidden}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"outputs equal: yes"
    )
    print(f"{'pass':<20}{'model':<8}{'best s':>9}{'median s':>10}")
    ratios = {}
    for label, timer in (
        ("forward", forward_seconds),
        ("forward_backward", forward_backward_seconds),
    ):
        times: dict[str, list[float]] = {name: [] for name in models}
        for model in models.values():  # warm-up: allocations, kernels chosen
            timer(model, x)
        for i in range(repeats):
            order = list(models) if i % 2 == 0 else list(reversed(models))
            for name in order:
                times[name].append(timer(models[name], x))
        for name in models:
            best, median = min(times[name]), statistics.median(times[name])
            print(f"{label:<20}{name:<8}{best:>9.3f}{median:>10.3f}")
        ratios[label] = statistics.median(times["ours"]) / statistics.median(times["torch"])
        best_ratio = min(times["ours"]) / min(times["torch"])
        print(f"{label}: ours / torch = {ratios[label]:.2f}x (median), {best_ratio:.2f}x (best)")
    return ratios


if __name__ == "__main__":
    main()
