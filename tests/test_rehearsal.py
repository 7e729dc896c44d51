"""The full profile's data path rehearsed offline: every dataset of the registry downloaded
from a local mirror of miniatures in the canonical formats, verified, extracted, prepared and
loaded by the loaders the chapters use (course_utils.datasets.mirror and .miniatures)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, notebook_page

from course_utils.collab import read_ratings
from course_utils.datasets import dataset_path, registry
from course_utils.datasets.miniatures import (
    BOOK_WEIGHTS,
    MINIATURES,
    build_mirror,
    place_manual_miniatures,
    published_weights,
    random_weights,
    serve_mirror,
)
from course_utils.datasets.mirror import MIRROR_ENV_VAR, MirrorError, mirror_origin, mirrored
from course_utils.models.pretrained import ARCHITECTURES, create_body, default_weights
from course_utils.profile import PROFILES, REHEARSAL_ENV_VAR, ProfileError, current_profile
from course_utils.provenance import _sources
from course_utils.report import ClaimError, claim, unmet_claims
from course_utils.text.corpus import read_corpus, read_sentiment_folders
from course_utils.vision import ImageData

DOWNLOADED = sorted(name for name, entry in registry.REGISTRY.items() if entry.full)
MANUAL = sorted(name for name, entry in registry.REGISTRY.items() if entry.manual)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("mirror")
    files = build_mirror(folder)
    with serve_mirror(folder) as origin:
        yield {"folder": folder, "origin": origin, "files": files}


@pytest.fixture
def rehearsal(mirror, tmp_path, monkeypatch) -> Path:
    """A data folder of its own, the mirror set: what ``make rehearsal`` sets up."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(MIRROR_ENV_VAR, mirror["origin"])
    saved = dict(_sources)
    _sources.clear()
    yield tmp_path / "data"
    _sources.clear()
    _sources.update(saved)


def test_the_mirror_holds_a_miniature_of_every_download(mirror):
    urls = {r.url for entry in registry.REGISTRY.values() for r in entry.full}
    weights = {published_weights(name)[0] for name in BOOK_WEIGHTS}
    assert set(mirror["files"]) == urls | weights
    for url, note in mirror["files"].items():
        data = (mirror["folder"] / note["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == note["sha256"], url
        if url in urls:
            assert 0 < len(data) < 500_000, f"{url}: a miniature, not a copy"
    # the same bytes on every build: the manifest can be compared across machines
    again = build_mirror(mirror["folder"].parent / "again")
    assert again == mirror["files"]
    assert set(MINIATURES) == {r.fname for e in registry.REGISTRY.values() for r in e.full}


@pytest.mark.parametrize("name", DOWNLOADED)
def test_download_verify_extract_prepare_load(rehearsal, mirror, name):
    root = dataset_path(name, "full")
    # under the rehearsal folder, never where the real full data is cached
    assert root == rehearsal / "rehearsal" / name / "full"
    assert not (rehearsal / name).exists()
    entry = registry.get_dataset(name)
    for remote in entry.full:
        assert (rehearsal / "rehearsal" / name / "downloads" / remote.fname).is_file()
    (source,) = [s for s in _sources.values() if entry.title in s.name]
    assert "rehearsal miniature" in source.name and mirror["origin"] in source.origin
    if name in ("dogscats", "pets", "cifar10", "mnist"):
        # the full profile's loader at its image size, with worker processes
        dls = ImageData.from_paths(root, size=224, bs=4, num_workers=2)
        x, y = next(iter(dls.train_dl))
        assert x.shape == (4, 3, 224, 224) and y.shape == (4,)
        assert len(dls.classes) == {"dogscats": 2, "pets": 3, "cifar10": 10, "mnist": 10}[name]
        if name == "dogscats":
            assert len(list((root / "test").iterdir())) == 4  # test1/ renamed test/
    elif name == "imdb":
        texts, labels = read_sentiment_folders(root, "train")
        assert len(texts) == 2_000 and set(np.unique(labels)) == {0, 1}
        assert len(list((root / "train" / "unsup").iterdir())) == 4
    elif name == "nietzsche":
        assert "HAMLET" in read_corpus(root).upper()
    elif name == "movielens":
        ratings = read_ratings(root / "ratings.csv")
        assert len(ratings) == 20_000 and ratings["rating"].between(1, 5).all()
        movies = (root / "movies.csv").read_text(encoding="utf-8")
        assert "Toy Story" in movies or len(movies.splitlines()) > 100
    else:
        pytest.fail(f"add a load check for {name}")


def test_the_mirror_has_weights_for_every_architecture_the_book_names():
    named = set()
    for page in (REPO / "book").rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        named |= {arch for arch in ARCHITECTURES if f'"{arch}"' in text}
    assert named and named <= set(BOOK_WEIGHTS), named


def test_pretrained_weights_come_from_the_mirror_and_load_strictly(rehearsal, torch_home):
    body = create_body("resnet34", pretrained=True)
    fname = Path(default_weights("resnet34").url).name  # the canonical name: resnet34-b627a593.pth
    kept = rehearsal / "rehearsal" / "checkpoints" / fname
    assert kept.is_file()
    assert not torch_home.exists() or not any(torch_home.iterdir())  # the real cache: untouched
    expected = random_weights("resnet34")
    import torch

    state = torch.load(io.BytesIO(expected), weights_only=True)
    assert torch.equal(body[0].weight, state["conv1.weight"])
    assert create_body("resnet34", pretrained=True) is not None  # the kept file, checked again
    kept.write_bytes(kept.read_bytes()[:-10] + b"0123456789")  # altered: fetched anew
    create_body("resnet34", pretrained=True)
    assert kept.read_bytes() == expected


@pytest.mark.parametrize("name", MANUAL)
def test_manual_layouts_are_read_from_the_rehearsal_folder(rehearsal, name):
    with pytest.raises(registry.ManualDownloadRequired):
        dataset_path(name, "full")
    assert sorted(place_manual_miniatures(registry.full_data_root())) == MANUAL
    root = dataset_path(name, "full")
    if name == "rossmann":
        from course_utils.tabular.rossmann import prepare

        prepared = prepare(PROFILES["full"])
        assert len(prepared.train) > 500 and len(prepared.valid) > 0
        assert "StoreType" in prepared.cat_names or "StoreType" in prepared.train.columns
    else:
        dls = ImageData.from_csv(root, size=224, bs=4, num_workers=0)
        x, y = next(iter(dls.train_dl))
        assert x.shape == (4, 3, 224, 224) and y.shape[0] == 4 and y.ndim == 2  # multi-label


def test_a_tampered_miniature_is_refused_and_nothing_is_kept(mirror, rehearsal, tmp_path):
    folder = tmp_path / "tampered"
    shutil.copytree(mirror["folder"], folder)
    path = folder / mirror["files"][registry.get_dataset("movielens").full[0].url]["path"]
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with serve_mirror(folder) as origin, pytest.MonkeyPatch.context() as patch:
        patch.setenv(MIRROR_ENV_VAR, origin)
        with pytest.raises(ValueError, match="SHA256 hash of downloaded file"):
            dataset_path("movielens", "full")
    downloads = rehearsal / "rehearsal" / "movielens" / "downloads"
    assert not downloads.exists() or not any(downloads.iterdir())
    assert not (rehearsal / "rehearsal" / "movielens" / "full").exists()


@pytest.mark.parametrize(
    "value",
    [
        "https://example.org",
        "http://example.org:8765",
        "http://localhost:8765",  # a name, which the hosts file decides: refused
        "http://127.0.0.1:8765/elsewhere",
        "ftp://127.0.0.1:8765",
    ],
)
def test_only_a_loopback_mirror_is_accepted(monkeypatch, value):
    monkeypatch.setenv(MIRROR_ENV_VAR, value)
    with pytest.raises(MirrorError, match="127.0.0.1"):
        mirror_origin()
    with pytest.raises(MirrorError):
        dataset_path("movielens", "full")


def test_a_url_the_mirror_does_not_hold_is_refused(mirror, rehearsal):
    with pytest.raises(MirrorError, match="does not hold https://example.org/other.zip"):
        mirrored("https://example.org/other.zip")
    manifest = json.loads((mirror["folder"] / "manifest.json").read_text())
    assert "https://example.org/other.zip" not in manifest["files"]


def test_without_a_mirror_nothing_changes(monkeypatch):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    assert mirror_origin() is None and mirrored("https://example.org/x.zip") is None


# --- the rehearsal profile, claims, and a chapter rehearsed --------------------------------


def test_a_rehearsal_is_the_full_profile_on_a_mirror_only(monkeypatch):
    monkeypatch.setenv(REHEARSAL_ENV_VAR, "1")
    monkeypatch.setenv("COURSE_PROFILE", "full")
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    with pytest.raises(ProfileError, match="COURSE_DATA_MIRROR"):
        current_profile()
    monkeypatch.setenv(MIRROR_ENV_VAR, "http://127.0.0.1:8765")
    profile = current_profile()
    assert profile.rehearsal and profile.name == "full" and profile.pretrained
    assert profile.image_size == PROFILES["full"].image_size  # the full profile's shapes
    assert profile.epochs < PROFILES["full"].epochs  # its fits cut short
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    with pytest.raises(ProfileError, match="COURSE_PROFILE=full"):
        current_profile()
    monkeypatch.setenv(REHEARSAL_ENV_VAR, "0")
    assert not current_profile().rehearsal


def test_a_claim_is_an_assertion_except_in_a_rehearsal(monkeypatch, capsys):
    monkeypatch.delenv(REHEARSAL_ENV_VAR, raising=False)
    assert claim(0.99 > 0.98, "accuracy above 98%") is True
    with pytest.raises(ClaimError, match="accuracy above 98%") as raised:
        claim(0.5 > 0.98, "accuracy above 98%")
    assert isinstance(raised.value, AssertionError)  # what `assert` raised before
    before = len(unmet_claims())
    monkeypatch.setenv(REHEARSAL_ENV_VAR, "1")
    monkeypatch.setenv("COURSE_PROFILE", "full")
    monkeypatch.setenv(MIRROR_ENV_VAR, "http://127.0.0.1:8765")
    assert claim(0.5 > 0.98, "accuracy above 98%: 0.5") is False
    assert unmet_claims()[before:] == ["accuracy above 98%: 0.5"]
    assert "[rehearsal] not asserted" in capsys.readouterr().out


def test_the_lr_finder_reports_a_flat_sweep_in_a_rehearsal(monkeypatch):
    from course_utils.lr_finder import LRFinderResult, NoClearMinimum

    flat = LRFinderResult(lrs=[1e-5, 1e-4, 1e-3], losses=[2.0] * 3, smoothed_losses=[2.0] * 3)
    monkeypatch.delenv(REHEARSAL_ENV_VAR, raising=False)
    with pytest.raises(NoClearMinimum):
        flat.suggestion  # noqa: B018
    monkeypatch.setenv(REHEARSAL_ENV_VAR, "1")
    monkeypatch.setenv("COURSE_PROFILE", "full")
    monkeypatch.setenv(MIRROR_ENV_VAR, "http://127.0.0.1:8765")
    assert flat.suggestion == pytest.approx(flat.lr_at_min_loss / 10)
    assert "clear minimum" in unmet_claims()[-1]


CONFIG = "repository:\n  url: https://github.com/example/course\n"


def test_a_broken_full_only_branch_fails_the_rehearsal(tmp_path):
    """The rehearsal runs the full profile's branches: one broken on purpose fails it, and a
    claim only the real data can meet is reported; the quick profile never saw either."""
    from course_book.rehearsal import rehearse

    (tmp_path / "_config.yml").write_text(CONFIG)
    (tmp_path / ".binder").mkdir()  # the launch tree copies Binder's environment
    shutil.copyfile(
        REPO / ".binder" / "requirements.txt", tmp_path / ".binder" / "requirements.txt"
    )
    good = """
        from course_utils.datasets import dataset_path
        from course_utils.profile import current_profile
        from course_utils.report import claim

        profile = current_profile()
        root = dataset_path("movielens")
        lines = (root / "ratings.csv").read_text().splitlines()
        assert profile.name == "full" and profile.rehearsal
        claim(len(lines) == 100_001, "MovieLens 100k: 100,000 ratings")
    """
    broken = """
        from course_utils.profile import current_profile

        if current_profile().name == "full":
            columns = {"Sales": 1}["Salse"]  # a typo only the full branch has
    """
    for name, cell in (("good", good), ("broken", broken)):
        path = tmp_path / "book" / f"{name}.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(notebook_page(name, cell, provenance=False))
    good_result, broken_result = rehearse(
        tmp_path, ["book/good", "book/broken"], tmp_path / "work", jobs=1
    )
    assert good_result.error is None, good_result.error
    assert good_result.unmet == ["MovieLens 100k: 100,000 ratings"]
    assert broken_result.error is not None and "KeyError" in broken_result.error
    assert "Salse" in broken_result.error


def test_the_mirror_is_built_from_the_command_line(tmp_path, capsys):
    from course_utils.datasets.miniatures import main

    assert main(["build", str(tmp_path)]) == 0
    files = json.loads((tmp_path / "manifest.json").read_text())["files"]
    assert f"{len(files)} miniatures" in capsys.readouterr().out
