"""Arranging the full-profile downloads in the layouts the course's loading code reads.

The canonical archives of lessons 1-6 each have their own shape (pickled CIFAR
batches, MNIST's idx files, pets named ``Breed_12.jpg`` with split lists, the
MovieLens ``u.*`` files). Each ``prepare_*`` function here turns the verified
downloads into the layout of :mod:`course_utils.datasets.registry`, writing into
a temporary folder that is renamed into place once complete. Archives are opened
only through :func:`~course_utils.datasets.archives.safe_extract`, capped at the
entry's ``max_extracted`` bytes, which :func:`course_utils.datasets.registry.dataset_path`
passes to every ``prepare_*`` (those that extract nothing ignore it).
"""

from __future__ import annotations

import gzip
import pickle
import shutil
from pathlib import Path

import numpy as np

from course_utils.datasets import quick_images, quick_text
from course_utils.datasets.archives import DEFAULT_MAX_EXTRACTED, safe_extract

__all__ = [
    "MOVIELENS_GENRES",
    "prepare_cifar10",
    "prepare_dogscats",
    "prepare_imdb",
    "prepare_mnist",
    "prepare_movielens",
    "prepare_nietzsche",
    "prepare_pets",
    "read_idx",
]


def _extract(archive: Path, work: Path, max_bytes: int) -> Path:
    """Extract into a fresh folder under ``work`` (which the caller deletes)."""
    return safe_extract(archive, work / "_extracted" / archive.name.split(".")[0], max_bytes)


def _move_children(src: Path, out: Path, renames: dict[str, str] | None = None) -> None:
    for child in src.iterdir():
        child.rename(out / (renames or {}).get(child.name, child.name))


def prepare_dogscats(
    files: dict[str, Path], out: Path, max_extracted: int = DEFAULT_MAX_EXTRACTED
) -> dict:
    """dogscats.tgz: the folder holding ``train/`` and ``valid/`` becomes the root
    (``test1/`` is renamed ``test/``)."""
    extracted = _extract(files["dogscats.tgz"], out, max_extracted)
    candidates = [extracted, *sorted(p for p in extracted.iterdir() if p.is_dir())]
    root = next((p for p in candidates if (p / "train").is_dir() and (p / "valid").is_dir()), None)
    if root is None:
        found = sorted(p.name for p in extracted.iterdir())
        raise FileNotFoundError(
            f"dogscats.tgz: expected a folder holding train/ and valid/ at its top or one level "
            f"down, found {found}"
        )
    _move_children(root, out, {"test1": "test"})
    shutil.rmtree(out / "_extracted")
    return {"items": None}


def prepare_pets(
    files: dict[str, Path], out: Path, max_extracted: int = DEFAULT_MAX_EXTRACTED
) -> dict:
    """Oxford-IIIT Pets: the ``trainval`` list to ``train/<Breed>/``, ``test`` to ``valid/``."""
    images = _extract(files["images.tar.gz"], out, max_extracted) / "images"
    notes = _extract(files["annotations.tar.gz"], out, max_extracted) / "annotations"
    count = 0
    for split, listing in (("train", "trainval.txt"), ("valid", "test.txt")):
        for line in (notes / listing).read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            stem = line.split()[0]  # e.g. "Abyssinian_100 1 1 1": breed_number, ids
            breed = stem.rsplit("_", 1)[0]
            (out / split / breed).mkdir(parents=True, exist_ok=True)
            (images / f"{stem}.jpg").rename(out / split / breed / f"{stem}.jpg")
            count += 1
    shutil.rmtree(out / "_extracted")
    return {"items": count}


def prepare_cifar10(
    files: dict[str, Path], out: Path, max_extracted: int = DEFAULT_MAX_EXTRACTED
) -> dict:
    """CIFAR-10 pickled batches as PNG folders; the 10,000 test images form ``valid/``."""
    batches = _extract(files["cifar-10-python.tar.gz"], out, max_extracted) / "cifar-10-batches-py"

    def unpickle(name: str) -> dict:  # the archive's hash was verified before extraction
        with open(batches / name, "rb") as f:
            return pickle.load(f, encoding="bytes")

    classes = [c.decode() for c in unpickle("batches.meta")[b"label_names"]]
    count = 0
    for split, names in (
        ("train", [f"data_batch_{i}" for i in range(1, 6)]),
        ("valid", ["test_batch"]),
    ):
        for name in names:
            batch = unpickle(name)
            images = batch[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, 32, 32, 3)
            stems = [n.decode().rsplit(".", 1)[0] for n in batch[b"filenames"]]
            count += quick_images.write_image_folders(
                out, split, images, np.asarray(batch[b"labels"]), classes, stems
            )
    shutil.rmtree(out / "_extracted")
    return {"items": count}


def read_idx(path: Path) -> np.ndarray:
    """An MNIST idx file (gzipped): big-endian header of dims, then uint8 data."""
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def prepare_mnist(
    files: dict[str, Path], out: Path, max_extracted: int = DEFAULT_MAX_EXTRACTED
) -> dict:
    """MNIST idx files as PNG folders ``0``..``9``; the 10,000 test digits form ``valid/``."""
    count = 0
    for split, prefix in (("train", "train"), ("valid", "t10k")):
        images = read_idx(files[f"{prefix}-images-idx3-ubyte.gz"])  # (N, 28, 28)
        labels = read_idx(files[f"{prefix}-labels-idx1-ubyte.gz"]).astype(np.int64)  # (N,)
        stems = [f"{i:05d}" for i in range(len(labels))]
        count += quick_images.write_image_folders(
            out, split, images, labels, quick_images.DIGIT_CLASSES, stems
        )
    return {"items": count}


def prepare_imdb(
    files: dict[str, Path], out: Path, max_extracted: int = DEFAULT_MAX_EXTRACTED
) -> dict:
    """aclImdb: its ``train/`` and ``test/`` (``pos``, ``neg``, ``unsup``) at the root."""
    _move_children(_extract(files["aclImdb_v1.tar.gz"], out, max_extracted) / "aclImdb", out)
    shutil.rmtree(out / "_extracted")
    return {"items": None}


def prepare_nietzsche(
    files: dict[str, Path], out: Path, max_extracted: int = DEFAULT_MAX_EXTRACTED
) -> dict:
    """nietzsche.txt copied to ``corpus.txt``."""
    shutil.copyfile(files["nietzsche.txt"], out / "corpus.txt")
    return {"items": None, "bytes": (out / "corpus.txt").stat().st_size}


# the 19 genre flags that end each line of u.item, in order
MOVIELENS_GENRES = (
    *("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime"),
    *("Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery"),
    *("Romance", "Sci-Fi", "Thriller", "War", "Western"),
)


def prepare_movielens(
    files: dict[str, Path], out: Path, max_extracted: int = DEFAULT_MAX_EXTRACTED
) -> dict:
    """ml-100k ``u.data`` and ``u.item`` as ``ratings.csv`` and ``movies.csv``."""
    folder = _extract(files["ml-100k.zip"], out, max_extracted) / "ml-100k"
    ratings = (line.split("\t") for line in (folder / "u.data").read_text().splitlines())
    movies = []
    for line in (folder / "u.item").read_text(encoding="latin-1").splitlines():
        fields = line.split("|")  # id|title|release|video release|IMDb URL|19 flags
        flags = fields[-len(MOVIELENS_GENRES) :]
        genres = [g for g, flag in zip(MOVIELENS_GENRES, flags, strict=True) if flag == "1"]
        movies.append((fields[0], fields[1], genres))
    n = quick_text.write_ratings_files(out, ratings, movies)
    shutil.rmtree(out / "_extracted")
    return {"items": n}
