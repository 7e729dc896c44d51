"""Fetching bytes over HTTPS, with every redirect checked and a cut connection named.

:func:`course_utils.datasets.download.fetch` (the datasets) and
:func:`course_utils.models.pretrained.download_weights` (the weights) both download
through :func:`stream_to_file`. Redirects are not left to the HTTP client: they are
followed here, one at a time, and each new address goes through :func:`check_url`
as the first one did, so a ``30x`` to ``http://`` is refused like the same URL
given directly. Plain ``http://`` to this machine's loopback address
(``127.0.0.1``, ``::1``) is accepted only inside :func:`allow_loopback_http`,
which the tests open around their local server; never by default. A connection
that fails, or ends before the ``Content-Length`` it announced, raises
:class:`DownloadInterruptedError` naming the URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

__all__ = [
    "LOOPBACK_HOSTS",
    "DownloadInterruptedError",
    "InsecureURLError",
    "allow_loopback_http",
    "check_url",
    "open_checked",
    "stream_to_file",
]

# addresses, not names: "localhost" is whatever the hosts file or the resolver says it is
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})
MAX_REDIRECTS = 10
TIMEOUT_S = 30  # seconds to connect, and at most between two reads
CHUNK = 2**16  # read and hashed at a time; small enough that a cut is counted near the byte


class InsecureURLError(ValueError):
    """A download URL (or a redirect's target) is not HTTPS."""


class DownloadInterruptedError(ConnectionError):
    """The connection failed or was cut before the whole file arrived; nothing was kept."""


# --- where downloads may come from --------------------------------------------------------

_loopback_lock = threading.Lock()
_loopback_blocks = 0  # how many allow_loopback_http() blocks are open


@contextlib.contextmanager
def allow_loopback_http() -> Iterator[None]:
    """Inside this block :func:`check_url` also accepts plain ``http://`` to 127.0.0.1 or ::1,
    traffic that never leaves this machine: for tests that serve files from a local server."""
    global _loopback_blocks
    with _loopback_lock:
        _loopback_blocks += 1
    try:
        yield
    finally:
        with _loopback_lock:
            _loopback_blocks -= 1


def check_url(url: str) -> None:
    """Raise :class:`InsecureURLError` unless ``url`` is HTTPS (or, inside
    :func:`allow_loopback_http`, plain HTTP to the loopback address)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and _loopback_blocks > 0:
        return
    raise InsecureURLError(f"refusing to download {url!r}: expected an https:// URL")


# --- streaming, with every redirect checked -------------------------------------------------


def open_checked(url: str):
    """A streaming GET of ``url``, following at most :data:`MAX_REDIRECTS` redirects by hand so
    that each target is checked with :func:`check_url` before it is requested."""
    import requests

    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = requests.get(
                current,
                stream=True,
                allow_redirects=False,
                timeout=TIMEOUT_S,
                headers={"Accept-Encoding": "identity"},  # the bytes as published, countable
            )
        except requests.exceptions.RequestException as error:
            raise DownloadInterruptedError(
                f"could not download {current}: {error}. Nothing was kept; check the "
                "connection and run again to retry."
            ) from error
        if not response.is_redirect:
            response.raise_for_status()  # 404 and the like, as requests words them
            return response
        target = urljoin(current, response.headers["location"])
        response.close()
        try:
            check_url(target)
        except InsecureURLError:
            raise InsecureURLError(
                f"refusing to follow the redirect from {current} to {target!r}: every hop of "
                f"a download must be https:// (it started at {url})"
            ) from None
        current = target
    raise DownloadInterruptedError(f"{url}: more than {MAX_REDIRECTS} redirects; nothing was kept")


def stream_to_file(url: str, path: str | Path) -> tuple[int, str]:
    """Download ``url`` (every hop checked) into the file ``path``; return its size and SHA-256.

    A connection that fails or ends before the announced ``Content-Length`` raises
    :class:`DownloadInterruptedError` naming the URL; the caller deletes ``path``.
    """
    import requests
    import urllib3

    digest, received, expected = hashlib.sha256(), 0, None
    with contextlib.closing(open_checked(url)) as response, open(path, "wb") as out:
        if response.headers.get("Content-Length", "").isdigit():
            expected = int(response.headers["Content-Length"])
        try:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
        except (
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
        ) as error:
            cause = f"{type(error).__name__}: {error}"
        else:
            cause = None if expected in (None, received) else "the connection closed early"
    if cause is not None:
        of = f" of {expected:,}" if expected is not None else ""
        raise DownloadInterruptedError(
            f"the download of {url} was cut off after {received:,}{of} bytes ({cause}). "
            "Nothing was kept; run again to retry."
        )
    return received, digest.hexdigest()
