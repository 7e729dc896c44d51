"""Execution you can trust: a cache that notices the library, and checks that pages ran.

**The cache notices the library.** myst-nb's execution cache (jupyter-cache)
keys a notebook on its code cells only, so an edit to ``course_utils`` would
leave every page's outputs stale. Here the cache lives in a folder named by a
hash of the sources of the modules listed in ``course_execution_dependencies``
(``course_utils`` by default). The hash is also a config value, so when the
library changes Sphinx re-reads every page and each one executes again in the
fresh cache. ``COURSE_EXECUTION=force`` (CI, publishing) executes every page
regardless of any cache.

**Pages that claim to be notebooks really ran.** After reading, every notebook
page must have execution data that says it succeeded with a non-zero run time,
at least one cell output, and the provenance cell's report; otherwise the build
fails and names the page and what is missing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

from course_utils.sphinxext.provenance import ProvenanceNode

__all__ = ["NotebookCheckError", "check_notebook_pages", "library_hash", "setup"]

logger = logging.getLogger(__name__)
ENV_EXECUTION = "COURSE_EXECUTION"
EXECUTION_MODES = ("force", "cache", "auto", "off")


class NotebookCheckError(ExtensionError):
    """A notebook page did not execute as it claims to."""


def module_sources(name: str) -> list[Path]:
    """The source files of an importable module or package, sorted."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ExtensionError(f"course_execution_dependencies: cannot import {name!r}")
    if spec.submodule_search_locations:
        roots = [Path(p) for p in spec.submodule_search_locations]
        files = [p for root in roots for p in root.rglob("*") if p.is_file()]
        return sorted(p for p in files if "__pycache__" not in p.parts)
    return [Path(spec.origin)]


def library_hash(names: list[str]) -> str:
    """SHA-256 over the relative paths and contents of the named modules' sources."""
    digest = hashlib.sha256()
    for name in sorted(names):
        files = module_sources(name)
        root = files[0].parent if len(files) == 1 else Path(os.path.commonpath(files))
        for path in files:
            digest.update(f"{name}:{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def configure_execution(app: Sphinx, config: Config) -> None:
    """Apply ``COURSE_EXECUTION`` and key the execution cache on the library's hash."""
    mode = os.environ.get(ENV_EXECUTION, "").strip().lower()
    if mode:
        if mode not in EXECUTION_MODES:
            raise ExtensionError(
                f"{ENV_EXECUTION}={mode!r} is not an execution mode; expected one of "
                + ", ".join(EXECUTION_MODES)
            )
        config.nb_execution_mode = mode
    # A config value with rebuild="env": when it changes, Sphinx re-reads every page.
    config.course_library_hash = library_hash(list(config.course_execution_dependencies))
    if config.nb_execution_mode != "cache":
        return
    base = Path(config.nb_execution_cache_path or "_build/.jupyter_cache")
    if not base.is_absolute():
        base = Path(app.confdir) / base
    cache = base / f"lib-{config.course_library_hash[:16]}"
    config.nb_execution_cache_path = str(cache)
    # Caches made for older versions of the library can never be hit again.
    if base.is_dir():
        for stale in base.glob("lib-*"):
            if stale != cache and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)


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
    app.add_config_value("course_execution_dependencies", ["course_utils"], "env", [list])
    app.add_config_value("course_library_hash", "", "env", [str])
    # After myst-nb and jupyter-book have set their config values.
    app.connect("config-inited", configure_execution, priority=900)
    app.connect("env-check-consistency", check_notebook_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
