"""Which library code a page runs: its imports, followed through the library's modules.

A page's outputs depend on its code cells and on the sources of every library
module those cells import, directly or through other modules. This module
finds that set by reading the code (``ast``), never by importing it: resolving
``course_utils.viz.conv`` through Python's import system would import
``course_utils.viz`` and with it torch, and a no-change rebuild must stay fast.

What counts as "importing" a module, as Python does it:

- ``import a.b.c`` and ``from a.b.c import x`` run ``a``, ``a.b`` and ``a.b.c``
  (every parent package's ``__init__`` first);
- ``from a.b import c`` also runs ``a.b.c`` when ``c`` is a submodule;
- relative imports (``from .style import x``) are resolved against the module
  that contains them;
- imports under ``if TYPE_CHECKING:`` never run, so they don't count.

Only modules of the followed packages (``course_utils`` by default) are
followed; the standard library and third-party packages are pinned by
``requirements.txt``, not hashed here.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
from collections.abc import Iterable
from pathlib import Path

__all__ = ["ModuleGraph", "code_imports"]

# A line that IPython runs but Python cannot parse: magics (%time), shell escapes (!pip).
_IPYTHON_LINE = re.compile(r"^\s*[%!]")
# The fallback when a cell still does not parse: plain import statements, line by line.
_IMPORT_LINE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\s+(.+)|import\s+(.+))$")


def _imports_in_tree(tree: ast.AST, package: str | None = None) -> set[str]:
    """Absolute names of the modules (and possible submodules) a syntax tree imports.

    ``package`` is the package that relative imports are resolved against (the
    module's own package; the package itself for an ``__init__``).
    """
    names: set[str] = set()
    for node in _run_nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from . import x, from ..style import y
                if package is None:
                    continue
                parts = package.split(".")
                if node.level > 1:
                    parts = parts[: -(node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            # ``from a import b``: b may be a submodule of a (checked by the graph)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _run_nodes(tree: ast.AST):
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:``, which never run."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def code_imports(source: str) -> set[str]:
    """The modules a notebook cell (or any Python source) imports, by absolute name.

    IPython-only lines (magics, shell escapes) are skipped; a cell that still does
    not parse is read line by line for import statements.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        python_lines = ["" if _IPYTHON_LINE.match(line) else line for line in source.splitlines()]
        try:
            tree = ast.parse("\n".join(python_lines))
        except SyntaxError:
            return _imports_by_line(source)
    return _imports_in_tree(tree)


def _imports_by_line(source: str) -> set[str]:
    names: set[str] = set()
    for line in source.splitlines():
        match = _IMPORT_LINE.match(line.split("#")[0].rstrip())
        if not match:
            continue
        module, imported, plain = match.groups()
        if plain:
            names.update(part.split(" as ")[0].strip() for part in plain.split(","))
        else:
            names.add(module)
            for part in imported.strip("() ").split(","):
                name = part.split(" as ")[0].strip()
                if name and name != "*":
                    names.add(f"{module}.{name}")
    return names


class ModuleGraph:
    """The import graph of some packages' modules, read from their source files.

    ``roots`` are the top-level packages to follow (``["course_utils"]``); each
    is located once (``importlib.util.find_spec`` of a top-level name runs no
    code of it) and its modules are then mapped to files by their dotted names.
    """

    def __init__(self, roots: Iterable[str]):
        self.roots: dict[str, Path] = {}
        for name in roots:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None:
                raise ModuleNotFoundError(f"cannot find the package {name!r} to follow")
            if spec.submodule_search_locations:
                self.roots[name] = Path(next(iter(spec.submodule_search_locations)))
            else:  # a single-file module
                self.roots[name] = Path(spec.origin)
        self._direct: dict[str, frozenset[str]] = {}  # module -> its direct imports

    def path(self, module: str) -> Path | None:
        """The source file of a followed module, or None (not followed, or no such module)."""
        top, _, rest = module.partition(".")
        root = self.roots.get(top)
        if root is None:
            return None
        if root.is_file():
            return root if not rest else None
        base = root.joinpath(*rest.split(".")) if rest else root
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    def direct_imports(self, module: str) -> frozenset[str]:
        """The followed modules that running ``module`` runs directly, parents included.

        Read once per graph: a graph lives for one build, during which sources don't change.
        """
        if module not in self._direct:
            path = self.path(module)
            found: set[str] = set()
            if path is not None:
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                tree = ast.parse(path.read_bytes(), filename=str(path))
                found = self._with_parents(_imports_in_tree(tree, package))
            self._direct[module] = frozenset(found - {module})
        return self._direct[module]

    def _with_parents(self, names: Iterable[str]) -> set[str]:
        """The names that are followed modules, each with its parent packages."""
        found: set[str] = set()
        for name in names:
            if self.path(name) is None:
                continue
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        return found

    def closure(self, names: Iterable[str]) -> set[str]:
        """Every followed module that importing ``names`` runs, directly or transitively."""
        seen: set[str] = set()
        todo = list(self._with_parents(names))
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            todo.extend(self.direct_imports(module) - seen)
        return seen

    def digest(self, modules: Iterable[str]) -> str:
        """SHA-256 over the names and source bytes of ``modules`` (sorted)."""
        sha = hashlib.sha256()
        for module in sorted(modules):
            path = self.path(module)
            sha.update(module.encode() + b"\0")
            sha.update(path.read_bytes() if path is not None else b"")
            sha.update(b"\0")
        return sha.hexdigest()
