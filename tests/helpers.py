"""What the tests share: the repository's root, small seeded problems and the Learners built on
them, and small Sphinx books written into a temporary folder and built by the real tools.

Plain functions and constants, imported by name (``from helpers import REPO``); the pytest
fixtures live in ``conftest.py``, which imports this module: so torch and course_utils are
imported only by the builders that need them, and the tests of the book and the site do without.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

    from course_utils.data import DataLoaders
    from course_utils.learner import Learner

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# --- small seeded problems ----------------------------------------------------------------------
# Each data builder draws from a generator of its own, never from torch's global one: building
# the data before or after torch.manual_seed gives the same tensors.


def blobs(n: int = 240, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three Gaussian blobs in 6 dimensions: a separable 3-class problem, x (n, 6) and y (n,)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centres = torch.randn(3, 6, generator=g) * 3
    x = centres[y] + torch.randn(n, 6, generator=g)
    return x, y


def blob_dls(n: int = 240, bs: int = 32, seed: int = 0, test: bool = False) -> DataLoaders:
    """:func:`blobs` split 3:1, in order (no shuffling): 180 training rows (6 batches of 32),
    60 validation rows, classes a, b, c; with ``test``, the validation inputs again as an
    unlabelled test set."""
    from torch.utils.data import DataLoader, TensorDataset

    from course_utils.data import DataLoaders

    x, y = blobs(n, seed)
    cut = n * 3 // 4
    return DataLoaders(
        DataLoader(TensorDataset(x[:cut], y[:cut]), batch_size=bs),
        DataLoader(TensorDataset(x[cut:], y[cut:]), batch_size=bs),
        test_dl=DataLoader(TensorDataset(x[cut:]), batch_size=bs) if test else None,
        classes=["a", "b", "c"],
    )


def two_class_dls(n_train: int = 40, n_valid: int = 20, bs: int = 16, seed: int = 0) -> DataLoaders:
    """Two linearly separable classes in 5 dimensions (``x0 + x1 > 0``), in order; no classes."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from course_utils.data import DataLoaders

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_train + n_valid, 5, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    train = TensorDataset(x[:n_train], y[:n_train])
    valid = TensorDataset(x[n_train:], y[n_train:])
    return DataLoaders(DataLoader(train, batch_size=bs), DataLoader(valid, batch_size=bs))


def digits_dls(bs: int = 64) -> DataLoaders:
    """The 8x8 digits of course_utils.datasets.digits as 64 features: 1,438 training rows,
    shuffled by a generator seeded with 0 (23 batches of 64), and 359 validation rows."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from course_utils.data import DataLoaders
    from course_utils.datasets.digits import load_digits

    x_train, y_train, x_valid, y_valid = load_digits().as_tensors()
    g = torch.Generator().manual_seed(0)
    return DataLoaders(
        DataLoader(TensorDataset(x_train, y_train), batch_size=bs, shuffle=True, generator=g),
        DataLoader(TensorDataset(x_valid, y_valid), batch_size=256),
    )


def digits_mlp() -> nn.Sequential:
    """64 -> 32 (BatchNorm, ReLU) -> 10, for :func:`digits_dls`."""
    from torch import nn

    return nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10))


def regression_data(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """32 rows of float64 noise to fit: x (32, 5) and y (32, 3), for :func:`regression_mlp`."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(32, 5, generator=g, dtype=torch.float64)
    y = torch.randn(32, 3, generator=g, dtype=torch.float64)
    return x, y


def regression_mlp(seed: int = 0) -> nn.Sequential:
    """A small float64 MLP, Linear(5, 8) -> Tanh -> Linear(8, 3), its weights drawn after
    ``torch.manual_seed(seed)`` (which it leaves set)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()


@functools.cache
def _grouped_mlp_class() -> type[nn.Module]:
    from torch import nn

    class GroupedMLP(nn.Module):
        def __init__(self, mid: bool, body_bias: bool) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Linear(6, 16, bias=body_bias), nn.BatchNorm1d(16), nn.ReLU()
            )
            self.mid = nn.Sequential(nn.Linear(16, 16), nn.ReLU()) if mid else None
            self.head = nn.Linear(16, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 6)
            x = self.body(x)
            if self.mid is not None:
                x = self.mid(x)
            return self.head(x)  # (B, 3)

        def layer_groups(self) -> list[nn.Module]:
            return [g for g in (self.body, self.mid, self.head) if g is not None]

    return GroupedMLP


def grouped_mlp(*, mid: bool = True, body_bias: bool = True) -> nn.Module:
    """An MLP for :func:`blob_dls` in layer groups: ``body`` (Linear(6, 16), BatchNorm, ReLU),
    ``mid`` (Linear(16, 16), ReLU; none with ``mid=False``), ``head`` (Linear(16, 3)).
    ``body_bias=False`` drops the bias before the BatchNorm: its gradient is only rounding
    noise, which Adam amplifies to full-size steps. Its weights come from torch's global RNG."""
    return _grouped_mlp_class()(mid=mid, body_bias=body_bias)


def make_learner(
    dls: DataLoaders | None = None,
    model: nn.Module | Callable[[], nn.Module] | None = None,
    **kwargs,
) -> Learner:
    """A quiet CPU Learner (``verbose=False, device="cpu"`` unless given), torch seeded with 0.

    ``dls`` defaults to :func:`blob_dls`, ``model`` to :func:`grouped_mlp`. A model given as a
    factory (a class, a function) is built after the seeding, so its weights are the same every
    time; a module keeps the weights it was built with.
    """
    import torch
    from torch import nn

    from course_utils.learner import Learner

    torch.manual_seed(0)
    dls = blob_dls() if dls is None else dls
    model = grouped_mlp if model is None else model
    if not isinstance(model, nn.Module):
        model = model()
    kwargs = {"verbose": False, "device": "cpu", **kwargs}
    return Learner(dls, model, **kwargs)


# --- fixture books --------------------------------------------------------------------------------

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


# A book of notebook pages, executed, with the course's theme and launch buttons.
NOTEBOOK_EXTENSIONS = ("myst_nb", "course_book")
NOTEBOOK_CONF = """\
html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": "https://github.com/example/course",
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
    },
}
exclude_patterns = ["_build", ".binder"]
nb_execution_mode = "cache"
nb_execution_raise_on_error = True
nb_execution_timeout = 120
"""

# A book of MyST pages, nothing executed, Sphinx's default theme.
MYST_CONF = """\
project = "course"
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath", "deflist"]
"""


def write_sphinx_book(
    root: Path,
    pages: dict[str, str],
    extra_conf: str = "",
    *,
    extensions: Sequence[str] = NOTEBOOK_EXTENSIONS,
    conf: str = NOTEBOOK_CONF,
) -> Path:
    """Write ``conf.py`` (``extensions``, then ``conf``, then ``extra_conf``) and the pages
    (name -> MyST text; a name may hold a folder: ``section1/numpy``). A book that loads the
    whole ``course_book`` extension also gets the repository's ``.binder/requirements.txt``,
    which the launch notebooks copy. Returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    conf_py = f"extensions = {list(extensions)!r}\n{conf}{extra_conf}\n"
    (root / "conf.py").write_text(conf_py, encoding="utf-8")
    for name, text in pages.items():
        page = root / f"{name}.md"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(text, encoding="utf-8")
    if "course_book" in extensions:
        binder = root / ".binder"
        binder.mkdir(exist_ok=True)
        requirements = (REPO / ".binder" / "requirements.txt").read_text(encoding="utf-8")
        (binder / "requirements.txt").write_text(requirements, encoding="utf-8")
    return root


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``cmd`` in ``cwd``, its output captured; the environment without COURSE_EXECUTION
    (CI exports ``force``; the fixture books choose their own mode), plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if k != "COURSE_EXECUTION"}
    full_env.update(env or {})
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=600)


def sphinx_warnings(stderr: str) -> list[str]:
    """Sphinx's warnings and errors in a build's output (not the kernel's own log lines)."""
    return [
        line
        for line in stderr.splitlines()
        if any(f"{level}:" in line for level in ("WARNING", "ERROR", "CRITICAL"))
        and not line.startswith("[IPKernelApp]")
    ]


@dataclass(frozen=True)
class SphinxBuild:
    """What :func:`sphinx_build` did: its exit status, its output, the folder it wrote."""

    returncode: int
    stdout: str
    stderr: str
    outdir: Path

    @property
    def warnings(self) -> list[str]:
        return sphinx_warnings(self.stderr)


def sphinx_build(
    root: Path,
    env: dict | None = None,
    *,
    builder: str = "html",
    jobs: int | None = None,
    nitpicky: bool = False,
) -> SphinxBuild:
    """``sphinx-build -W --keep-going -b BUILDER . _build/BUILDER`` on a fixture book, in a
    process of its own (as the book is built: notebooks run in kernels of their own), with
    ``-j JOBS`` and ``-n`` when asked. Under ``-W`` a build with warnings exits with 1, and
    ``--keep-going`` still writes every page."""
    cmd = [str(BIN / "sphinx-build"), "-W", "--keep-going", "--no-color", "-b", builder]
    if jobs is not None:
        cmd += ["-j", str(jobs)]
    if nitpicky:
        cmd.append("-n")
    outdir = Path("_build") / builder
    result = run([*cmd, ".", str(outdir)], cwd=root, env=env)
    return SphinxBuild(result.returncode, result.stdout, result.stderr, root / outdir)


def load_benchmark(name: str):
    """The script ``benchmarks/<name>.py`` as a module (benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LAZY_SCRIPTS = re.compile(r"window\.cuLazyScripts = (\[.*?\]);")


def lazy_scripts(html: str) -> list[dict]:
    """The scripts a built page hands to its lazy loader (course_book.page_assets):
    ``[{"src", "id", "selector", "first"}, ...]``; empty for a page without one."""
    match = LAZY_SCRIPTS.search(html)
    return json.loads(match.group(1)) if match else []
