"""Shared fixtures: the built site, the browser, a private torch cache. What the tests import
by name (the repository root, the small problems, the fixture books) is in helpers.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import REPO

# One intra-op thread for torch, set before anything imports it (OMP_NUM_THREADS is read once,
# at import). The tests' tensors are small enough to gain nothing from more, and on a busy
# machine (two cores, and another process on them) torch's threads spin-wait for each other:
# a Learner test that takes 0.3 s alone takes 8 s. An OMP_NUM_THREADS of your own wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")

SITE = Path(os.environ.get("COURSE_SITE_DIR", REPO / "_build" / "html"))


def browser_required() -> bool:
    """In CI the browser tests must run; a missing Chromium is a failure, not a skip."""
    return bool(os.environ.get("COURSE_REQUIRE_BROWSER") or os.environ.get("CI"))


@pytest.fixture(scope="session")
def site() -> Path:
    """The built book (``make book``); the site tests need it."""
    if not (SITE / "index.html").is_file():
        message = f"no built site at {SITE}: run `make book` first (make test does)"
        if browser_required():
            pytest.fail(message)
        pytest.skip(message)
    return SITE


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if browser_required():
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """A private torch cache (its checkpoints folder) and a clean provenance record."""
    from course_utils.provenance import _sources

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    saved = dict(_sources)
    _sources.clear()
    yield tmp_path / "torch" / "hub" / "checkpoints"
    _sources.clear()
    _sources.update(saved)
