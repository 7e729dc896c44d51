"""Crafted inputs against the downloads, the archives and the weights caches: each is refused
(or handled) with a message that names the file and the fix, and leaves nothing behind.

Archives are built here, files are served from a loopback server (test_download.py's), and the
data folder is a temporary one: nothing leaves this machine or touches a real cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import shutil
import socket
import stat
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from test_download import LoopbackServer, leftovers, make_tar, make_zip, md5

from course_utils import provenance
from course_utils.datasets import archives, download, registry
from course_utils.datasets.archives import (
    CorruptArchiveError,
    ExtractionLimitError,
    UnsafeArchiveError,
    declared_size,
    safe_extract,
)
from course_utils.datasets.download import (
    DownloadInterruptedError,
    HeadCheck,
    HeadCheckError,
    InsecureURLError,
    cached_sha256,
    data_dir,
    fetch,
    recorded_check,
)
from course_utils.datasets.leftovers import STALE_AFTER_S, is_leftover, sweep_leftovers
from course_utils.datasets.quick import build_once
from course_utils.datasets.registry import REGISTRY, RemoteFile, dataset_path, register

MIB = 2**20


@pytest.fixture
def server():
    s = LoopbackServer()
    yield s
    s.close()


@pytest.fixture
def data(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COURSE_ALLOW_UNVERIFIED", raising=False)
    monkeypatch.setattr(provenance, "_sources", {})
    return tmp_path / "data"


@pytest.fixture
def throwaway(monkeypatch):
    """Register entries in a copy of the registry, gone after the test."""
    monkeypatch.setattr(registry, "REGISTRY", dict(REGISTRY))
    return lambda entry: register(entry).name


def extract_refused(tmp_path: Path, name: str, body: bytes, error=UnsafeArchiveError, **kw):
    """Write ``body`` as ``tmp_path/name``, extract it into ``tmp_path/work/out`` expecting
    ``error``; check that nothing was left in ``work``; return the message."""
    archive = tmp_path / name
    archive.write_bytes(body)
    (tmp_path / "work").mkdir()
    with pytest.raises(error) as info:
        safe_extract(archive, tmp_path / "work" / "out", **kw)
    assert leftovers(tmp_path / "work") == []  # no final folder and no .partial- one
    return str(info.value)


# --- 1. only regular files and folders come out of an archive --------------------------------


def symlink_chain_tar(target: str) -> bytes:
    """The 2025 tarfile escape: symlinks through 247-character folder names, whose resolved
    path outgrows PATH_MAX, so that filter="data" (before 3.10.18, 3.11.13, 3.12.11, 3.13.4)
    cannot resolve the last link and lets ``escape/flag`` be written at ``target``."""
    comp, steps, path = "d" * 247, "abcdefghijklmnop", ""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add(name: str, kind: bytes, linkname: str = "", data: bytes = b"") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, linkname, len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)

        for step in steps:
            add(os.path.join(path, comp), tarfile.DIRTYPE)
            add(os.path.join(path, step), tarfile.SYMTYPE, comp)
            path = os.path.join(path, comp)
        long_link = os.path.join("/".join(steps), "l" * 254)
        add(long_link, tarfile.SYMTYPE, "../" * len(steps))
        add("escape", tarfile.SYMTYPE, f"{long_link}/{target}")
        add("escape/flag", tarfile.REGTYPE, data=b"written outside")
    return buffer.getvalue()


def test_a_symlink_chain_longer_than_path_max_is_refused(tmp_path):
    (tmp_path / "outside").mkdir()
    message = extract_refused(tmp_path, "chain.tar", symlink_chain_tar("../../outside"))
    assert "member 'a' is a symbolic link" in message and "chain.tar" in message
    assert "only regular files and folders are extracted" in message
    assert list((tmp_path / "outside").iterdir()) == []


def tar_with(kind: bytes, name: str = "node", linkname: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        ok = tarfile.TarInfo("ok.txt")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"ok"))
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, linkname
        tar.addfile(info)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "kind,linkname,words",
    [
        (tarfile.SYMTYPE, "ok.txt", "a symbolic link (to 'ok.txt')"),
        (tarfile.LNKTYPE, "ok.txt", "a hard link (to 'ok.txt')"),
        (tarfile.LNKTYPE, "/etc/passwd", "a hard link (to '/etc/passwd')"),
        (tarfile.CHRTYPE, "", "a device file"),
        (tarfile.BLKTYPE, "", "a device file"),
        (tarfile.FIFOTYPE, "", "a FIFO"),
    ],
)
def test_tar_members_other_than_files_and_folders_are_refused(tmp_path, kind, linkname, words):
    message = extract_refused(tmp_path, "nodes.tar.gz", tar_with(kind, linkname=linkname))
    assert f"member 'node' is {words}" in message and "nodes.tar.gz" in message


def zip_with_mode(name: str, mode: int, data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ok.txt", b"ok")
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16
        zf.writestr(info, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "member,mode,words",
    [
        ("link", stat.S_IFLNK | 0o777, "is a symbolic link"),
        ("inside-link", stat.S_IFLNK | 0o777, "is a symbolic link"),  # even one to "ok.txt"
        ("fifo", stat.S_IFIFO | 0o644, "is of file type 0o10000"),
        ("dev", stat.S_IFCHR | 0o644, "is of file type 0o20000"),
        ("../up.txt", stat.S_IFREG | 0o644, "has a '..' component"),
        ("..\\up.txt", stat.S_IFREG | 0o644, "has a '..' component"),
        ("/abs.txt", stat.S_IFREG | 0o644, "is an absolute path"),
        ("C:\\win.txt", stat.S_IFREG | 0o644, "is an absolute path"),
        (".", stat.S_IFREG | 0o644, "names no file"),
    ],
)
def test_zip_members_other_than_files_and_folders_are_refused(tmp_path, member, mode, words):
    body = zip_with_mode(member, mode, b"ok.txt" if "link" in member else b"x")
    message = extract_refused(tmp_path, "odd.zip", body)
    assert f"member {member!r} {words}" in message and "odd.zip" in message
    assert not (tmp_path / "up.txt").exists() and not (tmp_path / "work" / "up.txt").exists()


def test_plain_files_and_folders_with_unix_modes_still_extract(tmp_path):
    archive = tmp_path / "modes.zip"
    archive.write_bytes(zip_with_mode("bin/run.sh", stat.S_IFREG | 0o755, b"#!/bin/sh\n"))
    root = safe_extract(archive, tmp_path / "out")
    assert (root / "bin" / "run.sh").read_bytes() == b"#!/bin/sh\n"
    assert (root / "ok.txt").read_bytes() == b"ok"


# --- 2. Dogs vs Cats: a head check, the whole file's SHA-256 recorded, a pin verified ----------


def test_the_registry_says_what_the_dogscats_check_covers():
    (remote,) = REGISTRY["dogscats"].full
    assert remote.head_check is not None and remote.sha256 is None  # not pinned yet
    assert "first MiB only" in remote.verification
    assert "rest of the file is not checked" in remote.verification
    assert "first MiB" in registry.__doc__ and "sha256=" in registry.__doc__
    others = [r for e in REGISTRY.values() for r in e.full if e.name not in {"dogscats"}]
    assert {r.verification for r in others} == {
        "MD5 of the whole file",
        "no checksum (downloaded only with COURSE_ALLOW_UNVERIFIED=1)",
    }


DOGSCATS = {
    "dogscats/train/cats/cat.1.jpg": b"c",
    "dogscats/train/dogs/dog.1.jpg": b"d",
    "dogscats/valid/cats/cat.2.jpg": b"c",
    "dogscats/valid/dogs/dog.2.jpg": b"d",
    # more than a MiB, so that the check's "first MiB" is a real prefix
    "dogscats/zz-tail.bin": bytes(range(256)) * (5 * 1024),
}


def fake_dogscats() -> bytes:
    return make_tar(DOGSCATS, mode="w")


def swapped_tail(archive: bytes) -> bytes:
    """The same size and first MiB, other bytes after it (inside the last member's data)."""
    return (
        archive[: MIB + 4096]
        + bytes(b ^ 0xFF for b in archive[MIB + 4096 : MIB + 8192])
        + (archive[MIB + 8192 :])
    )


def serve_dogscats(server, body: bytes, check: HeadCheck, sha256: str | None = None):
    url = server.add("/dogscats.tgz", body)
    remote = RemoteFile(url, None, head_check=check, sha256=sha256)
    return dataclasses.replace(REGISTRY["dogscats"], name="test-dogscats", full=(remote,))


def head_check_of(body: bytes) -> HeadCheck:
    return HeadCheck(len(body), hashlib.md5(body[:MIB]).hexdigest())


def test_head_checked_download_records_and_prints_its_sha256(data, server, throwaway, capsys):
    archive = fake_dogscats()
    whole = hashlib.sha256(archive).hexdigest()
    name = throwaway(serve_dogscats(server, archive, head_check_of(archive)))
    root = dataset_path(name, "full")
    out = capsys.readouterr().out
    assert f"Its whole-file SHA-256 is {whole}" in out and "pin it as sha256=" in out
    assert "first MiB only" in out
    record = recorded_check(data / name / "downloads" / "dogscats.tgz")
    assert record["sha256"] == whole and record["url"] == server.url("/dogscats.tgz")
    assert "first MiB only" in record["checked"] and record["size"] == len(archive)
    manifest = json.loads((root / "MANIFEST.json").read_text())
    assert manifest["downloads"]["dogscats.tgz"]["sha256"] == whole
    assert manifest["downloads"]["dogscats.tgz"]["whole_file"] is False
    (source,) = provenance.data_sources()
    assert "first MiB only" in source.origin and f"not pinned: {whole}" in source.origin


def test_a_swapped_tail_passes_the_head_check_but_not_a_pinned_sha256(data, server, throwaway):
    archive = fake_dogscats()
    swapped = swapped_tail(archive)
    assert head_check_of(swapped) == head_check_of(archive) and swapped != archive
    pin = hashlib.sha256(archive).hexdigest()
    name = throwaway(serve_dogscats(server, swapped, head_check_of(archive), sha256=pin))
    with pytest.raises(
        ValueError, match=f"SHA256 hash of downloaded file .* expected sha256:{pin}"
    ):
        dataset_path(name, "full")
    assert leftovers(data / name) == ["downloads"]
    assert leftovers(data / name / "downloads") == []  # nor pooch's temporary file
    # the genuine file passes the pin; nothing needs recording then
    server.files["/dogscats.tgz"] = archive
    root = dataset_path(name, "full")
    assert (root / "train" / "cats" / "cat.1.jpg").read_bytes() == b"c"
    assert leftovers(data / name / "downloads") == ["dogscats.tgz"]
    (source,) = [s for s in provenance.data_sources() if s.name == "Dogs vs Cats"]
    assert "first MiB" not in source.origin  # the whole file is verified


def test_a_cached_head_checked_file_is_rechecked_before_reuse(data, server, throwaway, capsys):
    archive = fake_dogscats()
    name = throwaway(serve_dogscats(server, archive, head_check_of(archive)))
    dataset_path(name, "full")
    cached = data / name / "downloads" / "dogscats.tgz"
    cached.write_bytes(swapped_tail(archive))  # altered in the cache, same size and head
    shutil.rmtree(data / name / "full")  # rebuilding the layout reads the cache again
    capsys.readouterr()
    dataset_path(name, "full")
    out = capsys.readouterr().out
    assert f"the cached {cached} failed its check" in out and "downloading it again" in out
    assert cached.read_bytes() == archive and server.requests == ["/dogscats.tgz"] * 2


def test_a_failed_head_check_names_the_url(server, tmp_path):
    archive = fake_dogscats()
    url = server.add("/dogscats.tgz", archive)
    wrong = HeadCheck(len(archive), "0" * 32)
    with pytest.raises(HeadCheckError, match=f"{url}: expected .* nothing was kept"):
        fetch(url, None, tmp_path / "dl", head_check=wrong)
    assert leftovers(tmp_path / "dl") == []


# --- 3. every redirect is checked --------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http://example.com/a.tgz",  # plain http to the world
        "http://10.0.0.1/a.tgz",
        "ftp://example.com/a.tgz",
        "file:///etc/passwd",
        "http://localhost:1/a.tgz",  # a name, not the loopback address
    ],
)
def test_a_redirect_to_an_insecure_url_is_refused(server, tmp_path, target):
    url = server.add("/a.tgz", b"abc")
    server.redirects["/a.tgz"] = target
    with pytest.raises(InsecureURLError) as info:
        fetch(url, md5(b"abc"), tmp_path / "dl")
    message = str(info.value)
    assert f"redirect from {url} to {target!r}" in message and "every hop" in message
    assert server.requests == ["/a.tgz"]  # the target was never asked for
    assert leftovers(tmp_path / "dl") == []


def test_redirects_are_followed_hop_by_hop(server, tmp_path):
    server.add("/final.tgz", b"abc")
    server.redirects["/a.tgz"] = "/hop"  # relative, resolved against the URL that said it
    server.redirects["/hop"] = server.url("/final.tgz")
    path = fetch(server.url("/a.tgz"), md5(b"abc"), tmp_path / "dl")
    assert path.read_bytes() == b"abc" and path.name == "a.tgz"
    assert server.requests == ["/a.tgz", "/hop", "/final.tgz"]


def test_a_redirect_loop_stops(server, tmp_path):
    server.redirects["/a.tgz"] = "/b.tgz"
    server.redirects["/b.tgz"] = "/a.tgz"
    with pytest.raises(DownloadInterruptedError, match="more than 10 redirects"):
        fetch(server.url("/a.tgz"), md5(b""), tmp_path / "dl")
    assert leftovers(tmp_path / "dl") == []


def test_weights_redirects_are_checked_too(server, torch_home):
    from course_utils.models.pretrained import download_weights

    url = server.add("/models/resnet18-12345678.pth", b"x")
    server.redirects["/models/resnet18-12345678.pth"] = "http://example.com/r-12345678.pth"
    with pytest.raises(InsecureURLError, match="redirect from .* to 'http://example.com/"):
        download_weights(url)
    assert not torch_home.exists() or leftovers(torch_home) == []


# --- 4. a cap on what an archive may expand to -------------------------------------------


def bomb_tar() -> bytes:
    return make_tar({"zeros.bin": bytes(5_000_000)})  # 5 MB of zeros: about 5 KB gzipped


def bomb_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(5_000_000))
    return buffer.getvalue()


@pytest.mark.parametrize("name,make", [("bomb.tar.gz", bomb_tar), ("bomb.zip", bomb_zip)])
def test_an_archive_declaring_more_than_the_cap_is_refused(tmp_path, name, make):
    body = make()
    assert len(body) < 20_000
    message = extract_refused(tmp_path, name, body, ExtractionLimitError, max_bytes=1_000_000)
    assert str(tmp_path / name) in message and "declare 5,000,000 bytes" in message
    assert "cap of 1,000,000 bytes" in message and "max_extracted" in message
    assert declared_size(tmp_path / name) == 5_000_000


@pytest.mark.parametrize("name,make", [("bomb.tar.gz", bomb_tar), ("bomb.zip", bomb_zip)])
def test_an_archive_larger_than_the_free_space_is_refused(tmp_path, monkeypatch, name, make):
    usage = archives.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(archives.shutil, "disk_usage", lambda path: usage._replace(free=4_999_999))
    message = extract_refused(tmp_path, name, make(), ExtractionLimitError, max_bytes=None)
    assert "declare 5,000,000 bytes" in message and "only 4,999,999 bytes are free" in message
    assert "COURSE_DATA_DIR" in message


@pytest.mark.parametrize("name,make", [("bomb.tar.gz", bomb_tar), ("bomb.zip", bomb_zip)])
def test_bytes_are_counted_while_writing_should_a_declared_size_lie(
    tmp_path, monkeypatch, name, make
):
    # tarfile and zipfile stop at a member's declared size, so no real archive gets past the
    # declared-size check: pass it here, and the counter must stop the extraction itself
    monkeypatch.setattr(archives, "_check_size", lambda *args: None)
    message = extract_refused(tmp_path, name, make(), ExtractionLimitError, max_bytes=1_000_000)
    assert f"stopped extracting {tmp_path / name}" in message
    assert "more than 1,000,000 bytes came out" in message and "delete it" in message


def test_a_zip_whose_directory_understates_a_size_is_refused_as_corrupt(tmp_path):
    body = bytearray(bomb_zip())
    # the central directory's uncompressed-size field (offset 24 of its record) says 10 bytes
    central = body.rindex(b"PK\x01\x02")
    body[central + 24 : central + 28] = (10).to_bytes(4, "little")
    message = extract_refused(tmp_path, "liar.zip", bytes(body), CorruptArchiveError)
    assert "liar.zip is incomplete or corrupt" in message


def test_the_cap_comes_from_the_registry_entry(data, server, throwaway):
    archive = make_tar({"aclImdb/train/pos/0_9.txt": b"great", "aclImdb/big.bin": bytes(50_000)})
    url = server.add("/aclImdb_v1.tar.gz", archive)
    entry = dataclasses.replace(
        REGISTRY["imdb"],
        name="test-imdb",
        full=(RemoteFile(url, md5(archive)),),
        max_extracted=10_000,
    )
    assert REGISTRY["imdb"].max_extracted == 2**30  # the real entry's cap
    name = throwaway(entry)
    with pytest.raises(ExtractionLimitError, match="declare 50,005 bytes.*cap of 10,000"):
        dataset_path(name, "full")
    assert leftovers(data / name) == ["downloads"]  # no layout, no .partial- folder


# --- 5. clear errors: corrupt archives, cut downloads, corrupt weights, a misplaced data dir ----


def truncated(body: bytes) -> bytes:
    return body[: len(body) // 2]


def corrupted_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.txt", os.urandom(1000).hex())
    body = bytearray(buffer.getvalue())
    body[60:70] = bytes(10)  # inside the compressed data of the only member
    return bytes(body)


@pytest.mark.parametrize(
    "name,make",
    [
        ("cut.tar.gz", lambda: truncated(make_tar({"a.bin": os.urandom(100_000)}))),
        ("cut.tar", lambda: truncated(make_tar({"a.bin": os.urandom(100_000)}, mode="w"))),
        ("cut.zip", lambda: truncated(make_zip({"a.bin": os.urandom(100_000)}))),
        ("damaged.zip", corrupted_zip),
        ("random.tgz", lambda: os.urandom(5000)),
        ("empty.zip", lambda: b""),
    ],
)
def test_a_truncated_or_corrupt_archive_is_named_with_the_fix(tmp_path, name, make):
    message = extract_refused(tmp_path, name, make(), CorruptArchiveError)
    assert f"{tmp_path / name} is incomplete or corrupt" in message
    assert "Delete it and download it again" in message


def test_a_corrupt_cached_download_is_deleted_and_said_so(data, server, throwaway):
    # the file the server has is itself cut, and its MD5 is the one pinned: it downloads fine
    archive = truncated(make_tar({"aclImdb/train/pos/0_9.txt": os.urandom(50_000)}))
    url = server.add("/aclImdb_v1.tar.gz", archive)
    entry = dataclasses.replace(
        REGISTRY["imdb"], name="t-imdb", full=(RemoteFile(url, md5(archive)),)
    )
    name = throwaway(entry)
    with pytest.raises(CorruptArchiveError) as info:
        dataset_path(name, "full")
    message = str(info.value)
    assert "aclImdb_v1.tar.gz is incomplete or corrupt" in message
    assert "cached download, so it has been deleted: run again to download it anew" in message
    assert leftovers(data / name) == ["downloads"] and leftovers(data / name / "downloads") == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_download_that_cannot_connect_names_the_url(server, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/a.tgz"  # inside the server's loopback allowance
    with pytest.raises(DownloadInterruptedError) as info:
        fetch(url, md5(b""), tmp_path / "dl")
    assert f"could not download {url}" in str(info.value) and "run again to retry" in str(
        info.value
    )
    assert leftovers(tmp_path / "dl") == []


def test_a_weights_download_cut_midway_leaves_nothing(server, torch_home):
    from course_utils.models.pretrained import download_weights

    body = os.urandom(300_000)
    fname = f"net-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    url = server.add(f"/m/{fname}", body)
    server.truncated.add(f"/m/{fname}")
    with pytest.raises(DownloadInterruptedError, match="cut off after .* of 300,000 bytes"):
        download_weights(url)
    assert leftovers(torch_home) == []


def served_weights(server) -> tuple[str, bytes]:
    import torch

    buffer = io.BytesIO()
    torch.save({"w": torch.arange(1000.0)}, buffer)
    body = buffer.getvalue()
    fname = f"net-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    return server.add(f"/m/{fname}", body), body


def test_a_tampered_cached_weights_file_is_not_used(server, torch_home, monkeypatch):
    from course_utils.models.pretrained import WeightsFileError, download_weights

    url, body = served_weights(server)
    path = download_weights(url)
    hashed = []
    real = download.file_sha256
    monkeypatch.setattr(download, "file_sha256", lambda p: hashed.append(p) or real(p))
    assert download_weights(url) == path and download_weights(url) == path
    assert len(hashed) == 1  # hashed once per session, not per use
    altered = bytearray(body)
    altered[-100] ^= 0xFF  # a weight changed: torch would load it without complaint
    path.write_bytes(bytes(altered))
    with pytest.raises(WeightsFileError) as info:
        download_weights(url)
    message = str(info.value)
    assert f"cached weights file {path} does not match" in message and f"rm {path}" in message
    path.unlink()
    assert download_weights(url).read_bytes() == body  # deleted: downloaded anew
    assert server.requests.count(server.requests[0]) == 2


@pytest.mark.parametrize("keep", [0, 10, 5000])
def test_a_truncated_weights_file_is_named(tmp_path, keep):
    import torch

    from course_utils.models.pretrained import WeightsFileError, load_weights_file

    buffer = io.BytesIO()
    torch.save({"w": torch.randn(100, 100)}, buffer)
    path = tmp_path / "cut-12345678.pth"
    path.write_bytes(buffer.getvalue()[:keep])
    with pytest.raises(WeightsFileError) as info:
        load_weights_file(path)
    assert f"cannot read the weights file {path}: it is incomplete or corrupt" in str(info.value)
    assert "Delete it and run again" in str(info.value)


def test_cached_sha256_rehashes_when_the_file_changes(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"one")
    assert cached_sha256(path) == hashlib.sha256(b"one").hexdigest()
    path.write_bytes(b"three")  # another size
    assert cached_sha256(path) == hashlib.sha256(b"three").hexdigest()


def test_a_data_dir_that_is_a_file_is_named(tmp_path, monkeypatch):
    file = tmp_path / "oops.txt"
    file.write_text("not a folder")
    for configured in (file, file / "below"):
        monkeypatch.setenv("COURSE_DATA_DIR", str(configured))
        with pytest.raises(NotADirectoryError) as info:
            data_dir()
        message = str(info.value)
        assert f"$COURSE_DATA_DIR is {str(configured)!r}" in message
        assert (
            f"{file} is a file, not a folder" in message and "point COURSE_DATA_DIR at" in message
        )
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "new" / "folder"))
    assert data_dir() == tmp_path / "new" / "folder"  # missing is fine: made when written


def test_a_data_dir_that_is_a_file_stops_dataset_path(tmp_path, monkeypatch):
    file = tmp_path / "oops.txt"
    file.write_text("")
    monkeypatch.setenv("COURSE_DATA_DIR", str(file))
    with pytest.raises(NotADirectoryError, match="COURSE_DATA_DIR"):
        dataset_path("digits", "quick")
    assert file.read_text() == ""


# --- 6. leftovers of killed runs are swept -----------------------------------------------


def age(path: Path, seconds: float) -> Path:
    """Set the modification time of ``path`` and everything in it ``seconds`` into the past."""
    then = time.time() - seconds
    for p in [*path.rglob("*"), path] if path.is_dir() else [path]:
        os.utime(p, (then, then))
    return path


def leftover_folder(parent: Path, name: str, stale: bool) -> Path:
    folder = parent / name
    (folder / "deep" / "er").mkdir(parents=True)
    (folder / "deep" / "er" / "half.jpg").write_bytes(b"x" * 100)
    return age(folder, 2 * STALE_AFTER_S) if stale else folder


def test_leftover_names():
    assert is_leftover(".full.partial-ab12cd_9") and is_leftover("tmpx7_k2q9a")
    assert is_leftover(".resnet18-b627a593.pth.partial-abcdefgh")
    assert not is_leftover("full") and not is_leftover("tmp") and not is_leftover("tmpfile.tgz")
    assert not is_leftover("dogscats.tgz") and not is_leftover(".full.partial-")


def test_build_sweeps_stale_partial_folders_and_keeps_fresh_ones(tmp_path):
    stale = leftover_folder(tmp_path, ".full.partial-aaaaaaaa", stale=True)
    fresh = leftover_folder(tmp_path, ".full.partial-bbbbbbbb", stale=False)
    # old at the top, but a live writer is at work deep inside: kept
    busy = leftover_folder(tmp_path, ".full.partial-cccccccc", stale=True)
    (busy / "deep" / "er" / "now.jpg").write_bytes(b"y")
    unrelated = tmp_path / "notes.partial"  # not a name we write
    unrelated.write_text("mine")
    age(unrelated, 2 * STALE_AFTER_S)
    build_once(tmp_path / "layout", lambda out: {"items": 0})
    assert not stale.exists()
    assert fresh.exists() and busy.exists() and unrelated.read_text() == "mine"
    assert (tmp_path / "layout" / "MANIFEST.json").is_file()


def test_fetch_sweeps_stale_pooch_temporary_files(server, tmp_path):
    folder = tmp_path / "dl"
    folder.mkdir()
    stale = folder / "tmpa1b2c3d4"
    stale.write_bytes(b"half a download")
    age(stale, 2 * STALE_AFTER_S)
    fresh = folder / "tmpe5f6g7h8"
    fresh.write_bytes(b"another process is downloading this")
    url = server.add("/a.tgz", b"abc")
    fetch(url, md5(b"abc"), folder)
    assert leftovers(folder) == ["a.tgz", "tmpe5f6g7h8"]


def test_weights_download_sweeps_stale_partial_files(server, torch_home):
    from course_utils.models.pretrained import download_weights

    torch_home.mkdir(parents=True)
    stale = torch_home / ".old-12345678.pth.partial-abcdefgh"
    stale.write_bytes(b"half")
    age(stale, 2 * STALE_AFTER_S)
    fresh = torch_home / ".old-12345678.pth.partial-zyxwvuts"
    fresh.write_bytes(b"half")
    url, _ = served_weights(server)
    path = download_weights(url)
    assert leftovers(torch_home) == sorted([fresh.name, path.name])


def test_sweep_tolerates_a_missing_folder_and_reports_what_it_removed(tmp_path):
    assert sweep_leftovers(tmp_path / "nothing") == []
    stale = tmp_path / "tmpzzzzzzzz"
    stale.write_bytes(b"")
    age(stale, 2 * STALE_AFTER_S)
    assert sweep_leftovers(tmp_path) == [stale] and sweep_leftovers(tmp_path) == []
