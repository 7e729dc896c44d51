"""Checksummed downloads from a loopback server, and archive extraction that refuses escapes."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pooch
import pytest

from course_utils.datasets import download
from course_utils.datasets.archives import UnsafeArchiveError, is_archive, safe_extract
from course_utils.datasets.download import (
    DownloadInterruptedError,
    InsecureURLError,
    UnverifiedDownloadError,
    allow_loopback_http,
    check_url,
    data_dir,
    fetch,
)


class LoopbackServer:
    """Serves ``files`` (path -> bytes) on 127.0.0.1; paths in ``truncated`` announce their full
    Content-Length, send only the first half, then close the connection; paths in ``redirects``
    answer 302 to the URL given. While it runs, downloads accept plain http:// to 127.0.0.1
    (``allow_loopback_http``), as they never do by default."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.truncated: set[str] = set()
        self.redirects: dict[str, str] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the name http.server calls)
                server.requests.append(self.path)
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.truncated:
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                else:
                    self.wfile.write(body)

            def log_message(self, format, *args):  # keep the test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.loopback = contextlib.ExitStack()
        self.loopback.enter_context(allow_loopback_http())

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def add(self, path: str, body: bytes) -> str:
        self.files[path] = body
        return self.url(path)

    def close(self):
        self.loopback.close()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server():
    s = LoopbackServer()
    yield s
    s.close()


def md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


def make_tar(members: dict[str, bytes], mode: str = "w:gz", links: dict[str, str] | None = None):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


def make_zip(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777) << 16  # S_IFLNK | rwx
            zf.writestr(info, target)
    return buffer.getvalue()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- downloads ---------------------------------------------------------------------------


def test_good_archive_is_downloaded_verified_and_extracted(server, tmp_path):
    archive = make_tar({"pack/a.txt": b"alpha", "pack/sub/b.txt": b"beta"})
    url = server.add("/pack.tar.gz", archive)
    path = fetch(url, md5(archive), tmp_path / "dl")
    assert path == tmp_path / "dl" / "pack.tar.gz" and path.read_bytes() == archive
    root = safe_extract(path, tmp_path / "out")
    assert (root / "pack" / "a.txt").read_bytes() == b"alpha"
    assert (root / "pack" / "sub" / "b.txt").read_bytes() == b"beta"
    assert leftovers(tmp_path) == ["dl", "out"]  # no temporary folder left beside them
    # a second fetch re-uses the verified file: no new request
    fetch(url, md5(archive), tmp_path / "dl")
    assert server.requests == ["/pack.tar.gz"]


def test_sha256_hashes_are_accepted(server, tmp_path):
    data = b"some bytes"
    url = server.add("/f.bin", data)
    path = fetch(url, "sha256:" + hashlib.sha256(data).hexdigest(), tmp_path)
    assert path.read_bytes() == data


def test_wrong_hash_raises_and_leaves_nothing(server, tmp_path):
    url = server.add("/pack.tar.gz", make_tar({"a.txt": b"alpha"}))
    with pytest.raises(ValueError, match="(?i)hash"):
        fetch(url, md5(b"something else"), tmp_path / "dl")
    assert leftovers(tmp_path / "dl") == []  # neither the final file nor pooch's temporary one


def test_truncated_download_raises_and_leaves_nothing(server, tmp_path):
    body = os.urandom(200_000)
    url = server.add("/cut.bin", body)
    server.truncated.add("/cut.bin")
    # the cut itself is reported (not a later hash mismatch), naming the URL and the fix
    with pytest.raises(DownloadInterruptedError) as info:
        fetch(url, md5(body), tmp_path / "dl")
    message = str(info.value)
    assert url in message and re.search(r"cut off after [\d,]+ of 200,000 bytes", message)
    assert "run again to retry" in message and "Nothing was kept" in message
    assert leftovers(tmp_path / "dl") == []


def test_missing_file_on_server_raises(server, tmp_path):
    with pytest.raises(Exception, match="404"):
        fetch(server.url("/nothing.zip"), md5(b""), tmp_path)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/data.zip",
        "http://10.0.0.1/data.zip",
        "ftp://example.com/data.zip",
        "file:///etc/passwd",
        "https:///no-host",
        "example.com/data.zip",
    ],
)
def test_insecure_urls_are_refused_before_any_download(url, tmp_path):
    with pytest.raises(InsecureURLError, match="https://"):
        fetch(url, md5(b""), tmp_path)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/a.zip", "http://[::1]/a"])
def test_loopback_http_is_allowed_only_when_asked_for(url):
    check_url("https://example.com/a.zip")
    with pytest.raises(InsecureURLError, match="https://"):
        check_url(url)  # never by default
    with allow_loopback_http():
        check_url(url)
        with pytest.raises(InsecureURLError):
            check_url("http://localhost/a")  # a name, which the resolver may send anywhere
    with pytest.raises(InsecureURLError):
        check_url(url)  # the block is closed again


def test_unverified_source_needs_an_explicit_opt_in(server, tmp_path, monkeypatch):
    url = server.add("/text.txt", b"hello")
    monkeypatch.delenv(download.ALLOW_UNVERIFIED_ENV_VAR, raising=False)
    with pytest.raises(UnverifiedDownloadError, match="COURSE_ALLOW_UNVERIFIED=1") as info:
        fetch(url, None, tmp_path, unverified_reason="nobody publishes one")
    assert "nobody publishes one" in str(info.value)
    assert server.requests == [] and leftovers(tmp_path) == []
    monkeypatch.setenv(download.ALLOW_UNVERIFIED_ENV_VAR, "1")
    assert fetch(url, None, tmp_path, "renamed.txt").read_bytes() == b"hello"
    assert leftovers(tmp_path) == ["renamed.txt"]


def test_cache_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "mine"))
    assert data_dir() == tmp_path / "mine"
    monkeypatch.setenv("COURSE_DATA_DIR", "  ")
    assert data_dir() == Path(pooch.os_cache("course_utils"))
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert data_dir() == Path(pooch.os_cache("course_utils"))


# --- extraction --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix,mode", [(".tar", "w"), (".tgz", "w:gz"), (".tar.gz", "w:gz")])
def test_tar_flavours_extract(tmp_path, suffix, mode):
    archive = tmp_path / f"a{suffix}"
    archive.write_bytes(make_tar({"d/f.txt": b"data", "top.txt": b"t"}, mode=mode))
    root = safe_extract(archive, tmp_path / "out")
    assert (root / "d" / "f.txt").read_bytes() == b"data" and (root / "top.txt").exists()


def test_zip_extracts(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(make_zip({"d/f.txt": b"data", "top.txt": b"t"}))
    root = safe_extract(archive, tmp_path / "out")
    assert (root / "d" / "f.txt").read_bytes() == b"data" and (root / "top.txt").exists()


UNSAFE = [
    ("evil.tar.gz", lambda: make_tar({"ok.txt": b"1", "../escape.txt": b"x"}), "../escape.txt"),
    ("evil.tar", lambda: make_tar({"/abs/path.txt": b"x"}, mode="w"), "/abs/path.txt"),
    ("evil.tgz", lambda: make_tar({"ok.txt": b"1"}, links={"link": "../../outside"}), "link"),
    ("evil.tgz", lambda: make_tar({}, links={"abslink": "/etc/passwd"}), "abslink"),
    # a link that stays inside the folder is refused too: only files and folders come out
    ("evil.tgz", lambda: make_tar({"d/f.txt": b"1"}, links={"d/ln": "f.txt"}), "d/ln"),
    ("evil.zip", lambda: make_zip({"ok.txt": b"1", "../escape.txt": b"x"}), "../escape.txt"),
    ("evil.zip", lambda: make_zip({"a/../../escape.txt": b"x"}), "a/../../escape.txt"),
    ("evil.zip", lambda: make_zip({"/abs.txt": b"x"}), "/abs.txt"),
    ("evil.zip", lambda: make_zip({"C:/win.txt": b"x"}), "C:/win.txt"),
    ("evil.zip", lambda: make_zip({}, symlinks={"link": "../../outside"}), "link"),
]


@pytest.mark.parametrize("name,make,member", UNSAFE)
def test_escaping_members_are_refused_and_nothing_is_left(tmp_path, name, make, member):
    work = tmp_path / "work"
    work.mkdir()
    archive = tmp_path / name
    archive.write_bytes(make())
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, work / "out")
    assert repr(member) in str(info.value) and name in str(info.value)
    assert leftovers(work) == []  # no final folder and no temporary one
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "outside").exists()


def test_interrupted_extraction_leaves_no_half_folder(tmp_path, monkeypatch):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(make_tar({"f.txt": b"data"}))

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tarfile.TarFile, "extract", interrupted)
    (tmp_path / "work").mkdir()
    with pytest.raises(KeyboardInterrupt):
        safe_extract(archive, tmp_path / "work" / "out")
    assert leftovers(tmp_path / "work") == []


def test_extraction_input_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.zip"):
        safe_extract(tmp_path / "missing.zip", tmp_path / "out")
    (tmp_path / "data.rar").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"data\.rar.*\.zip, \.tar, \.tar\.gz, \.tgz"):
        safe_extract(tmp_path / "data.rar", tmp_path / "out")
    (tmp_path / "a.zip").write_bytes(make_zip({"f": b"1"}))
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        safe_extract(tmp_path / "a.zip", tmp_path / "out")
    assert is_archive("X.TGZ") and not is_archive("x.txt")


def test_no_test_touches_the_real_cache(monkeypatch):
    # the helpers above write only under tmp_path; a guard that data_dir is configurable
    monkeypatch.setenv("COURSE_DATA_DIR", os.fspath(Path("relative/dir")))
    assert data_dir() == Path("relative/dir")


def test_known_hash_and_head_check_are_alternatives(server, tmp_path):
    url = server.add("/a.tgz", b"abc")
    check = download.HeadCheck(3, hashlib.md5(b"abc").hexdigest())
    with pytest.raises(ValueError, match="give known_hash, or head_check and/or sha256, not both"):
        fetch(url, md5(b"abc"), tmp_path, head_check=check)
    assert fetch(url, None, tmp_path, head_check=check).read_bytes() == b"abc"
    assert server.requests == ["/a.tgz"]
