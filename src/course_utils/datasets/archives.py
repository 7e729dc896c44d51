"""Safe extraction of downloaded archives: nothing may land outside the target folder.

Used by every full-profile dataset of lessons 1-6 (dogs vs cats, pets, CIFAR-10,
IMDB, MovieLens arrive as ``.zip``, ``.tar`` or ``.tar.gz``). An archive is data
from the network, so a member called ``../../.bashrc``, ``/etc/passwd`` or a
symlink pointing out of the folder must be refused, not written. Tar archives go
through the standard library's ``filter="data"`` (PEP 706); zip members are
checked here, because :mod:`zipfile` has no such filter.

Extraction writes into a temporary sibling folder and renames it into place
at the end, so an interrupted or refused extraction leaves no half-filled
folder at the final path.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

__all__ = ["ARCHIVE_SUFFIXES", "UnsafeArchiveError", "is_archive", "safe_extract"]

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the target folder (or is a link)."""


def is_archive(path: str | Path) -> bool:
    """Whether ``path`` names an archive :func:`safe_extract` can open, judged by its name."""
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def safe_extract(archive: str | Path, dest: str | Path) -> Path:
    """Extract ``archive`` into the new folder ``dest`` and return ``dest``.

    Refuses (with :class:`UnsafeArchiveError` naming the member) absolute paths,
    ``..`` components and links that leave ``dest``; nothing is left at ``dest``
    then. ``dest`` must not exist yet: the archive is unpacked into a temporary
    sibling folder that is renamed to ``dest`` only once everything is out.
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
        if archive.name.lower().endswith(".zip"):
            _extract_zip(archive, tmp)
        else:
            _extract_tar(archive, tmp)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _extract_tar(archive: Path, out: Path) -> None:
    with tarfile.open(archive) as tar:  # the mode "r:*" detects the compression
        for member in tar.getmembers():
            # the "data" filter would silently strip a leading "/": refuse it instead
            _check_name(archive, member.name)
        try:
            tar.extractall(out, filter="data")
        except tarfile.FilterError as error:
            # AbsolutePathError, OutsideDestinationError, LinkOutsideDestinationError, ...
            member = error.tarinfo.name
            raise UnsafeArchiveError(
                f"refusing to extract {archive.name}: member {member!r} would be written "
                f"outside the target folder ({type(error).__name__})"
            ) from error


def _extract_zip(archive: Path, out: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for info in members:  # check every name before writing anything
            _check_zip_member(archive, info)
        for info in members:
            zf.extract(info, out)


def _check_zip_member(archive: Path, info: zipfile.ZipInfo) -> None:
    _check_name(archive, info.filename)
    if stat.S_ISLNK(info.external_attr >> 16):  # Unix mode bits live in the high 16 bits
        _refuse(archive, info.filename, "is a symbolic link")


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
