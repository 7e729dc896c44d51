"""Crafted inputs a reader's machine can hold, each refused with a message that names the
file and the fix, and nothing of the reader's lost: the execution cache's clean-up, CSV files
(labels, ratings, tables) that are folders, not UTF-8 or hold NUL bytes, and image folders
with broken links, vanished files and truncated images."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from course_book.execution import configure_execution
from course_utils.checks import CsvFileError, read_csv_file, read_csv_text
from course_utils.collab import read_ratings
from course_utils.tabular import rossmann
from course_utils.vision import (
    CorruptImageError,
    DatasetLayoutError,
    ImageData,
    find_image_folders,
    read_csv_labels,
    read_image,
)

LABELS = "image_name,tags\nimg0,clear primary\nimg1,haze\nimg2,water\n"


def square(path: Path, colour=(200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), colour).save(path)
    return path


def folders(root: Path) -> Path:
    """train/ and valid/ with two classes of two images each."""
    for split in ("train", "valid"):
        for name in ("cat", "dog"):
            for i in range(2):
                square(root / split / name / f"{name}{i}.png")
    return root


def planet(root: Path, labels: bytes = LABELS.encode()) -> Path:
    for i in range(3):
        square(root / "train" / f"img{i}.png")
    (root / "labels.csv").write_bytes(labels)
    return root


# ----- the execution cache's clean-up ---------------------------------------------------------
def old_cache(folder: Path) -> Path:
    """A cache folder exactly as earlier versions left it (jupyter-cache's files)."""
    (folder / "executed" / "abc123").mkdir(parents=True)
    (folder / "executed" / "abc123" / "base.ipynb").write_text("{}")
    (folder / "global.db").write_bytes(b"SQLite format 3\0")
    (folder / "__version__.txt").write_text("1.0.1")
    return folder


def run_configure(base: Path, confdir: Path) -> SimpleNamespace:
    config = SimpleNamespace(nb_execution_mode="cache", nb_execution_cache_path=str(base))
    configure_execution(SimpleNamespace(confdir=str(confdir)), config)
    return config


def test_cache_clean_up_removes_only_the_old_versions_caches(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("COURSE_EXECUTION", raising=False)
    base = tmp_path / "cache"
    old = old_cache(base / "lib-0123456789abcdef")
    photos = square(base / "lib-photos" / "cat.png").parent  # the reader's own folder
    extra = old_cache(base / "lib-fedcba9876543210")
    (extra / "notes.txt").write_text("mine")  # named like a cache, holds a file of the reader
    elsewhere = old_cache(tmp_path / "elsewhere")
    (base / "lib-aaaaaaaaaaaaaaaa").symlink_to(elsewhere, target_is_directory=True)
    (base / "lib-bbbbbbbbbbbbbbbb").write_text("a file, not a folder")
    (base / "pages.json").write_text("{}")
    with caplog.at_level(logging.INFO):
        config = run_configure(base, tmp_path)
    assert config.nb_execution_cache_path == str(base)
    assert not old.exists()
    assert (photos / "cat.png").is_file() and (extra / "notes.txt").read_text() == "mine"
    assert (extra / "global.db").is_file() and (elsewhere / "global.db").is_file()
    assert (base / "lib-aaaaaaaaaaaaaaaa").is_symlink()
    assert (base / "lib-bbbbbbbbbbbbbbbb").read_text() == "a file, not a folder"
    assert (base / "pages.json").read_text() == "{}"
    log = caplog.text
    assert f"removed the old execution cache {old}" in log
    assert f"left {extra}: it is named like an old execution cache but is not one" in log
    assert "lib-photos" not in log  # never a cache's name: left in silence


def test_cache_clean_up_follows_a_relative_cache_path(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_EXECUTION", raising=False)
    old = old_cache(tmp_path / "_build" / "cache" / "lib-00000000000000ff")
    mine = square(tmp_path / "_build" / "cache" / "lib-0000000000000000" / "x.png")
    config = run_configure(Path("_build/cache"), tmp_path)
    assert config.nb_execution_cache_path == str(tmp_path / "_build" / "cache")
    assert not old.exists() and mine.is_file()


# ----- CSV files ------------------------------------------------------------------------------
CP1252 = "image_name,tags\ncafé,clear\n".encode("cp1252")  # é is the byte 0xe9


def test_a_csv_not_in_utf8_names_the_file_the_byte_and_how_to_resave(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_bytes(CP1252)
    with pytest.raises(CsvFileError) as err:
        read_csv_text(path, "labels CSV")
    message = str(err.value)
    assert f"the labels CSV {path} is not UTF-8 text: byte 0xe9 at byte offset 19 (line 2)" in (
        message
    )
    assert "re-save it as UTF-8 (in Excel: Save As > CSV UTF-8" in message
    assert path.read_bytes() == CP1252  # refused, not touched


def test_a_utf16_csv_is_refused_with_or_without_its_byte_order_mark(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_bytes("userId,movieId,rating\n1,2,3\n".encode("utf-16"))  # Excel's Unicode Text
    with pytest.raises(CsvFileError, match=r"not UTF-8 text: byte 0xff at byte offset 0 \(line 1"):
        read_ratings(path)
    path.write_bytes("userId,movieId,rating\n1,2,3\n".encode("utf-16-le"))  # no mark: ASCII + NULs
    with pytest.raises(CsvFileError, match=r"NUL byte .* on line 1, column 2: .*UTF-16"):
        read_ratings(path)


def test_a_nul_byte_in_a_labels_csv_is_refused_with_its_line(tmp_path):
    root = planet(tmp_path, LABELS.replace("haze", "ha\0ze").encode())
    before = (root / "labels.csv").read_bytes()
    with pytest.raises(CsvFileError) as err:
        read_csv_labels(root)
    assert f"the labels CSV {root / 'labels.csv'} holds a NUL byte (\\x00) on line 3, column 8" in (
        str(err.value)
    )
    with pytest.raises(CsvFileError, match=r"labels\.csv holds a NUL byte"):
        ImageData.from_csv(root, size=8)
    assert (root / "labels.csv").read_bytes() == before


def test_a_csv_path_that_is_a_folder_names_it_and_the_csv_files_inside(tmp_path):
    root = planet(tmp_path)
    (root / "labels.csv").unlink()
    (root / "labels.csv").mkdir()
    with pytest.raises(CsvFileError, match=r"the labels CSV .*labels\.csv is a folder, not a file"):
        read_csv_labels(root)
    (tmp_path / "ml").mkdir()
    (tmp_path / "ml" / "ratings.csv").write_text("userId,movieId,rating\n1,2,3\n")
    with pytest.raises(CsvFileError, match=r"ml is a folder, not a file: .*holds 'ratings\.csv'"):
        read_ratings(tmp_path / "ml")
    assert len(read_ratings(tmp_path / "ml" / "ratings.csv")) == 1


def test_an_image_folder_that_is_a_file_is_named(tmp_path):
    root = planet(tmp_path)
    for image in (root / "train").iterdir():
        image.unlink()
    (root / "train").rmdir()
    (root / "train").write_text("not a folder")
    with pytest.raises(DatasetLayoutError, match=r"train is a file, expected a folder"):
        read_csv_labels(root)


def test_a_utf8_csv_with_excels_byte_order_mark_still_reads(tmp_path):
    root = planet(tmp_path, b"\xef\xbb\xbf" + LABELS.encode())
    assert read_csv_labels(root).classes == ["clear", "haze", "primary", "water"]
    path = tmp_path / "r.csv"
    path.write_bytes(b"\xef\xbb\xbfuserId,movieId,rating\n1,2,3\n")
    assert list(read_ratings(path).columns) == ["userId", "movieId", "rating"]


def test_an_empty_or_ragged_csv_names_the_file(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_bytes(b"")
    with pytest.raises(CsvFileError, match=r"ratings file .*ratings\.csv could not be read"):
        read_ratings(path)
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(CsvFileError, match=r"ratings\.csv could not be read .*line 3"):
        read_csv_file(path, "ratings file")
    with pytest.raises(FileNotFoundError, match=r"no ratings file at .*gone\.csv"):
        read_ratings(tmp_path / "gone.csv")


def test_the_tabular_tables_are_read_through_the_same_check(tmp_path, monkeypatch):
    (tmp_path / "train.csv").write_text("Date,bikers\n2011-01-01,3\n")
    (tmp_path / "weather.csv").write_bytes(b"Date,temp\n2011-01-01,\xb05\n")  # cp1252 degree
    monkeypatch.setattr(rossmann, "dataset_path", lambda name, source: tmp_path)
    quick = SimpleNamespace(data_source="quick")
    with pytest.raises(CsvFileError, match=r"weather table .*weather\.csv is not UTF-8 .*line 2"):
        rossmann.read_tables(quick)
    (tmp_path / "weather.csv").write_text("Date,temp\n2011-01-01,5\n")
    sales, other, _ = rossmann.read_tables(quick)
    assert str(sales["Date"].dtype).startswith("datetime64") and other["temp"].tolist() == [5]


# ----- image folders --------------------------------------------------------------------------
def test_a_broken_link_among_the_images_is_named_not_skipped(tmp_path):
    root = folders(tmp_path / "data")
    link = root / "train" / "dog" / "dog9.jpg"
    link.symlink_to(tmp_path / "photos" / "dog9.jpg")  # the photos folder is gone
    for load in (find_image_folders, lambda r: ImageData.from_paths(r, size=8)):
        with pytest.raises(DatasetLayoutError) as err:
            load(root)
        assert f"{link} is a link to {tmp_path / 'photos' / 'dog9.jpg'}, which does not exist" in (
            str(err.value)
        )
        assert "restore the file it points to, or delete the link" in str(err.value)
    link.unlink()
    loop = root / "valid" / "cat" / "loop.png"
    loop.symlink_to(loop)  # a link to itself: as unreadable as a broken one
    with pytest.raises(DatasetLayoutError, match=r"loop\.png is a link to .*loop\.png"):
        find_image_folders(root)
    loop.unlink()
    (root / "train" / "cat" / "notes.txt").symlink_to(tmp_path / "gone.txt")  # not an image
    good = root / "train" / "cat" / "cat9.png"
    good.symlink_to(square(tmp_path / "photos" / "cat9.png"))
    found = find_image_folders(root)
    assert good in found.train_files and len(found.train_files) == 5


def test_a_broken_link_in_a_csv_layout_is_named(tmp_path):
    root = planet(tmp_path)
    (root / "train" / "img3.png").symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(DatasetLayoutError, match=r"img3\.png is a link to .*nowhere\.png"):
        read_csv_labels(root)


def test_an_image_that_vanishes_after_listing_is_named(tmp_path):
    root = folders(tmp_path / "data")
    target = square(tmp_path / "photos" / "dog9.png")
    (root / "train" / "dog" / "dog9.png").symlink_to(target)
    dls = ImageData.from_paths(root, size=8, bs=32, num_workers=0)
    (root / "train" / "cat" / "cat1.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"no image file at .*cat1\.png: restore it"):
        list(dls.train_dl)
    square(root / "train" / "cat" / "cat1.png")
    target.unlink()
    with pytest.raises(FileNotFoundError, match=r"dog9\.png \(a link to .*dog9\.png, which does"):
        list(dls.train_dl)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_truncated_image_names_the_file(tmp_path, fmt):
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format=fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    for decoder in ("auto", "pil"):
        with pytest.raises(CorruptImageError, match=rf"could not read .*{path.name} as an image"):
            read_image(path, decoder=decoder)
