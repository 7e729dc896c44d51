"""Safe extraction of downloaded archives: nothing may land outside the target folder.

Used by every full-profile dataset of lessons 1-6 (dogs vs cats, pets, CIFAR-10,
IMDB, MovieLens arrive as ``.zip``, ``.tar`` or ``.tar.gz``). An archive is data
from the network, so before anything is written every member is checked:

* its name: an absolute path (``/etc/passwd``, ``C:/x``) or a ``..`` component
  is refused;
* its type: only regular files and folders are extracted. Links of any kind,
  devices and FIFOs are refused, whatever they point at: the standard library's
  ``filter="data"`` (PEP 706), which tar extraction still goes through, let a
  chain of symlinks longer than ``PATH_MAX`` write outside the folder on every
  Python before the 2025 tarfile fixes (3.10.18, 3.11.13, 3.12.11, 3.13.4),
  and no course archive holds a link. Zip stores a symlink as a member whose
  Unix mode (the high 16 bits of ``external_attr``) says so;
* its size: the members' declared sizes, added up, must fit under ``max_bytes``
  (a cap per dataset, on its registry entry) and in the free disk space, so
  that 200 KB cannot expand to fill the disk. The bytes written are counted as
  well, and extraction stops past the cap, should a declared size lie.

A truncated or corrupt archive raises :class:`CorruptArchiveError` naming it.
Extraction writes into a temporary sibling folder and renames it into place
at the end, so an interrupted or refused extraction leaves no half-filled
folder at the final path.
"""

from __future__ import annotations

import gzip
import lzma
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

__all__ = [
    "ARCHIVE_SUFFIXES",
    "DEFAULT_MAX_EXTRACTED",
    "CorruptArchiveError",
    "ExtractionLimitError",
    "UnsafeArchiveError",
    "declared_size",
    "is_archive",
    "safe_extract",
]

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
DEFAULT_MAX_EXTRACTED = 2 * 2**30  # 2 GiB: above every course archive, far below a full disk
COPY_CHUNK = 2**20

# what a truncated or damaged archive raises somewhere in tarfile, zipfile and their codecs
_CORRUPT = (
    tarfile.ReadError,
    tarfile.CompressionError,
    zipfile.BadZipFile,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
    lzma.LZMAError,
)


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the target folder, or is not a plain file
    or folder (a link, a device)."""


class ExtractionLimitError(ValueError):
    """An archive would expand to more than its cap or than the free disk space."""


class CorruptArchiveError(ValueError):
    """An archive is truncated or damaged: ``archive`` is its path, ``cause`` what failed."""

    def __init__(self, message: str, archive: Path, cause: str):
        super().__init__(message)
        self.archive, self.cause = archive, cause


def is_archive(path: str | Path) -> bool:
    """Whether ``path`` names an archive :func:`safe_extract` can open, judged by its name."""
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def _is_zip(archive: Path) -> bool:
    return archive.name.lower().endswith(".zip")


def declared_size(archive: str | Path) -> int:
    """The uncompressed size of ``archive``'s files as its members declare it, in bytes."""
    archive = Path(archive)
    try:
        if _is_zip(archive):
            with zipfile.ZipFile(archive) as zf:
                return sum(info.file_size for info in zf.infolist())
        with tarfile.open(archive) as tar:
            return sum(member.size for member in tar.getmembers() if member.isreg())
    except _CORRUPT as error:
        raise _corrupt(archive, error) from error


def safe_extract(
    archive: str | Path, dest: str | Path, max_bytes: int | None = DEFAULT_MAX_EXTRACTED
) -> Path:
    """Extract ``archive`` into the new folder ``dest`` and return ``dest``.

    Refuses (with :class:`UnsafeArchiveError` naming the member) absolute paths,
    ``..`` components and every member that is not a regular file or a folder;
    refuses (with :class:`ExtractionLimitError`) an archive whose files add up to
    more than ``max_bytes`` (``None``: no cap but the free space) or than the free
    space. Nothing is left at ``dest`` then. ``dest`` must not exist yet: the
    archive is unpacked into a temporary sibling folder that is renamed to
    ``dest`` only once everything is out.
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise FileNotFoundError(f"no archive to extract at {archive}")
    if not is_archive(archive):
        raise ValueError(
            f"cannot extract {archive.name}: expected a name ending in "
            f"{', '.join(ARCHIVE_SUFFIXES)}"
        )
    if dest.exists():
        raise FileExistsError(f"extraction target {dest} already exists; remove it first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        try:
            if _is_zip(archive):
                _extract_zip(archive, tmp, max_bytes)
            else:
                _extract_tar(archive, tmp, max_bytes)
        except _CORRUPT as error:
            raise _corrupt(archive, error) from error
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _corrupt(archive: Path, error: BaseException) -> CorruptArchiveError:
    kind = type(error).__name__
    kind = f"{type(error).__module__}.{kind}" if kind == "error" else kind  # zlib.error
    cause = f"{kind}: {error}"
    return CorruptArchiveError(
        f"{archive} is incomplete or corrupt ({cause}); nothing was extracted. "
        "Delete it and download it again.",
        archive,
        cause,
    )


# --- tar --------------------------------------------------------------------------------


def _extract_tar(archive: Path, out: Path, max_bytes: int | None) -> None:
    with tarfile.open(archive) as tar:  # the mode "r:*" detects the compression
        members = tar.getmembers()
        for member in members:  # check every member before writing anything
            # the "data" filter would silently strip a leading "/": refuse it instead
            _check_name(archive, member.name)
            if not (member.isreg() or member.isdir()):
                _refuse_type(archive, member.name, _tar_kind(member))
        _check_size(archive, sum(m.size for m in members if m.isreg()), out, max_bytes)
        counter = _Counter(archive, max_bytes)
        for member in members:
            try:
                tar.extract(member, out, filter="data")
            except tarfile.FilterError as error:
                # AbsolutePathError, OutsideDestinationError, ...: kept as a second line
                raise UnsafeArchiveError(
                    f"refusing to extract {archive.name}: member {member.name!r} would be "
                    f"written outside the target folder ({type(error).__name__})"
                ) from error
            if member.isreg():  # tarfile copies the declared size; count what reached the disk
                counter.add((out / member.name).stat().st_size)


def _tar_kind(member: tarfile.TarInfo) -> str:
    target = member.linkname if len(member.linkname) <= 60 else member.linkname[:57] + "..."
    if member.issym():
        return f"a symbolic link (to {target!r})"
    if member.islnk():
        return f"a hard link (to {target!r})"
    if member.ischr() or member.isblk():
        return "a device file"
    if member.isfifo():
        return "a FIFO"
    return f"of tar type {member.type!r}"


# --- zip --------------------------------------------------------------------------------


def _extract_zip(archive: Path, out: Path, max_bytes: int | None) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for info in members:  # check every member before writing anything
            _check_zip_member(archive, info)
        _check_size(archive, sum(info.file_size for info in members), out, max_bytes)
        counter = _Counter(archive, max_bytes)
        for info in members:
            # names are checked (relative, no ".."), and no link is ever written: joining is safe
            target = out.joinpath(*PurePosixPath(info.filename).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                while chunk := src.read(COPY_CHUNK):
                    counter.add(len(chunk))  # before writing: stop past the cap, not after
                    dst.write(chunk)


def _check_zip_member(archive: Path, info: zipfile.ZipInfo) -> None:
    _check_name(archive, info.filename)
    if not PurePosixPath(info.filename).parts and not info.filename.endswith("/"):
        _refuse(archive, info.filename, "names no file (an empty or '.' path)")  # "./" is fine
    # the Unix mode lives in the high 16 bits; its file type 0 means none was recorded (a zip
    # written elsewhere, or by writestr): a plain file or folder, by its name
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        kind = "a symbolic link" if file_type == stat.S_IFLNK else f"of file type {file_type:#o}"
        _refuse_type(archive, info.filename, kind)


# --- shared checks ----------------------------------------------------------------------


def _check_name(archive: Path, name: str) -> None:
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        _refuse(archive, name, "is an absolute path")
    if ".." in posix.parts or ".." in windows.parts:
        _refuse(archive, name, "has a '..' component")


def _refuse(archive: Path, name: str, problem: str) -> None:
    raise UnsafeArchiveError(
        f"refusing to extract {archive.name}: member {name!r} {problem}, "
        "which could write outside the target folder"
    )


def _refuse_type(archive: Path, name: str, kind: str) -> None:
    raise UnsafeArchiveError(
        f"refusing to extract {archive.name}: member {name!r} is {kind}; only regular files "
        "and folders are extracted (nothing was written)"
    )


def _check_size(archive: Path, declared: int, out: Path, max_bytes: int | None) -> None:
    if max_bytes is not None and declared > max_bytes:
        raise ExtractionLimitError(
            f"refusing to extract {archive}: its files declare {declared:,} bytes uncompressed, "
            f"above the cap of {max_bytes:,} bytes for this dataset (max_extracted on its "
            "registry entry). Nothing was written; if the archive is genuine, raise the cap."
        )
    free = shutil.disk_usage(out).free
    if declared > free:
        raise ExtractionLimitError(
            f"refusing to extract {archive}: its files declare {declared:,} bytes uncompressed, "
            f"but only {free:,} bytes are free in {out.parent}. Nothing was written; free some "
            "space or point COURSE_DATA_DIR at a larger disk."
        )


class _Counter:
    """Adds up the bytes written and raises once they pass the cap: a declared size may lie."""

    def __init__(self, archive: Path, max_bytes: int | None):
        self.archive, self.max_bytes, self.written = archive, max_bytes, 0

    def add(self, n: int) -> None:
        self.written += n
        if self.max_bytes is not None and self.written > self.max_bytes:
            raise ExtractionLimitError(
                f"stopped extracting {self.archive}: more than {self.max_bytes:,} bytes came out "
                "(the cap for this dataset, max_extracted on its registry entry), more than its "
                "members declare. The partial extraction was deleted; the archive is not to be "
                "trusted: delete it and download it again."
            )
