"""A local mirror of the canonical downloads: the full profile's data path, rehearsed offline.

With ``COURSE_DATA_MIRROR=http://127.0.0.1:PORT`` set, every full-profile download of the
registry goes to the mirror instead of the internet: ``https://<host>/<path>`` is fetched
from ``http://127.0.0.1:PORT/<host>/<path>``, through the same :func:`~course_utils.datasets.
download.fetch`, the same temporary file and verification, the same extraction with its
limits and the same ``prepare``. One thing differs, and the mirror supplies it: the
checksum. The mirror's ``manifest.json`` names, for each canonical URL it holds, the SHA-256
of its file (a miniature, :mod:`course_utils.datasets.miniatures`), and that is what the
download is verified against, over the whole file.

Safety rails, each an error that says what to do:

- the mirror must be plain ``http`` on this machine's loopback address (``127.0.0.1`` or
  ``::1``) with no path: a mirror is a rehearsal tool, never a way to point the real
  downloads at another host;
- a URL the manifest does not list is refused, naming it (nothing falls through to the
  internet);
- rehearsal data lives under ``<data dir>/rehearsal/``, never where the real full data is
  cached, so a miniature can never be mistaken for the canonical dataset; and the pages'
  provenance calls it a rehearsal miniature.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from course_utils.datasets.transfer import LOOPBACK_HOSTS, allow_loopback_http, open_checked

__all__ = [
    "MANIFEST",
    "MIRROR_ENV_VAR",
    "MirrorError",
    "MirroredFile",
    "mirror_origin",
    "mirror_path",
    "mirrored",
]

MIRROR_ENV_VAR = "COURSE_DATA_MIRROR"
MANIFEST = "manifest.json"  # at the mirror's root: {"files": {canonical URL: {path, sha256}}}


class MirrorError(RuntimeError):
    """The mirror is not a loopback address, or does not hold a file it was asked for."""


@dataclass(frozen=True)
class MirroredFile:
    """Where a canonical URL's miniature is, and the SHA-256 it must have."""

    url: str  # http://127.0.0.1:PORT/<host>/<path>
    known_hash: str  # "sha256:<hex>", pooch's form


def mirror_origin() -> str | None:
    """``$COURSE_DATA_MIRROR`` checked (``http://127.0.0.1:PORT``), or None when unset."""
    value = os.environ.get(MIRROR_ENV_VAR, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if (
        parts.scheme != "http"
        or parts.hostname not in LOOPBACK_HOSTS
        or parts.path not in ("", "/")
        or parts.query
        or parts.username
    ):
        raise MirrorError(
            f"${MIRROR_ENV_VAR} is {value!r}; a data mirror must be http://127.0.0.1:PORT (or "
            f"http://[::1]:PORT), on this machine, with no path. Unset it for the real downloads."
        )
    return value.rstrip("/")


def mirror_path(url: str) -> str:
    """Where a canonical URL's file sits in a mirror: ``<host>/<path>``."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.query:
        raise MirrorError(f"{url}: only plain https URLs of the registry are mirrored")
    return f"{parts.hostname}{parts.path}"


@cache
def _manifest(origin: str) -> dict[str, dict]:
    with allow_loopback_http(), open_checked(f"{origin}/{MANIFEST}") as response:
        manifest = json.loads(response.content.decode("utf-8"))
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise MirrorError(f"{origin}/{MANIFEST} has no 'files' table")
    return files


def mirrored(url: str) -> MirroredFile | None:
    """The mirror's copy of ``url`` and its SHA-256, or None when no mirror is set."""
    origin = mirror_origin()
    if origin is None:
        return None
    entry = _manifest(origin).get(url)
    if entry is None:
        raise MirrorError(
            f"the data mirror {origin} does not hold {url} (its {MANIFEST} does not list it); "
            "rebuild the mirror: python -m course_utils.datasets.miniatures build <folder>"
        )
    if entry.get("path") != mirror_path(url):
        raise MirrorError(f"{origin}/{MANIFEST}: {url} should be at {mirror_path(url)}")
    return MirroredFile(f"{origin}/{entry['path']}", f"sha256:{entry['sha256']}")
