"""Finding the images of a dataset on disk, and saying clearly what is wrong when the layout is off.

Two layouts, as in the 2018 course:

image folders (lessons 1-2: dogs vs cats, pets)
    ``PATH/train/<class>/<image>``, ``PATH/valid/<class>/<image>`` and, optionally,
    ``PATH/test/<image>`` (flat, unlabelled). The class of an image is the name of
    its folder; classes are sorted by name, so class ``i`` is the ``i``-th folder.
labels in a CSV (lesson 3: Planet)
    ``PATH/train/<image>`` (flat) and ``PATH/labels.csv`` with a header
    ``image_name,tags``: one row per image, its name (with or without the
    extension) and its tags separated by spaces. The validation set is a seeded
    random fraction of the rows (:func:`split_indices`).

Only files with an image extension (:data:`IMAGE_EXTENSIONS`, any case) count;
hidden files and folders (``.DS_Store``, ``.ipynb_checkpoints``) and other files
(``README.txt``) are ignored. An image name whose file is not there, a broken link
(``cat1.jpg -> /mnt/photos/cat1.jpg`` with the photos gone), is not ignored: skipping it
would train on fewer images without a word. Every problem raises
:class:`DatasetLayoutError`, whose message names the layout expected and what was found
instead; a labels CSV that is a folder, is not UTF-8 or holds a NUL byte raises
:class:`~course_utils.checks.CsvFileError`, whose message says how to fix the file.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_utils.checks import read_csv_text

__all__ = [
    "IMAGE_EXTENSIONS",
    "CsvLabels",
    "DatasetLayoutError",
    "ImageFolders",
    "find_image_folders",
    "is_image_file",
    "list_images",
    "read_csv_labels",
    "read_split",
    "split_indices",
]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
FOLDERS_LAYOUT = "{path}/{trn}/<class>/<image>, {path}/{val}/<class>/<image>"
CSV_LAYOUT = "{path}/{folder}/<image> and {path}/{csv} with a header 'image_name,tags'"
MAX_LISTED = 12  # names shown in an error before "... and N more"


class DatasetLayoutError(ValueError):
    """The files on disk are not in the layout expected; the message says what was found."""


def is_image_file(path: Path) -> bool:
    """A visible file whose extension (any case) is in :data:`IMAGE_EXTENSIONS`."""
    return (
        not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()
    )


def _check_not_broken_link(path: Path) -> None:
    """Raise if ``path``, named as a visible image, is a link to nothing (or a loop)."""
    named_image = not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS
    if named_image and path.is_symlink() and not path.exists():  # exists() follows the link
        raise DatasetLayoutError(
            f"{path} is a link to {os.readlink(path)}, which does not exist: restore the file "
            "it points to, or delete the link to leave the image out"
        )


def list_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder`` (not in subfolders), sorted by name.

    Other files are ignored, but a broken link named as an image is a
    :class:`DatasetLayoutError` naming it."""
    images = []
    for p in Path(folder).iterdir():
        if is_image_file(p):
            images.append(p)
        else:
            _check_not_broken_link(p)
    return sorted(images)


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _listing(folder: Path) -> str:
    """What ``folder`` holds, for an error message: ``'a/', 'b.txt'`` or ``nothing``."""
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    if not names:
        return "nothing (it is empty)"
    shown = ", ".join(repr(n) for n in names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(repr(str(n)) for n in items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _check_dir(path: Path, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        parent = path.parent
        found = f"; {parent} holds {_listing(parent)}" if parent.is_dir() else ""
        raise DatasetLayoutError(f"{what}: the path {path} does not exist{found}")
    if not path.is_dir():
        raise DatasetLayoutError(f"{what}: {path} is a file, expected a folder")
    return path


def read_split(
    path: Path, split: str, layout: str, classes: Sequence[str] | None = None
) -> tuple[list[Path], list[int], list[str]]:
    """The images of ``path/split/<class>/``: ``(files, labels, classes)``.

    Classes are the sorted names of the visible subfolders, unless ``classes``
    is given (then every folder must be one of them, and labels index into it).
    """
    folder = path / split
    if not folder.is_dir():
        raise DatasetLayoutError(
            f"no {split!r} folder in {path}: expected {layout}; found in {path}: {_listing(path)}"
        )
    class_dirs = _visible_dirs(folder)
    loose = list_images(folder)
    if loose:
        raise DatasetLayoutError(
            f"{folder} holds {len(loose)} image file{'s' if len(loose) > 1 else ''} directly "
            f"({_names([p.name for p in loose])}) where class folders were expected: {layout}. "
            "Put each image in a folder named "
            "after its class, or, for a flat folder with the labels in a CSV, use "
            "ImageData.from_csv"
        )
    if not class_dirs:
        raise DatasetLayoutError(
            f"{folder} holds no class folders: expected {layout}; found: {_listing(folder)}"
        )
    names = [d.name for d in class_dirs]
    classes = list(names if classes is None else classes)
    index = {c: i for i, c in enumerate(classes)}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise DatasetLayoutError(
            f"{folder} has class folders {_names(unknown)} that are not among the classes "
            f"{_names(classes)}"
        )
    files: list[Path] = []
    labels: list[int] = []
    for class_dir in class_dirs:
        images = list_images(class_dir)
        if not images:
            raise DatasetLayoutError(
                f"the class folder {class_dir} (class {class_dir.name!r}) holds no images "
                f"(files ending in {', '.join(sorted(IMAGE_EXTENSIONS))}); "
                f"found: {_listing(class_dir)}"
            )
        files.extend(images)
        labels.extend([index[class_dir.name]] * len(images))
    return files, labels, classes


@dataclass
class ImageFolders:
    """The images found in an image-folder layout (see :func:`find_image_folders`)."""

    path: Path
    classes: list[str]  # sorted folder names; label i is classes[i]
    train_files: list[Path]
    train_labels: list[int]
    valid_files: list[Path]
    valid_labels: list[int]
    test_files: list[Path] | None = None  # None: no test folder was asked for


def find_image_folders(
    path: str | Path, trn_name: str = "train", val_name: str = "valid", test_name: str | None = None
) -> ImageFolders:
    """Find and check ``path/trn_name/<class>/``, ``path/val_name/<class>/`` (and
    ``path/test_name/``): the same class folders in both splits, none empty, no loose
    images where class folders belong. Raises :class:`DatasetLayoutError` otherwise."""
    layout = FOLDERS_LAYOUT.format(path="PATH", trn=trn_name, val=val_name)
    if test_name:
        layout += f" and PATH/{test_name}/<image>"
    path = _check_dir(path, f"expected an image-folder dataset ({layout})")
    # both splits must exist before anything else is checked: the likeliest mistake
    for split in (trn_name, val_name):
        if not (path / split).is_dir():
            raise DatasetLayoutError(
                f"no {split!r} folder in {path}: expected {layout}; "
                f"found in {path}: {_listing(path)}"
            )
    train_dirs = {d.name for d in _visible_dirs(path / trn_name)}
    valid_dirs = {d.name for d in _visible_dirs(path / val_name)}
    if train_dirs and valid_dirs and train_dirs != valid_dirs:
        only_train, only_valid = sorted(train_dirs - valid_dirs), sorted(valid_dirs - train_dirs)
        raise DatasetLayoutError(
            f"the class folders of {trn_name!r} and {val_name!r} differ; both need the same "
            f"classes ({layout}). Only in {trn_name}: {_names(only_train) or 'none'}; "
            f"only in {val_name}: {_names(only_valid) or 'none'}"
        )
    train_files, train_labels, classes = read_split(path, trn_name, layout)
    valid_files, valid_labels, _ = read_split(path, val_name, layout, classes)
    test_files = None
    if test_name:
        test_dir = _check_dir(path / test_name, f"the test folder PATH/{test_name}/<image>")
        test_files = list_images(test_dir)
        if not test_files:
            raise DatasetLayoutError(
                f"the test folder {test_dir} holds no images directly (expected "
                f"PATH/{test_name}/<image>, unlabelled); found: {_listing(test_dir)}"
            )
    return ImageFolders(
        path, classes, train_files, train_labels, valid_files, valid_labels, test_files
    )


@dataclass
class CsvLabels:
    """The images and tags read from a labels CSV (see :func:`read_csv_labels`)."""

    files: list[Path]  # one per CSV row, in the CSV's order
    tags: list[list[str]]  # the tags of each file; may be empty
    classes: list[str]  # every tag seen, sorted; column i of a target is classes[i]

    def targets(self) -> np.ndarray:
        """The tags as 0/1 columns: ``(N, len(classes))`` float32."""
        column = {c: i for i, c in enumerate(self.classes)}
        out = np.zeros((len(self.files), len(self.classes)), dtype=np.float32)
        for row, tags in enumerate(self.tags):
            out[row, [column[t] for t in tags]] = 1.0
        return out


def _image_lookup(folder: Path) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    by_name: dict[str, Path] = {}
    by_stem: dict[str, list[Path]] = {}
    for p in list_images(folder):
        by_name[p.name] = p
        by_stem.setdefault(p.stem, []).append(p)
    return by_name, by_stem


def read_csv_labels(
    path: str | Path,
    folder: str = "train",
    csv_fname: str = "labels.csv",
    fn_col: str = "image_name",
    label_col: str = "tags",
    label_delim: str = " ",
) -> CsvLabels:
    """Read ``path/csv_fname`` (columns ``fn_col,label_col``) naming images in ``path/folder``.

    An image name may be a stem (``train_1``: the extension is found in the
    folder) or a file name (``train_1.jpg``). An empty tags cell means the image
    has no tags (an all-zero target), as fastai allowed. Images in the folder that
    no row names are ignored. Raises :class:`DatasetLayoutError` for a missing
    column, a row naming a missing file, or an image named by two rows.
    """
    layout = CSV_LAYOUT.format(path="PATH", folder=folder, csv=csv_fname)
    path = _check_dir(path, f"expected a multi-label dataset ({layout})")
    image_dir, csv_file = path / folder, path / csv_fname
    for needed in (image_dir, csv_file):
        if not needed.exists():
            raise DatasetLayoutError(
                f"no {needed.name!r} in {path}: expected {layout}; found in {path}: "
                f"{_listing(path)}"
            )
    _check_dir(image_dir, f"the image folder of {layout}")
    by_name, by_stem = _image_lookup(image_dir)
    # read_csv_text: a folder, a file that is not UTF-8 or one with a NUL byte is refused
    text = read_csv_text(csv_file, "labels CSV")
    reader = csv.DictReader(io.StringIO(text, newline=""))  # newline="": as csv wants
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in (fn_col, label_col) if c not in header]
    if missing:
        raise DatasetLayoutError(
            f"{csv_file}: no column {_names(missing)} in the header; expected a header "
            f"'{fn_col},{label_col}', found {','.join(header) or 'an empty file'}"
        )
    reader.fieldnames = header
    rows = list(reader)
    files, tags, first_row, missing_rows = [], [], {}, []
    for row_no, row in enumerate(rows, start=1):  # row 1 is the line after the header
        name = (row.get(fn_col) or "").strip()
        file = by_name.get(name)
        if file is None:
            candidates = by_stem.get(name, [])
            if len(candidates) > 1:
                raise DatasetLayoutError(
                    f"{csv_file}, row {row_no}: {name!r} could be any of "
                    f"{_names([p.name for p in candidates])} in {image_dir}; give the extension"
                )
            file = candidates[0] if candidates else None
        if file is None:
            missing_rows.append(f"row {row_no} ({name!r})")
            continue
        if file in first_row:
            raise DatasetLayoutError(
                f"{csv_file}: rows {first_row[file]} and {row_no} both name {file.name}; "
                "each image must appear in one row only (put all its tags in that row)"
            )
        first_row[file] = row_no
        files.append(file)
        tags.append(sorted(set((row.get(label_col) or "").split(label_delim)) - {""}))
    if missing_rows:
        raise DatasetLayoutError(
            f"{csv_file}: {len(missing_rows)} rows name images that are not in {image_dir} "
            f"(rows count from 1 after the header): {', '.join(missing_rows[:MAX_LISTED])}"
            + (" ..." if len(missing_rows) > MAX_LISTED else "")
        )
    if not files:
        raise DatasetLayoutError(f"{csv_file} has a header but no rows: expected {layout}")
    classes = sorted({t for ts in tags for t in ts})
    return CsvLabels(files, tags, classes)


def split_indices(
    n: int, valid_pct: float = 0.2, seed: int = 42, val_idxs: Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``(train, valid)`` positions in ``range(n)``: ``val_idxs`` if given, else
    a seeded random ``valid_pct`` of them (at least one each side)."""
    if val_idxs is not None:
        valid = np.unique(np.asarray(val_idxs, dtype=np.int64))
        if len(valid) != len(val_idxs):
            raise ValueError("val_idxs holds the same position twice")
        if valid.size and (valid[0] < 0 or valid[-1] >= n):
            raise ValueError(f"val_idxs must be in 0..{n - 1}, got {valid[0]}..{valid[-1]}")
    else:
        if not 0 < valid_pct < 1:
            raise ValueError(f"valid_pct must be between 0 and 1 (exclusive), got {valid_pct}")
        n_valid = min(max(int(round(n * valid_pct)), 1), n - 1)
        valid = np.sort(np.random.default_rng(seed).permutation(n)[:n_valid])
    train = np.setdiff1d(np.arange(n), valid)
    if not len(train) or not len(valid):
        raise ValueError(
            f"splitting {n} items left {len(train)} for training and {len(valid)} for validation; "
            "both need at least one"
        )
    return train, valid
