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
* A source with no published checksum is refused unless the reader opts in
  with ``COURSE_ALLOW_UNVERIFIED=1``; pooch then logs the SHA-256 it saw.
* Everything is cached under :func:`data_dir`: ``$COURSE_DATA_DIR`` if set,
  else ``pooch.os_cache("course_utils")`` (e.g. ``~/.cache/course_utils``).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pooch

__all__ = [
    "ALLOW_UNVERIFIED_ENV_VAR",
    "DATA_DIR_ENV_VAR",
    "InsecureURLError",
    "UnverifiedDownloadError",
    "check_url",
    "data_dir",
    "fetch",
]

DATA_DIR_ENV_VAR = "COURSE_DATA_DIR"
ALLOW_UNVERIFIED_ENV_VAR = "COURSE_ALLOW_UNVERIFIED"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class InsecureURLError(ValueError):
    """A download URL is not HTTPS (and not plain HTTP to this machine's loopback)."""


class UnverifiedDownloadError(RuntimeError):
    """A source has no published checksum and the reader has not opted in."""


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
) -> Path:
    """Download ``url`` into ``folder/fname`` (once), verify it, and return its path.

    ``known_hash`` is pooch's ``"md5:<hex>"`` / ``"sha256:<hex>"``. With
    ``known_hash=None`` the download is refused unless ``COURSE_ALLOW_UNVERIFIED=1``;
    ``unverified_reason`` says in the error why no checksum exists. A file already
    at the final path is re-used when its hash matches (pooch re-downloads it otherwise).
    """
    check_url(url)
    if known_hash is None and not _unverified_allowed():
        why = f" ({unverified_reason})" if unverified_reason else ""
        raise UnverifiedDownloadError(
            f"{url} has no published checksum{why}, so it cannot be verified. "
            f"Set {ALLOW_UNVERIFIED_ENV_VAR}=1 to download it anyway (the SHA-256 that "
            "was received is logged), or place the prepared files yourself under "
            f"${DATA_DIR_ENV_VAR}."
        )
    fname = fname or Path(urlsplit(url).path).name
    path = pooch.retrieve(
        url, known_hash=known_hash, fname=fname, path=Path(folder), progressbar=False
    )
    return Path(path)
