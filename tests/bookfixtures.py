"""Small books written into a temporary folder, built by the real tools."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

FRONT_MATTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

PROVENANCE_CELL = """
```{code-cell} ipython3
:tags: [remove-input]
from course_utils.provenance import provenance

provenance()
```
"""


def notebook_page(title: str, *cells: str, provenance: bool = True) -> str:
    """A MyST notebook page with the given code cells (and the provenance cell)."""
    body = [FRONT_MATTER, f"# {title}\n"]
    for cell in cells:
        body.append(f"\n```{{code-cell}} ipython3\n{textwrap.dedent(cell).strip()}\n```\n")
    if provenance:
        body.append(PROVENANCE_CELL)
    return "".join(body)


SPHINX_CONF = """\
extensions = ["myst_nb", "course_book"]
html_theme = "sphinx_book_theme"
html_theme_options = {{
    "repository_url": "https://github.com/example/course",
    "launch_buttons": {{
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
    }},
}}
exclude_patterns = ["_build", ".binder"]
nb_execution_mode = "cache"
nb_execution_raise_on_error = True
nb_execution_timeout = 120
{extra}
"""


def write_sphinx_book(root: Path, pages: dict[str, str], extra_conf: str = "") -> Path:
    """Write ``conf.py``, the pages (``index`` first in a toctree) and ``.binder``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "conf.py").write_text(SPHINX_CONF.format(extra=extra_conf))
    for name, text in pages.items():
        (root / f"{name}.md").write_text(text)
    binder = root / ".binder"
    binder.mkdir(exist_ok=True)
    (binder / "requirements.txt").write_text((REPO / ".binder" / "requirements.txt").read_text())
    return root


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    # CI exports COURSE_EXECUTION=force; the fixture books choose their own mode.
    full_env = {k: v for k, v in os.environ.items() if k != "COURSE_EXECUTION"}
    full_env.update(env or {})
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=600)


def sphinx_build(root: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``sphinx-build -W --keep-going -b html`` on a fixture book."""
    return run(
        [str(BIN / "sphinx-build"), "-W", "--keep-going", "-b", "html", ".", "_build/html"],
        cwd=root,
        env=env,
    )


def sphinx_warnings(stderr: str) -> list[str]:
    """Sphinx's warnings in a build's output (not the kernel's own log lines)."""
    return [
        line
        for line in stderr.splitlines()
        if "WARNING:" in line and not line.startswith("[IPKernelApp]")
    ]
