"""Checksummed downloads into one cache folder, with pooch.

The full profile of lessons 1-6 downloads the course's canonical datasets.
Every download goes through :func:`fetch`:

* HTTPS only, on every hop (:mod:`course_utils.datasets.transfer`): each
  redirect's target goes through :func:`check_url` as the first URL did. Plain
  ``http://`` to this machine's loopback address (``127.0.0.1``, ``::1``) is
  accepted only inside :func:`allow_loopback_http`, which the tests open around
  their local server; never by default.
* The file is verified against its published checksum (pooch's ``known_hash``,
  ``"md5:..."`` or ``"sha256:..."``). pooch writes to a temporary file beside
  the target and moves it into place only once the hash matches, so a wrong
  hash or a cut connection leaves nothing at the final path. A connection cut
  mid-way raises :class:`DownloadInterruptedError`, naming the URL.
* fastai publishes, for the archives it hosts, the file size and the MD5 of
  the file's first MiB (its ``checks.txt``), not a hash of the whole file.
  Such a source passes ``head_check=(size, md5_of_first_mib)``: the check runs
  on pooch's temporary file, before anything reaches the final path. It says
  nothing about the bytes after the first MiB, so the whole file's SHA-256 is
  computed on the way, printed and recorded beside the file
  (``<name>.checked.json``), for a maintainer to pin as ``sha256=``; once
  pinned, it is verified over the whole file as well.
* A source with no published checksum is refused unless the reader opts in
  with ``COURSE_ALLOW_UNVERIFIED=1``; pooch then logs the SHA-256 it saw.
* Everything is cached under :func:`data_dir`: ``$COURSE_DATA_DIR`` if set,
  else ``pooch.os_cache("course_utils")`` (e.g. ``~/.cache/course_utils``).
  Temporary files that a killed run left there are swept on the next one
  (:mod:`course_utils.datasets.leftovers`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from course_utils.datasets.leftovers import sweep_leftovers
from course_utils.datasets.transfer import (
    LOOPBACK_HOSTS,
    DownloadInterruptedError,
    InsecureURLError,
    allow_loopback_http,
    check_url,
    open_checked,
    stream_to_file,
)

with warnings.catch_warnings():
    # pooch imports tqdm.auto where tqdm is installed (spaCy brings it), and in a Jupyter
    # kernel without ipywidgets tqdm warns that it cannot draw its widget, on every page that
    # loads data. The book's downloads show no progress bar, so the warning says nothing.
    warnings.filterwarnings("ignore", message="IProgress not found")
    import pooch

__all__ = [
    "ALLOW_UNVERIFIED_ENV_VAR",
    "DATA_DIR_ENV_VAR",
    "DownloadInterruptedError",
    "HeadCheck",
    "HeadCheckError",
    "InsecureURLError",
    "LOOPBACK_HOSTS",
    "UnverifiedDownloadError",
    "allow_loopback_http",
    "cached_sha256",
    "check_url",
    "data_dir",
    "discard_download",
    "fetch",
    "file_sha256",
    "recorded_check",
    "stream_to_file",
]

DATA_DIR_ENV_VAR = "COURSE_DATA_DIR"
ALLOW_UNVERIFIED_ENV_VAR = "COURSE_ALLOW_UNVERIFIED"
HEAD_BYTES = 2**20  # fastai's checks.txt hashes the first MiB of each archive
CHUNK = 2**20  # read and hashed at a time
RECORD_SUFFIX = ".checked.json"  # beside a head-checked download: its whole-file SHA-256


class UnverifiedDownloadError(RuntimeError):
    """A source has no published checksum and the reader has not opted in."""


class HeadCheckError(ValueError):
    """A download's size or the MD5 of its first MiB is not the published one."""


@dataclass(frozen=True)
class HeadCheck:
    """fastai's published check of an archive: its size in bytes and the MD5 of its first MiB."""

    size: int
    md5_first_mib: str

    # what the check covers, in the words the registry and the provenance use
    covers = (
        "its size and the MD5 of its first MiB only (fastai's published check); "
        "the rest of the file is not checked against a published value"
    )

    def verify(self, path: str | Path, url: str) -> None:
        """Raise :class:`HeadCheckError` unless the file at ``path`` passes the check."""
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = hashlib.md5(f.read(HEAD_BYTES), usedforsecurity=False).hexdigest()
        if (size, head) != (self.size, self.md5_first_mib):
            raise HeadCheckError(
                f"{url}: expected {self.size:,} bytes whose first MiB has MD5 "
                f"{self.md5_first_mib}, received {size:,} bytes with MD5 {head}; nothing was kept"
            )


def data_dir() -> Path:
    """The cache folder for datasets: ``$COURSE_DATA_DIR``, else pooch's OS cache."""
    configured = os.environ.get(DATA_DIR_ENV_VAR, "").strip()
    if not configured:
        return Path(pooch.os_cache("course_utils"))
    path = Path(configured).expanduser()
    # the folder is made when first written; what must not be is a file on its way
    for existing in (path, *path.parents):
        if os.path.lexists(existing):
            if not existing.is_dir():
                raise NotADirectoryError(
                    f"${DATA_DIR_ENV_VAR} is {configured!r}, but {existing} is a file, not a "
                    f"folder: point {DATA_DIR_ENV_VAR} at a folder (it is created if missing), "
                    f"or unset it to use {pooch.os_cache('course_utils')}"
                )
            break
    return path


class _CheckedDownloader:
    """pooch's downloader: :func:`stream_to_file`, then the head check (if any) on pooch's
    temporary file. pooch deletes that file when a downloader raises, so nothing is left."""

    def __init__(self, check: HeadCheck | None):
        self.check, self.sha256 = check, None

    def __call__(self, url: str, output_file, pooch_instance, check_only: bool = False):
        if check_only:  # pooch's "is it there?": the same hops, no body read
            with contextlib.closing(open_checked(url)):
                return True
        _, self.sha256 = stream_to_file(url, output_file)
        if self.check is not None:
            self.check.verify(output_file, url)


# --- the whole-file SHA-256 of a head-checked download ----------------------------------------


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of the file at ``path`` (hex), read a MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


_hashed: dict[Path, tuple[int, int, str]] = {}  # path -> (size, mtime_ns, SHA-256) seen


def cached_sha256(path: str | Path) -> str:
    """:func:`file_sha256`, computed once per process for as long as the file keeps its size
    and modification time: a cache checked before each use costs one read per session."""
    path = Path(path).resolve()
    info = path.stat()
    seen = _hashed.get(path)
    if seen is not None and seen[:2] == (info.st_size, info.st_mtime_ns):
        return seen[2]
    digest = file_sha256(path)
    _hashed[path] = (info.st_size, info.st_mtime_ns, digest)
    return digest


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + RECORD_SUFFIX)


def recorded_check(path: str | Path) -> dict | None:
    """What was recorded beside a head-checked download at ``path`` (its URL, size, whole-file
    SHA-256 and what the check covered), or ``None``."""
    record = _record_path(Path(path))
    return json.loads(record.read_text()) if record.is_file() else None


def discard_download(path: str | Path) -> None:
    """Delete a cached download and what was recorded beside it (nothing if absent)."""
    Path(path).unlink(missing_ok=True)
    _record_path(Path(path)).unlink(missing_ok=True)


def _recheck_cached(path: Path, check: HeadCheck, url: str) -> None:
    """A head-checked file already in the cache is checked again (the head check, and the
    SHA-256 recorded when it was downloaded); one that fails is deleted, to be downloaded anew."""
    if not path.is_file():
        return
    record = recorded_check(path)
    try:
        check.verify(path, url)
        if record is not None and file_sha256(path) != record.get("sha256"):
            raise HeadCheckError(f"its SHA-256 is not the one recorded in {_record_path(path)}")
    except HeadCheckError as error:
        discard_download(path)
        print(f"the cached {path} failed its check ({error}): deleted it, downloading it again")


def _record_sha256(path: Path, url: str, check: HeadCheck, sha256: str | None) -> None:
    """Write ``<name>.checked.json`` beside a head-checked download and say what it holds."""
    if sha256 is None and recorded_check(path) is not None:
        return  # the cached file, rechecked against its record
    sha256 = sha256 or file_sha256(path)
    record = {
        "url": url,
        "size": path.stat().st_size,
        "sha256": sha256,
        "checked": check.covers,
        "sha256_from": "computed by course_utils over the whole file as downloaded from the url, "
        "after it passed the check",
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _record_path(path).write_text(json.dumps(record, indent=1) + "\n")
    print(
        f"{path.name}: checked against {check.covers}. Its whole-file SHA-256 is {sha256} "
        f"(recorded in {_record_path(path)}); once confirmed from a trusted download, pin it "
        "as sha256= on the registry entry."
    )


def _unverified_allowed() -> bool:
    return os.environ.get(ALLOW_UNVERIFIED_ENV_VAR, "").strip().lower() in {"1", "true", "yes"}


def fetch(
    url: str,
    known_hash: str | None,
    folder: str | Path,
    fname: str | None = None,
    unverified_reason: str | None = None,
    head_check: HeadCheck | None = None,
    sha256: str | None = None,
) -> Path:
    """Download ``url`` into ``folder/fname`` (once), verify it, and return its path.

    ``known_hash`` is pooch's ``"md5:<hex>"`` / ``"sha256:<hex>"``; ``head_check``
    instead verifies a source that only has fastai's published check (see
    :class:`HeadCheck`), and ``sha256`` (hex), when pinned, adds the whole file's
    hash to it. With none of them, the download is refused unless
    ``COURSE_ALLOW_UNVERIFIED=1``; ``unverified_reason`` says in the error why no
    checksum exists. A file already at the final path is re-used when it passes
    its check again (it is downloaded anew otherwise); files are only ever put
    there verified.
    """
    check_url(url)
    if known_hash is not None and (head_check is not None or sha256 is not None):
        raise ValueError(f"{url}: give known_hash, or head_check and/or sha256, not both")
    if known_hash is None and head_check is None and sha256 is None and not _unverified_allowed():
        why = f" ({unverified_reason})" if unverified_reason else ""
        raise UnverifiedDownloadError(
            f"{url} has no published checksum{why}, so it cannot be verified. "
            f"Set {ALLOW_UNVERIFIED_ENV_VAR}=1 to download it anyway (the SHA-256 that "
            "was received is logged), or place the prepared files yourself under "
            f"${DATA_DIR_ENV_VAR}."
        )
    folder = Path(folder)
    fname = fname or Path(urlsplit(url).path).name
    sweep_leftovers(folder)  # pooch's temporary files of a killed download
    unpinned = head_check is not None and sha256 is None
    if unpinned:
        _recheck_cached(folder / fname, head_check, url)
    downloader = _CheckedDownloader(head_check)
    path = pooch.retrieve(
        url,
        known_hash=f"sha256:{sha256}" if sha256 is not None else known_hash,
        fname=fname,
        path=folder,
        progressbar=False,
        downloader=downloader,
    )
    if unpinned:
        _record_sha256(Path(path), url, head_check, downloader.sha256)
    return Path(path)
