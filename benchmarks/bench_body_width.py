"""What does the quick profile's half-width ResNet save, against the published width?

The quick profile keeps every layer of a ResNet and half of each layer's channels
(``Profile.body_width``). This script times what fine-tuning pays for, one training
step (forward, backward, SGD update) on a batch of the quick profile's images, for
each architecture the chapters fine-tune, at full and at half width, interleaved
(full, half, half, full, ...) after an untimed warm-up, and prints the best and
median seconds per step and the ratio full/half. Goal: at least 3x for ResNet-34, the
network of every fine-tuning chapter; ResNeXt-50 is reported (its grouped
convolutions shrink less well).

    python benchmarks/bench_body_width.py            # the full run (about a minute)
    python benchmarks/bench_body_width.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from course_utils.models.pretrained import ConvNet, create_body, create_head
from course_utils.profile import PROFILES

ARCHS = ("resnet34", "resnext50_32x4d")


def network(arch: str, width: float, n_out: int = 5) -> ConvNet:
    body = create_body(arch, pretrained=False, width=width)
    n_features = [m for m in body.modules() if isinstance(m, nn.BatchNorm2d)][-1].num_features
    return ConvNet(body, create_head(n_features, n_out))


def step_seconds(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> float:
    """The time of one training step: forward, cross-entropy, backward, SGD update."""
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    start = time.perf_counter()
    loss = nn.functional.cross_entropy(model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = parser.parse_args(argv)
    quick = PROFILES["quick"]
    repeats, bs = (2, 8) if args.quick else (6, quick.batch_size)
    size = quick.image_size
    torch.manual_seed(0)
    xb, yb = torch.randn(bs, 3, size, size), torch.randint(0, 5, (bs,))  # (B, 3, S, S), (B,)
    print(f"one training step, batch {bs} at {size}x{size}, {torch.get_num_threads()} threads")
    print(f"{'network':<18}{'width':>6}{'best s':>9}{'median s':>10}{'parameters':>13}")
    ratios = {}
    for arch in ARCHS:
        models = {1.0: network(arch, 1.0), quick.body_width: network(arch, quick.body_width)}
        times: dict[float, list[float]] = {width: [] for width in models}
        for model in models.values():  # warm-up: allocations, kernels chosen
            step_seconds(model, xb, yb)
        for i in range(repeats):
            order = list(models) if i % 2 == 0 else list(reversed(models))
            for width in order:
                times[width].append(step_seconds(models[width], xb, yb))
        for width, model in models.items():
            n_params = sum(p.numel() for p in model.parameters())
            print(
                f"{arch:<18}{width:>6g}{min(times[width]):>9.3f}"
                f"{statistics.median(times[width]):>10.3f}{n_params:>13,}"
            )
        ratios[arch] = statistics.median(times[1.0]) / statistics.median(times[quick.body_width])
        print(f"{arch}: full width / width {quick.body_width:g} = {ratios[arch]:.1f}x (median)")
    return ratios


if __name__ == "__main__":
    main()
