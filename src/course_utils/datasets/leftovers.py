"""Sweeping up what a killed download or build left behind.

Every writer in :mod:`course_utils.datasets` and :mod:`course_utils.models` writes
into a temporary name beside its target and renames it into place at the end,
deleting the temporary on any error. A process that is *killed* (out of memory,
a kernel restart) deletes nothing: the ``.<name>.partial-*`` folders of a build
or an extraction and pooch's ``tmpXXXXXXXX`` download files stay, gigabytes for
the big archives. :func:`sweep_leftovers` removes them on the next run.

Only leftovers untouched for :data:`STALE_AFTER_S` are removed: another process
(a second notebook, the book's parallel build) may be writing a fresh one right
now, and a live writer touches its files every few seconds. A folder's age is
that of the newest file anywhere inside it, because writing deep inside a folder
does not change the folder's own modification time.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

__all__ = ["STALE_AFTER_S", "is_leftover", "sweep_leftovers"]

STALE_AFTER_S = 3600.0  # an hour: far longer than any live writer goes without writing

# ".<target>.partial-<random>": build_once, safe_extract, the weights writers (tempfile's
# mkdtemp/mkstemp add 8 random characters); "tmp<8 random>": pooch's temporary downloads
_LEFTOVER = re.compile(r"^\..+\.partial-[A-Za-z0-9_]{8}$|^tmp[A-Za-z0-9_]{8}$")


def is_leftover(name: str) -> bool:
    """Whether ``name`` is the name of a temporary file or folder that the writers here make."""
    return _LEFTOVER.match(name) is not None


def _newest_mtime(path: Path, stale_before: float) -> float:
    """The newest modification time of ``path`` and, for a folder, of anything inside it;
    stops walking at the first entry newer than ``stale_before`` (it is fresh, whatever else)."""
    newest = path.lstat().st_mtime
    if newest >= stale_before or not path.is_dir() or path.is_symlink():
        return newest
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                mtime = os.lstat(os.path.join(folder, name)).st_mtime
            except FileNotFoundError:  # removed while we look: someone is at work in there
                return time.time()
            if mtime >= stale_before:
                return mtime
            newest = max(newest, mtime)
    return newest


def sweep_leftovers(folder: str | Path, max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove the leftovers (see :func:`is_leftover`) directly in ``folder`` that nothing has
    touched for ``max_age_s`` seconds; return what was removed. A missing folder is fine."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale_before = time.time() - max_age_s
    removed = []
    for path in folder.iterdir():
        if not is_leftover(path.name):
            continue
        try:
            if _newest_mtime(path, stale_before) >= stale_before:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:  # another process swept it first
            continue
        removed.append(path)
    return removed
