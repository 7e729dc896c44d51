"""The quick profile's pretrained bodies: trained once on the digits 0 to 4, keyed by what they
depend on, written atomically, loaded by conv_learner, and never shown a target image."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import torch

from course_utils.datasets import dataset_path
from course_utils.models import quick_pretrained
from course_utils.models.pretrained import create_cnn, load_weights_file
from course_utils.models.quick_pretrained import PretrainRecipe, quick_body_file, weights_key
from course_utils.profile import PROFILES
from course_utils.provenance import data_sources

TINY = PretrainRecipe(epochs=1, max_items=40, bs=16)  # seconds, not minutes
WIDTH = PROFILES["quick"].body_width


@pytest.fixture
def data_folder(tmp_path_factory, monkeypatch):
    # one data folder for the module's tests: the digit layouts are written once
    folder = tmp_path_factory.getbasetemp() / "quick-pretrained-data"
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    monkeypatch.setattr(quick_pretrained, "RECIPE", TINY)
    return folder


def test_conv_learner_body_is_the_file_trained_on_other_digits(data_folder, capsys):
    model = create_cnn("resnet18", 5)  # quick profile, pretrained by default
    out = capsys.readouterr().out
    assert "pretraining the quick profile's resnet18 body" in out
    assert "body pretrained on the MNIST digits 0 to 4" in out and "IMAGENET1K_V1" in out
    assert "resnet18 at half width" in out
    path = quick_body_file("resnet18", WIDTH)
    saved = load_weights_file(path)
    assert all(torch.equal(saved[k], v) for k, v in model.body.state_dict().items())
    summary = json.loads(path.with_suffix(".json").read_text())
    assert summary["train_images"] == TINY.max_items and summary["key"].startswith(
        path.stem.rsplit("-", 1)[-1]
    )
    [source] = [s for s in data_sources() if "pretrained by this build" in s.name]
    assert source.name.startswith("resnet18 body at half width pretrained")
    assert source.stand_in_for == "resnet18, ImageNet weights ResNet18_Weights.IMAGENET1K_V1"
    assert source.items == TINY.max_items and path.name in source.origin
    # for the notice's sentence: no file or enum names
    assert source.kind == "weights"
    assert source.description == (
        "a ResNet-18 at half width that this build pretrained on the MNIST digits 0 to 4"
    )
    assert source.full_description == "a ResNet-18 pretrained on ImageNet's photos"


def test_the_file_is_trained_once_then_reused(data_folder, monkeypatch):
    path = quick_body_file("resnet18", WIDTH)

    def must_not_train(*args):
        raise AssertionError("a body with this key exists: it must be reused")

    monkeypatch.setattr(quick_pretrained, "_train", must_not_train)
    assert quick_body_file("resnet18", WIDTH) == path
    create_cnn("resnet18", 5, verbose=False)


def test_the_key_changes_with_everything_the_weights_depend_on():
    manifest = {"items": 2500}
    key = weights_key("resnet18", WIDTH, TINY, manifest)
    assert key == weights_key("resnet18", WIDTH, TINY, dict(manifest))  # deterministic
    changed = [
        weights_key("resnet34", WIDTH, TINY, manifest),
        weights_key("resnet18", WIDTH, replace(TINY, seed=1), manifest),
        weights_key("resnet18", WIDTH, replace(TINY, epochs=2), manifest),
        weights_key("resnet18", WIDTH, TINY, {"items": 2499}),
        weights_key("resnet18", 1.0, TINY, manifest),
    ]
    assert key not in changed and len(set(changed)) == len(changed)


def test_the_key_changes_with_the_training_code(monkeypatch):
    key = weights_key("resnet18", WIDTH, TINY, {})
    real_getsource = quick_pretrained.inspect.getsource

    def edited(module):
        source = real_getsource(module)
        return source + "\n# edited" if module.__name__ == "course_utils.learner" else source

    monkeypatch.setattr(quick_pretrained.inspect, "getsource", edited)
    assert weights_key("resnet18", WIDTH, TINY, {}) != key


def test_an_interrupted_save_leaves_no_file(data_folder, monkeypatch):
    recipe = replace(TINY, seed=7)  # a key no other test wrote

    def failing_save(state, path):
        with open(path, "wb") as f:
            f.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(quick_pretrained.torch, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        quick_body_file("resnet18", WIDTH, recipe)
    folder = data_folder / "pretrained"
    assert not [p for p in folder.iterdir() if "partial" in p.name or p.stat().st_size == 11]
    key = weights_key("resnet18", WIDTH, recipe, quick_pretrained._source_root()[1])
    # no weights, no summary: only the empty lock file that the trainings queue on
    assert [p.suffix for p in folder.glob(f"*{key[:16]}*")] == [".lock"]


def test_the_source_shares_no_class_and_no_image_with_the_targets(data_folder):
    source_root, _ = quick_pretrained._source_root()
    for name in ("dogscats", "pets"):
        target_root = dataset_path(name)
        for split in ("train", "valid"):
            source_classes = sorted(p.name for p in (source_root / split).iterdir())
            target_classes = sorted(p.name for p in (target_root / split).iterdir())
            assert source_classes == ["0", "1", "2", "3", "4"]
            assert target_classes == ["5", "6", "7", "8", "9"]
    source_rows = {p.stem for p in source_root.rglob("*.png")}
    target_rows = {p.stem for p in dataset_path("dogscats").rglob("*.png")}
    planet_rows = {p.stem for p in dataset_path("planet").rglob("*.png")}
    assert len(source_rows) == len(target_rows) == len(planet_rows) == 2500
    assert not source_rows & target_rows and not source_rows & planet_rows


def test_two_asking_at_once_train_the_body_once(data_folder, monkeypatch):
    recipe = replace(TINY, seed=11)  # a key no other test wrote
    real_train, calls = quick_pretrained._train, []

    def slow_train(*args):
        calls.append(1)
        time.sleep(0.5)  # long enough for the other thread to ask while this one trains
        return real_train(*args)

    monkeypatch.setattr(quick_pretrained, "_train", slow_train)
    with ThreadPoolExecutor(max_workers=2) as pool:
        paths = list(pool.map(lambda _: quick_body_file("resnet18", WIDTH, recipe), range(2)))
    assert paths[0] == paths[1] and paths[0].is_file()
    assert len(calls) == 1  # the second waited for the lock, then found the file


def test_an_altered_body_file_is_not_loaded(data_folder):
    from course_utils.datasets.leftovers import STALE_AFTER_S
    from course_utils.models.pretrained import WeightsFileError

    recipe = replace(TINY, seed=13)  # a key no other test wrote
    folder = data_folder / "pretrained"
    folder.mkdir(parents=True, exist_ok=True)
    killed = folder / ".resnet18-digits04-0123456789abcdef.pt.partial-abcdefgh"
    killed.write_bytes(b"half a file that a killed training left")
    then = time.time() - 2 * STALE_AFTER_S
    os.utime(killed, (then, then))
    path = quick_body_file("resnet18", WIDTH, recipe)
    assert not killed.exists()  # swept when the training started
    summary = path.with_suffix(".json")
    assert len(json.loads(summary.read_text())["sha256"]) == 64
    assert quick_body_file("resnet18", WIDTH, recipe) == path  # intact: reused
    altered = bytearray(path.read_bytes())
    altered[-200] ^= 0xFF
    path.write_bytes(bytes(altered))
    with pytest.raises(WeightsFileError) as info:
        quick_body_file("resnet18", WIDTH, recipe)
    message = str(info.value)
    assert f"quick-profile body {path} does not match the SHA-256 recorded in {summary}" in message
    assert f"rm {path} {summary}" in message
    path.unlink()
    summary.unlink()
    assert quick_body_file("resnet18", WIDTH, recipe) == path  # trained anew
