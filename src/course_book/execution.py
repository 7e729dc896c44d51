"""Execution you can trust: a cache keyed on the code each page runs, and checks that pages ran.

**Each page re-executes when its code changes, and only then.** myst-nb's
execution cache (jupyter-cache) keys a notebook on its code cells alone, so an
edit to the library would leave pages' outputs stale. Here each notebook page
is also keyed on the sources of the library modules it imports, directly or
through other modules (:mod:`course_book.dependencies`, read from the imports,
not a hand-kept list). Before Sphinx reads the pages, a page whose modules
changed is marked outdated and its cache record removed, so it executes again;
every other page keeps its cached outputs. An edit to this package (its CSS, its
JavaScript) re-executes nothing. The keys live in ``pages.json`` beside the
jupyter-cache database. ``COURSE_EXECUTION=force`` (CI, publishing) executes
every page regardless of any cache.

**Pages execute several at a time.** The pages to execute run before Sphinx reads
them, ``COURSE_EXECUTION_JOBS`` at a time, into the same cache
(:mod:`course_book.parallel`); a forced build does the same with every page.

**A page served from the cache publishes its outputs.** myst-nb writes the
notebook it parsed to ``jupyter_execute/`` (the file the "download .ipynb"
button serves), and on a cache hit that notebook has no outputs: the outputs
were merged into a copy. After reading, each page served from the cache has its
``jupyter_execute`` notebook rewritten with the cached outputs, the same
notebook an executing build writes.

**Pages that claim to be notebooks really ran.** After reading, every notebook
page must have execution data that says it succeeded with a non-zero run time,
at least one cell output, and the provenance cell's report; otherwise the build
fails and names the page and what is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import jupytext
import nbformat
from docutils import nodes
from jupyter_cache import get_cache
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError
from sphinx.util import logging

from course_book.dependencies import ModuleGraph, code_imports
from course_book.parallel import execution_jobs, pending_pages, run_pages
from course_book.provenance import ProvenanceNode

__all__ = [
    "NotebookCheckError",
    "PageKeys",
    "check_notebook_pages",
    "page_modules",
    "setup",
]

logger = logging.getLogger(__name__)
ENV_EXECUTION = "COURSE_EXECUTION"
EXECUTION_MODES = ("force", "cache", "auto", "off")
KEYS_FILE = "pages.json"  # beside jupyter-cache's database: docname -> key, modules, record


class NotebookCheckError(ExtensionError):
    """A notebook page did not execute as it claims to."""


def configure_execution(app: Sphinx, config: Config) -> None:
    """Apply ``COURSE_EXECUTION`` and put the execution cache under the build folder.

    ``force`` with more than one execution job (:func:`~course_book.parallel.execution_jobs`)
    runs as the cache mode with every page read executed anew, several at a time.
    """
    mode = os.environ.get(ENV_EXECUTION, "").strip().lower()
    if mode:
        if mode not in EXECUTION_MODES:
            raise ExtensionError(
                f"{ENV_EXECUTION}={mode!r} is not an execution mode; expected one of "
                + ", ".join(EXECUTION_MODES)
            )
        config.nb_execution_mode = mode
    config.course_execution_force = config.nb_execution_mode == "force"
    if config.course_execution_force and execution_jobs() > 1:
        config.nb_execution_mode = "cache"
    if config.nb_execution_mode != "cache":
        return
    base = Path(config.nb_execution_cache_path or "_build/.jupyter_cache")
    if not base.is_absolute():
        base = Path(app.confdir) / base
    config.nb_execution_cache_path = str(base)
    remove_old_caches(base)


# Earlier versions kept one jupyter-cache per hash of the whole library, in folders named
# lib-<16 hex digits> beside the cache. This version makes no such folder, so the clean-up
# only removes theirs. The folder that execute.cache names may be shared with the reader's
# own files (a lib-photos/), so a folder counts as an old cache only by its exact shape.
OLD_CACHE_NAME = re.compile(r"lib-[0-9a-f]{16}")
OLD_CACHE_NEEDS = {"global.db", "__version__.txt"}  # what jupyter-cache writes on creation
OLD_CACHE_MAY_HOLD = OLD_CACHE_NEEDS | {"executed", "global.db-journal"}


def is_old_cache(folder: Path) -> bool:
    """Whether ``folder`` is exactly a cache folder of an earlier version: its name, a real
    folder (not a link), jupyter-cache's two files, and nothing jupyter-cache did not write."""
    if not OLD_CACHE_NAME.fullmatch(folder.name) or folder.is_symlink() or not folder.is_dir():
        return False
    entries = {entry.name: entry for entry in folder.iterdir()}
    return (
        OLD_CACHE_NEEDS <= entries.keys() <= OLD_CACHE_MAY_HOLD
        and all(entries[name].is_file() for name in OLD_CACHE_NEEDS)
        and ("executed" not in entries or entries["executed"].is_dir())
    )


def remove_old_caches(base: Path) -> None:
    """Delete the old versions' cache folders in ``base``. Any other ``lib-*`` is left: in
    silence when its name is not an old cache's (``lib-photos``), with a log line when only
    its contents differ. Never fails the build (a log line, not a warning: the book builds
    with warnings as errors); a folder that cannot be removed is logged too."""
    for folder in sorted(base.glob("lib-*")):
        if not OLD_CACHE_NAME.fullmatch(folder.name):
            continue
        if not is_old_cache(folder):
            logger.info(
                f"[course_book] left {folder}: it is named like an old execution cache but is "
                "not one (a plain folder of jupyter-cache's files); delete it yourself if it is"
            )
            continue
        try:
            shutil.rmtree(folder)
        except OSError as err:
            logger.info(f"[course_book] could not remove the old execution cache {folder}: {err}")
        else:
            logger.info(f"[course_book] removed the old execution cache {folder}")


def page_code(path: Path) -> str:
    """The code cells of a notebook page (MyST markdown or .ipynb), joined."""
    notebook = jupytext.read(path)
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


def page_modules(graph: ModuleGraph, path: Path) -> set[str]:
    """The followed library modules a notebook page runs, directly or transitively."""
    return graph.closure(code_imports(page_code(path)))


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class PageKeys:
    """The dependency key of every notebook page, kept beside the execution cache.

    A page's key is a hash of the library modules it runs (its cells are already
    jupyter-cache's key). The Sphinx events, in the order a build emits them:

    - ``env-get-outdated``: pages whose key changed are read again;
    - ``env-before-read-docs``: those pages' cache records are removed, and the pages the
      cache cannot serve execute, several at a time (:mod:`course_book.parallel`);
    - ``env-updated``: pages served from the cache get their executed notebook
      written out, and every page read records its key and cache record.
    """

    def __init__(self) -> None:
        self.read: list[str] = []  # the pages read in this build
        self._graph: ModuleGraph | None = None
        self._keys: dict[str, str] = {}  # docname -> its key in this build

    @staticmethod
    def active(app: Sphinx) -> bool:
        return app.config.nb_execution_mode == "cache"

    def graph(self, app: Sphinx) -> ModuleGraph:
        if self._graph is None:
            self._graph = ModuleGraph(app.config.course_execution_dependencies)
        return self._graph

    def key(self, app: Sphinx, docname: str) -> str:
        """This build's key of a page: the hash of the library modules it runs."""
        if docname not in self._keys:
            graph = self.graph(app)
            modules = page_modules(graph, Path(app.env.doc2path(docname)))
            self._keys[docname] = graph.digest(modules)
        return self._keys[docname]

    @staticmethod
    def keys_path(app: Sphinx) -> Path:
        return Path(app.config.nb_execution_cache_path) / KEYS_FILE

    def stored(self, app: Sphinx) -> dict[str, dict]:
        path = self.keys_path(app)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def outdated(self, app: Sphinx, env: BuildEnvironment, added, changed, removed) -> list[str]:
        """Pages whose library code changed since their outputs were cached; forced, every
        notebook page."""
        if not self.active(app):
            return []
        stored = self.stored(app)
        force = app.config.course_execution_force
        again = []
        for docname in sorted(env.found_docs - set(added) - set(changed) - set(removed)):
            if not _is_notebook_page(app, docname):
                continue
            entry = stored.get(docname)
            if force or (entry is not None and entry["key"] != self.key(app, docname)):
                again.append(docname)
        if again:
            why = "execution forced" if force else "library code changed"
            logger.info(f"[course_book] {why} for: {', '.join(again)}")
        return again

    def before_read(self, app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
        """Remove the cache records of pages whose key changed, so that they execute."""
        self.read = list(docnames)
        if not self.active(app):
            return
        stored = self.stored(app)
        cache = get_cache(app.config.nb_execution_cache_path)
        for docname in docnames:
            entry = stored.get(docname)
            if entry is None or entry.get("record") is None:
                continue
            if entry["key"] != self.key(app, docname):
                with contextlib.suppress(KeyError):  # already gone (cache cleared)
                    cache.remove_cache(entry["record"])
        jobs = execution_jobs()
        if jobs > 1:
            force = app.config.course_execution_force
            run_pages(app, pending_pages(app, env, docnames, force), jobs)

    def after_read(self, app: Sphinx, env: BuildEnvironment) -> list[str]:
        """Publish cached outputs, and record each page's key and cache record."""
        if not self.active(app) or not self.read:
            return []
        stored = self.stored(app)
        cache = get_cache(app.config.nb_execution_cache_path)
        output_folder = Path(env.mystnb_config.output_folder)
        for docname in self.read:
            exec_data = NbMetadataCollector.get_exec_data(env, docname) or {}
            executed = output_folder.joinpath(*docname.split("/")).with_suffix(".ipynb")
            if not exec_data.get("succeeded") or not executed.is_file():
                stored.pop(docname, None)
                continue
            notebook = nbformat.read(executed, as_version=4)
            try:
                record = cache.match_cache_notebook(notebook)
            except KeyError:
                stored.pop(docname, None)
                continue
            if not _has_outputs(notebook):  # served from the cache: publish its outputs
                _, notebook = cache.merge_match_into_notebook(notebook)
                _write_atomically(executed, nbformat.writes(notebook))
            stored[docname] = {"key": self.key(app, docname), "record": record.pk}
        _write_atomically(self.keys_path(app), json.dumps(stored, indent=1, sort_keys=True))
        return []


def _has_outputs(notebook) -> bool:
    return any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def _is_notebook_page(app: Sphinx, docname: str) -> bool:
    return "kernelspec" in app.env.metadata.get(docname, {})


def notebook_docnames(env) -> list[str]:
    """Documents that myst-nb read as notebooks (they have a kernelspec)."""
    return sorted(
        docname
        for docname, metadata in env.metadata.items()
        if "kernelspec" in metadata and docname in env.all_docs
    )


def page_problems(env, docname: str, doctree: nodes.document) -> list[str]:
    """What is wrong with a notebook page's execution, as readable sentences."""
    problems = []
    exec_data = NbMetadataCollector.get_exec_data(env, docname)
    if not exec_data:
        problems.append("it was not executed (no execution data)")
    else:
        if not exec_data.get("succeeded"):
            problems.append(f"its execution failed ({exec_data.get('error')})")
        runtime = exec_data.get("runtime")
        if not runtime or runtime <= 0:
            problems.append(f"its recorded run time is {runtime!r}, not a real run")
    outputs = [
        node
        for node in doctree.findall(nodes.container)
        if "cell_output" in node.get("classes", []) and len(node.children) > 0
    ]
    if not outputs:
        problems.append("no code cell produced any output")
    if next(iter(doctree.findall(ProvenanceNode)), None) is None:
        problems.append(
            "it has no provenance report (end the chapter with the `provenance()` cell)"
        )
    return problems


def check_notebook_pages(app: Sphinx, env) -> None:
    """Fail the build if any notebook page did not really execute."""
    if env.config.nb_execution_mode == "off":
        return
    failures = []
    for docname in notebook_docnames(env):
        problems = page_problems(env, docname, env.get_doctree(docname))
        for problem in problems:
            logger.error(f"{docname}: {problem}", location=docname)
        if problems:
            failures.append(docname)
    if failures:
        raise NotebookCheckError(
            "notebook pages that did not execute as they claim: " + ", ".join(failures)
        )


def setup(app: Sphinx) -> dict:
    # The packages whose modules a page's key follows from its imports.
    app.add_config_value("course_execution_dependencies", ["course_utils"], "env", [list])
    # Set from COURSE_EXECUTION (configure_execution): every page read executes anew.
    app.add_config_value("course_execution_force", False, "", [bool])
    # After myst-nb and jupyter-book have set their config values.
    app.connect("config-inited", configure_execution, priority=900)
    keys = PageKeys()
    app.connect("env-get-outdated", keys.outdated)
    app.connect("env-before-read-docs", keys.before_read)
    app.connect("env-updated", keys.after_read)
    app.connect("env-check-consistency", check_notebook_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
