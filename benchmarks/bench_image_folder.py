"""How fast does ``ImageData.from_paths`` feed images, next to torchvision's ImageFolder?

Both sides load the same ``train/<class>/`` folder with the same transforms (the
same ``tfms_from_stats(IMAGENET_STATS, size, transforms_side_on, max_zoom=1.1)``
object: random zoom and crop, rotation, lighting, flips, normalisation), the same
batch size, a shuffled DataLoader with the same number of workers (persistent
when there are any). torchvision's side is the classic recipe:
``datasets.ImageFolder`` (PIL decoding, the transforms' PIL kernels until the
tensor conversion). Ours decodes to a uint8 tensor (torchvision's decoder for
JPEG/PNG) and resizes it there. Two folders, written by this script into a
temporary directory:

photos
    JPEGs of about 300x400, random crops of scikit-image's sample photos
    (chelsea, astronaut, coffee; one class each), so decoding costs what it does
    on real photos.
mnist
    the quick profile's 5,000 MNIST digits (28x28 PNGs), as the course reads them.

Each epoch (every batch of the training loader) is timed, runs interleaved
(theirs, ours, ours, theirs, ...) after an untimed warm-up epoch that also starts
the workers; the script prints images per second (best and median epoch) and
the ratio ours/theirs (goal: at least 1.0x). With 0 workers, ours decodes and
augments on one intra-op thread (as DataLoader workers do); a control row runs
torchvision's loader on one thread too, to tell that apart from the decoding.

    python benchmarks/bench_image_folder.py            # the full run (a few minutes)
    python benchmarks/bench_image_folder.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from course_utils.vision.data import ImageData
from course_utils.vision.transforms import IMAGENET_STATS, tfms_from_stats, transforms_side_on


def write_photos(root: Path, n: int, seed: int = 0) -> Path:
    """``n`` JPEGs (about 300x400) in ``root/train/<photo>/`` and a few in ``root/valid/``."""
    from PIL import Image
    from skimage import data

    rng = np.random.default_rng(seed)
    sources = {"cat": data.chelsea(), "astronaut": data.astronaut(), "coffee": data.coffee()}
    for i in range(n):
        name = list(sources)[i % len(sources)]
        photo = sources[name]  # (H, W, 3) uint8, 300x451 to 512x512
        h, w = photo.shape[:2]
        ch, cw = rng.integers(h // 2, h + 1), rng.integers(w // 2, w + 1)
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        out_h, out_w = rng.integers(280, 321), rng.integers(380, 421)
        crop = Image.fromarray(photo[y : y + ch, x : x + cw]).resize((int(out_w), int(out_h)))
        split = "valid" if i % 10 == 9 else "train"
        folder = root / split / name
        folder.mkdir(parents=True, exist_ok=True)
        crop.save(folder / f"{i:04d}.jpg", quality=90)
    return root


def mnist_root(data_dir: Path) -> Path:
    os.environ["COURSE_DATA_DIR"] = str(data_dir)  # the quick data is written there once
    from course_utils.datasets.registry import dataset_path

    return dataset_path("mnist", profile="quick")


def torchvision_loader(root: Path, tfms, bs: int, workers: int) -> DataLoader:
    from torchvision.datasets import ImageFolder

    ds = ImageFolder(str(root / "train"), transform=tfms)
    return DataLoader(
        ds,
        batch_size=bs,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(0),
    )


def epoch_time(dl: DataLoader, threads: int | None = None) -> float:
    """Seconds to draw every batch of ``dl`` once (with ``threads`` intra-op threads)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        start = time.perf_counter()
        for xb, _ in dl:
            assert xb.dtype == torch.float32
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(before)


def compare(name: str, root: Path, size: int, bs: int, workers: int, repeats: int) -> dict:
    tfms = tfms_from_stats(IMAGENET_STATS, size, transforms_side_on, max_zoom=1.1)
    loaders = {
        "torchvision": torchvision_loader(root, tfms[0], bs, workers),
        "ours": ImageData.from_paths(root, bs=bs, tfms=tfms, num_workers=workers).train_dl,
    }
    threads = {"torchvision": None, "ours": None}
    if workers == 0:  # a control: torchvision's loader with one intra-op thread, as ours uses
        loaders["torchvision 1 thread"] = loaders["torchvision"]
        threads["torchvision 1 thread"] = 1
    n = len(loaders["ours"].dataset)
    assert n == len(loaders["torchvision"].dataset)
    for kind, dl in loaders.items():
        epoch_time(dl, threads[kind])  # warm-up: starts the workers, fills the page cache
    times: dict[str, list[float]] = {k: [] for k in loaders}
    for r in range(repeats):
        for kind in list(loaders) if r % 2 == 0 else list(loaders)[::-1]:
            times[kind].append(epoch_time(loaders[kind], threads[kind]))
    del loaders  # stops persistent workers
    best = {k: n / min(t) for k, t in times.items()}  # images per second
    median = {k: n / statistics.median(t) for k, t in times.items()}
    print(f"{name}: {n} images, size {size}, {workers} workers")
    for kind in times:
        line = f"  {kind:21s} best {best[kind]:6.0f} img/s   median {median[kind]:6.0f} img/s"
        if kind != "ours":
            line += (
                f"   ours/this: best {best['ours'] / best[kind]:.2f}x, "
                f"median {median['ours'] / median[kind]:.2f}x"
            )
        print(line, flush=True)
    return {"best": best, "median": median, "ratio": median["ours"] / median["torchvision"]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast smoke run")
    parser.add_argument("--photos", type=int, default=None, help="JPEGs to write")
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs of each loader")
    parser.add_argument("--bs", type=int, default=64, help="batch size")
    parser.add_argument("--size", type=int, default=224, help="image size for the photos")
    parser.add_argument("--mnist-size", type=int, default=64, help="image size for MNIST")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--folders", nargs="+", choices=["photos", "mnist"], default=None)
    args = parser.parse_args(argv)
    n_photos = args.photos or (120 if args.quick else 600)
    repeats = args.repeats or (2 if args.quick else 5)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs; batch size {args.bs}; {repeats} timed epochs of each, interleaved"
    )
    results = {}
    names = args.folders or ["photos", "mnist"]
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        if "photos" in names:
            folders.append(("photos", write_photos(Path(tmp) / "photos", n_photos), args.size))
        if "mnist" in names:
            folders.append(("mnist", mnist_root(Path(tmp) / "data"), args.mnist_size))
        for name, root, size in folders:
            for workers in args.workers:
                results[(name, workers)] = compare(name, root, size, args.bs, workers, repeats)
    print("goal: ours at least 1.0x torchvision's images per second")
    return results


if __name__ == "__main__":
    main()
