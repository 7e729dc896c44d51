"""Checksummed downloads into one cache folder, with pooch.

The full profile of lessons 1-6 downloads the course's canonical datasets.
Every download goes through :func:`fetch`:

* HTTPS only. ``http://`` is refused with a clear error, except to the loopback
  host (``127.0.0.1``, ``localhost``, ``::1``), which nothing outside this
  machine can intercept; the tests serve their archives from there.
* The file is verified against its published checksum (pooch's ``known_hash``,
  ``"md5:..."`` or ``"sha256:..."``). pooch writes to a temporary file beside
  the target and moves it into place only once the hash matches, so a wrong
  hash or a cut connection leaves nothing at the final path.
* fastai publishes, for the archives it hosts, the file size and the MD5 of
  the file's first MiB (its ``checks.txt``), not a hash of the whole file.
  Such a source passes ``head_check=(size, md5_of_first_mib)``: the check runs
  on pooch's temporary file, before anything reaches the final path.
* A source with no published checksum is refused unless the reader opts in
  with ``COURSE_ALLOW_UNVERIFIED=1``; pooch then logs the SHA-256 it saw.
* Everything is cached under :func:`data_dir`: ``$COURSE_DATA_DIR`` if set,
  else ``pooch.os_cache("course_utils")`` (e.g. ``~/.cache/course_utils``).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

with warnings.catch_warnings():
    # pooch imports tqdm.auto where tqdm is installed (spaCy brings it), and in a Jupyter
    # kernel without ipywidgets tqdm warns that it cannot draw its widget, on every page that
    # loads data. The book's downloads show no progress bar, so the warning says nothing.
    warnings.filterwarnings("ignore", message="IProgress not found")
    import pooch

__all__ = [
    "ALLOW_UNVERIFIED_ENV_VAR",
    "DATA_DIR_ENV_VAR",
    "HeadCheck",
    "HeadCheckError",
    "InsecureURLError",
    "UnverifiedDownloadError",
    "check_url",
    "data_dir",
    "fetch",
]

DATA_DIR_ENV_VAR = "COURSE_DATA_DIR"
ALLOW_UNVERIFIED_ENV_VAR = "COURSE_ALLOW_UNVERIFIED"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
HEAD_BYTES = 2**20  # fastai's checks.txt hashes the first MiB of each archive


class InsecureURLError(ValueError):
    """A download URL is not HTTPS (and not plain HTTP to this machine's loopback)."""


class UnverifiedDownloadError(RuntimeError):
    """A source has no published checksum and the reader has not opted in."""


class HeadCheckError(ValueError):
    """A download's size or the MD5 of its first MiB is not the published one."""


@dataclass(frozen=True)
class HeadCheck:
    """fastai's published check of an archive: its size in bytes and the MD5 of its first MiB."""

    size: int
    md5_first_mib: str

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


class _HeadCheckingDownloader:
    """pooch's HTTP downloader, then :meth:`HeadCheck.verify` on the temporary file.

    pooch deletes its temporary file when a downloader raises, so a failed
    check leaves nothing behind.
    """

    def __init__(self, check: HeadCheck):
        self.check, self.http = check, pooch.HTTPDownloader(progressbar=False)

    def __call__(self, url: str, output_file, pooch_instance, check_only: bool = False):
        result = self.http(url, output_file, pooch_instance, check_only=check_only)
        if not check_only:
            self.check.verify(output_file, url)
        return result


def data_dir() -> Path:
    """The cache folder for datasets: ``$COURSE_DATA_DIR``, else pooch's OS cache."""
    configured = os.environ.get(DATA_DIR_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(pooch.os_cache("course_utils"))


def check_url(url: str) -> None:
    """Raise :class:`InsecureURLError` unless ``url`` is HTTPS or HTTP to the loopback host."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return  # tests only: traffic that never leaves this machine
    raise InsecureURLError(
        f"refusing to download {url!r}: expected an https:// URL "
        f"(plain http:// is allowed only to {', '.join(sorted(LOOPBACK_HOSTS))})"
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
) -> Path:
    """Download ``url`` into ``folder/fname`` (once), verify it, and return its path.

    ``known_hash`` is pooch's ``"md5:<hex>"`` / ``"sha256:<hex>"``; ``head_check``
    instead verifies a source that only has fastai's published check (see
    :class:`HeadCheck`). With neither, the download is refused unless
    ``COURSE_ALLOW_UNVERIFIED=1``; ``unverified_reason`` says in the error why no
    checksum exists. A file already at the final path is re-used when its hash
    matches (pooch re-downloads it otherwise); files are only ever put there verified.
    """
    check_url(url)
    if known_hash is not None and head_check is not None:
        raise ValueError(f"{url}: give known_hash or head_check, not both")
    if known_hash is None and head_check is None and not _unverified_allowed():
        why = f" ({unverified_reason})" if unverified_reason else ""
        raise UnverifiedDownloadError(
            f"{url} has no published checksum{why}, so it cannot be verified. "
            f"Set {ALLOW_UNVERIFIED_ENV_VAR}=1 to download it anyway (the SHA-256 that "
            "was received is logged), or place the prepared files yourself under "
            f"${DATA_DIR_ENV_VAR}."
        )
    fname = fname or Path(urlsplit(url).path).name
    downloader = _HeadCheckingDownloader(head_check) if head_check else None
    path = pooch.retrieve(
        url,
        known_hash=known_hash,
        fname=fname,
        path=Path(folder),
        progressbar=False,
        downloader=downloader,
    )
    return Path(path)
