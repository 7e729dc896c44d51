"""Execute the pages a build will read several at a time, before Sphinx reads them.

myst-nb executes a notebook page while Sphinx reads it, one page after another.
Much of a page's time is spent where one core does the work (a kernel starting,
imports, Python between the tensor operations, figures being serialised), so on
a machine with two cores one page at a time leaves a core idle for a good part of
the build. Before the read (``env-before-read-docs``), this module executes the
pages the build will read and the execution cache cannot serve, ``jobs`` at a
time, each kernel given its share of the machine's threads, and stores each
success in the cache as myst-nb's cache mode does: the notebook read by
myst-nb's own reader from the page, executed in the page's folder with the
configured timeout and error policy, recorded with its run time. Sphinx then
reads every page from the cache.

The kernels are forked from one *fork server* (:mod:`course_book.forkkernel`) that has
already imported the libraries the pages use, which saves each page the seconds of those
imports; ``COURSE_FORK_KERNELS=0`` starts every kernel afresh, and so does a server that fails
to start within :data:`SERVER_START_SECONDS`.

A page that fails here is not cached. myst-nb executes it again while reading
and reports the failure, with its traceback, as in any build.

``COURSE_EXECUTION_JOBS`` sets ``jobs``; ``1`` leaves execution to myst-nb, one page
at a time. By default ``jobs`` is the CPUs this process may use, at most
:data:`MAX_JOBS`, in the quick profile, and 1 in the full profile
(``COURSE_PROFILE=full``), whose pages share one GPU and its memory.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution
from jupyter_client.manager import KernelManager
from myst_nb.core.config import NbParserConfig
from myst_nb.core.read import create_nb_reader
from nbformat import NotebookNode
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError
from sphinx.util import logging

__all__ = ["ENV_JOBS", "MAX_JOBS", "PendingPage", "execution_jobs", "pending_pages", "run_pages"]

logger = logging.getLogger(__name__)
ENV_JOBS = "COURSE_EXECUTION_JOBS"
# the variable course_utils.profile reads (course_book imports nothing of course_utils)
ENV_PROFILE = "COURSE_PROFILE"
MAX_JOBS = 4  # beyond a few kernels at once, memory runs out before the cores do
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # what PyTorch's thread pools read


@dataclass
class PendingPage:
    """A page to execute: its docname, source file, notebook and execution settings."""

    docname: str
    path: Path
    notebook: NotebookNode
    timeout: int | None
    allow_errors: bool


def _usable_cpus() -> int:
    with contextlib.suppress(AttributeError):  # not on every platform
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def execution_jobs() -> int:
    """How many pages to execute at once: ``COURSE_EXECUTION_JOBS``, else 1 in the full
    profile and the usable CPUs (at most :data:`MAX_JOBS`) in the quick one."""
    value = os.environ.get(ENV_JOBS, "").strip()
    if not value:
        if os.environ.get(ENV_PROFILE, "").strip().lower() == "full":
            return 1  # the full profile's pages train on one GPU: one at a time
        return max(1, min(MAX_JOBS, _usable_cpus()))
    if not value.isdigit() or int(value) < 1:
        raise ExtensionError(f"{ENV_JOBS}={value!r} must be a whole number of pages, 1 or more")
    return int(value)


def _read_notebook(env: BuildEnvironment, path: Path):
    """The notebook myst-nb will make of ``path`` and its page-level settings, or None
    for a page that is not a notebook."""
    text = path.read_text(encoding="utf-8")
    nb_config: NbParserConfig = env.mystnb_config
    reader = create_nb_reader(str(path), env.myst_config, nb_config, text)
    if reader is None:
        return None, nb_config
    notebook = reader.read(text)
    kernel = notebook.metadata.get("kernelspec", {}).get("name")
    if kernel is not None:  # as myst-nb's parser does: kernel names may have aliases
        for pattern, alias in (nb_config.kernel_rgx_aliases or {}).items():
            if re.fullmatch(pattern, kernel):
                notebook.metadata["kernelspec"]["name"] = alias
                break
    overrides = dict(notebook.metadata.get(nb_config.metadata_key, {}))
    overrides.pop("output_folder", None)
    with contextlib.suppress(Exception):  # myst-nb warns about bad overrides when it reads
        nb_config = nb_config.copy(**overrides)
    return notebook, nb_config


def _excluded(nb_config: NbParserConfig, path: Path) -> bool:
    posix = PurePosixPath(path.as_posix())
    return any(posix.match(pattern) for pattern in nb_config.execution_excludepatterns or ())


def pending_pages(
    app: Sphinx, env: BuildEnvironment, docnames: list[str], force: bool
) -> list[PendingPage]:
    """The notebook pages among ``docnames`` that need executing: those the cache cannot
    serve, or, with ``force``, all of them (their old cache records are removed)."""
    cache = get_cache(app.config.nb_execution_cache_path)
    pending = []
    for docname in docnames:
        path = Path(env.doc2path(docname))
        notebook, nb_config = _read_notebook(env, path)
        if notebook is None or nb_config.execution_mode != "cache" or _excluded(nb_config, path):
            continue
        try:
            record = cache.match_cache_notebook(notebook)
        except KeyError:
            record = None
        if record is not None and not force:
            continue
        if record is not None:  # forced: a failure must not fall back on the old outputs
            cache.remove_cache(record.pk)
        pending.append(
            PendingPage(
                docname,
                path,
                notebook,
                nb_config.execution_timeout,
                nb_config.execution_allow_errors,
            )
        )
    return pending


@contextlib.contextmanager
def _threads_per_kernel(threads: int) -> Iterator[None]:
    """Kernels started inside inherit ``threads`` as their thread count, unless the user
    set one."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    for name in THREAD_VARIABLES:
        if not os.environ.get(name):  # unset or empty
            os.environ[name] = str(threads)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


FORK_SCRIPT = Path(__file__).with_name("forkkernel.py")
ENV_FORK = "COURSE_FORK_KERNELS"  # "0": every kernel a fresh process
SERVER_START_SECONDS = 300  # importing the libraries, on a busy machine


def _fork_kernels_wanted() -> bool:
    return os.environ.get(ENV_FORK, "").strip() != "0" and hasattr(os, "fork")


@contextlib.contextmanager
def _fork_server() -> Iterator[type[KernelManager] | None]:
    """A fork server (:mod:`course_book.forkkernel`) for the kernels started inside, and the
    kernel manager class that uses it; None (ordinary kernels) if it is turned off or does
    not start."""
    if not _fork_kernels_wanted():
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="course-kernels-") as folder:
        socket_path = str(Path(folder) / "server.sock")
        server = subprocess.Popen(
            [sys.executable, str(FORK_SCRIPT), "serve", socket_path],
            stdout=subprocess.PIPE,
            text=True,
        )
        # "ready" once the imports are done; nothing (EOF) if the server died first
        started, _, _ = select.select([server.stdout], [], [], SERVER_START_SECONDS)
        ready = bool(started) and server.stdout.readline().strip() == "ready"
        if not ready:
            server.kill()
            server.wait()
            logger.info("[course_book] the fork server did not start: ordinary kernels")
            yield None
            return

        class ForkedKernelManager(KernelManager):
            """Starts the launcher of a forked kernel instead of a new Python process."""

            def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
                script = str(FORK_SCRIPT)
                return [sys.executable, script, "launch", socket_path, "-f", self.connection_file]

        try:
            yield ForkedKernelManager
        finally:
            server.terminate()  # the server kills any kernel still running
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            server.stdout.close()


def _execute(page: PendingPage, kernel_manager_class: type[KernelManager] | None = None):
    options = {} if kernel_manager_class is None else {"kernel_manager_class": kernel_manager_class}
    return single_nb_execution(
        page.notebook,
        cwd=str(page.path.parent),  # myst-nb's local working folder (run_in_temp: false)
        timeout=page.timeout,
        allow_errors=page.allow_errors,
        meta_override=True,
        **options,
    )


def run_pages(app: Sphinx, pages: list[PendingPage], jobs: int) -> list[str]:
    """Execute ``pages``, ``jobs`` at a time, and cache each success; return the docnames
    that failed (myst-nb runs those again, and reports them, when it reads them)."""
    if not pages:
        return []
    cache = get_cache(app.config.nb_execution_cache_path)
    threads = max(1, _usable_cpus() // jobs)
    logger.info(
        f"[course_book] executing {len(pages)} page{'s' * (len(pages) > 1)}, {jobs} at a time, "
        f"{threads} thread(s) each"
    )
    failed = []
    with (
        _threads_per_kernel(threads),
        _fork_server() as manager_class,
        ThreadPoolExecutor(max_workers=jobs) as pool,
    ):
        futures = {pool.submit(_execute, page, manager_class): page for page in pages}
        for future in as_completed(futures):
            page = futures[future]
            try:
                result = future.result()
            except Exception as error:  # a kernel that would not start, and the like
                logger.info(f"[course_book] {page.docname}: not executed here ({error!r})")
                failed.append(page.docname)
                continue
            if result.err is not None:
                logger.info(f"[course_book] {page.docname}: failed; myst-nb runs it again")
                failed.append(page.docname)
                continue
            # in the main thread: the cache's database is not shared between threads
            cache.cache_notebook_bundle(
                CacheBundleIn(
                    page.notebook, str(page.path), data={"execution_seconds": result.time}
                ),
                check_validity=False,
                overwrite=True,
            )
            logger.info(f"[course_book] executed {page.docname} in {result.time:.1f} s")
    return sorted(failed)
