"""One source of truth for versions: requirements.txt.

requirements.txt pins the exact version of every package the book is built and tested with.
Every other file that names a version agrees with it:

- requirements.lock, which publish.yml installs with ``--require-hashes``: the same versions,
  every transitive package pinned too, each with the hashes of its files;
- .binder/requirements.txt: the same versions (torch and torchvision as the ``+cpu`` builds
  that only PyTorch's CPU index serves);
- the lower bounds of the two pyproject.toml files: they admit the pinned versions;
- .pre-commit-config.yaml: ruff at requirements.txt's version, and every hook fetched from
  GitHub pinned by commit.

Each check returns the problems it finds, as sentences, and is also run on a bad file, so
that a check that silently stopped checking fails here too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from helpers import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REQUIREMENTS = REPO / "requirements.txt"
LOCK = REPO / "requirements.lock"
BINDER = REPO / ".binder" / "requirements.txt"
PYPROJECTS = [REPO / "pyproject.toml", REPO / "src" / "course_book" / "pyproject.toml"]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CPU_BUILDS = {"torch", "torchvision"}  # from PyTorch's CPU index, in Binder
HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


def logical_lines(text: str) -> list[str]:
    """A requirements file's lines, as pip reads them: a line ending in a backslash goes on
    on the next one (a comment line never does), and comments are dropped."""
    lines, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        current += " " + line.removesuffix("\\")
        if not line.endswith("\\"):
            lines.append(re.sub(r"(^|\s)#.*$", "", current).strip())
            current = ""
    lines.append(current.strip())
    return [line for line in lines if line]


def parse(text: str) -> tuple[dict[str, tuple[Requirement, list[str]]], list[str]]:
    """{canonical name: (requirement, its hashes)} and the option lines (--extra-index-url ...)."""
    requirements, options = {}, []
    for line in logical_lines(text):
        if line.startswith("-"):
            options.append(line)
            continue
        spec, *hashes = re.split(r"\s+--hash=", line)
        requirement = Requirement(spec)
        requirements[canonicalize_name(requirement.name)] = (requirement, hashes)
    return requirements, options


def pinned(requirement: Requirement) -> Version | None:
    """The version an exact pin (`==X`) names; None for anything else."""
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
        return None
    return Version(specifiers[0].version)


def pins(text: str) -> dict[str, Version]:
    return {name: pinned(req) for name, (req, _) in parse(text)[0].items()}


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# The checks


def requirements_problems(text: str) -> list[str]:
    """Every package pinned exactly, for every platform; no index or option lines."""
    requirements, options = parse(text)
    problems = [f"requirements.txt: option line {option!r}" for option in options]
    for requirement, _ in requirements.values():
        if pinned(requirement) is None or requirement.marker or requirement.url:
            problems.append(f"requirements.txt: {requirement} is not an exact pin")
    return problems


def lock_problems(lock_text: str, source: dict[str, Version]) -> list[str]:
    """Every package pinned with sha256 hashes, and requirements.txt's pins unchanged."""
    requirements, options = parse(lock_text)
    problems = [f"requirements.lock: option line {option!r}" for option in options]
    for name, (requirement, hashes) in requirements.items():
        if pinned(requirement) is None or requirement.url:
            problems.append(f"requirements.lock: {requirement} is not an exact pin")
        if not hashes or not all(HASH.match(h) for h in hashes):
            problems.append(f"requirements.lock: {name} has no sha256 hashes")
    for name, version in source.items():
        locked = pinned(requirements[name][0]) if name in requirements else None
        if locked != version:
            problems.append(
                f"requirements.lock pins {name} at {locked}, requirements.txt at {version}: "
                "run pip-compile again (see requirements.txt)"
            )
    return problems


def binder_problems(binder_text: str, source: dict[str, Version]) -> list[str]:
    """requirements.txt's versions; torch and torchvision the `+cpu` builds from the CPU index."""
    requirements, options = parse(binder_text)
    problems = []
    # PyPI stays the index (it has everything); the CPU index is an extra one, over https.
    if options != [f"--extra-index-url {CPU_INDEX}"]:
        problems.append(f".binder: index options {options}, not --extra-index-url {CPU_INDEX}")
    for name, (requirement, _) in requirements.items():
        version = pinned(requirement)
        if version is None:
            problems.append(f".binder: {requirement} is not an exact pin")
            continue
        if name not in source:
            problems.append(f".binder: {name} is not in requirements.txt")
        elif version.public != source[name].public:
            problems.append(f".binder pins {name} at {version}, requirements.txt at {source[name]}")
        # A `+cpu` local version is served by PyTorch's index alone: PyPI takes none.
        want = "cpu" if name in CPU_BUILDS else None
        if version.local != want:
            problems.append(f".binder: {name}=={version} has local version {version.local!r}")
    for name in CPU_BUILDS - requirements.keys():
        problems.append(f".binder: {name} is missing")
    return problems


def pyproject_problems(dependencies: list[str], source: dict[str, Version]) -> list[str]:
    """Each dependency's bounds admit the version requirements.txt (or the lock) pins."""
    problems = []
    for line in dependencies:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name == "course-utils":
            continue  # the project itself
        if name not in source:
            problems.append(f"pyproject: {name} is pinned neither in requirements.txt nor the lock")
        elif not requirement.specifier.contains(source[name], prereleases=True):
            problems.append(f"pyproject: {requirement} does not admit the pinned {source[name]}")
    return problems


# ---------------------------------------------------------------------------
# The repository's files pass them


def test_requirements_txt_pins_every_package_exactly():
    assert requirements_problems(read(REQUIREMENTS)) == []


def test_the_lock_pins_every_package_with_hashes_and_agrees_with_requirements_txt():
    assert lock_problems(read(LOCK), pins(read(REQUIREMENTS))) == []
    # The lock is pip-compile's, with hashes, for the Python the runner has.
    header = read(LOCK)[:1000]
    assert "pip-compile with Python 3.11" in header
    assert "--generate-hashes" in header and "--allow-unsafe" in header
    # setuptools too (torch and spacy require it at run time): the install uses --no-deps.
    assert "setuptools" in pins(read(LOCK))


def test_binder_pins_requirements_txts_versions_and_cpu_builds():
    assert binder_problems(read(BINDER), pins(read(REQUIREMENTS))) == []


def test_binder_and_ci_take_torch_from_the_same_cpu_index():
    ci = yaml.safe_load(read(REPO / ".github" / "workflows" / "ci.yml"))
    assert ci["env"]["TORCH_INDEX_URL"] == CPU_INDEX


def test_pyproject_lower_bounds_admit_the_pinned_versions():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later
    source = {**pins(read(LOCK)), **pins(read(REQUIREMENTS))}
    for path in PYPROJECTS:
        dependencies = tomllib.loads(read(path))["project"]["dependencies"]
        assert dependencies, path
        assert pyproject_problems(dependencies, source) == [], path


def test_pre_commit_hooks_are_pinned_and_ruff_is_requirements_txts():
    text = read(REPO / ".pre-commit-config.yaml")
    config = yaml.safe_load(text)
    ruff = pins(read(REQUIREMENTS))["ruff"]
    for repo in config["repos"]:
        if repo["repo"] == "local":
            for hook in repo["hooks"]:
                assert hook["language"] == "python", hook["id"]
                assert hook["additional_dependencies"] == [f"ruff=={ruff}"], hook["id"]
            continue
        # A commit, not a tag (a tag can be moved), with the tag it was in a comment.
        assert re.fullmatch(r"[0-9a-f]{40}", repo["rev"]), repo["repo"]
        assert f"rev: {repo['rev']} # frozen: v" in text, repo["repo"]
    assert {hook["id"] for repo in config["repos"] for hook in repo["hooks"]} >= {
        "ruff-check",
        "ruff-format",
        "codespell",
    }


# ---------------------------------------------------------------------------
# Each check bites


SOURCE = {"torch": Version("2.14.1"), "numpy": Version("2.4.6")}


@pytest.mark.parametrize(
    "text",
    [
        "numpy>=2.4\n",
        "numpy==2.*\n",
        "numpy==2.4.6 ; sys_platform == 'linux'\n",
        "--index-url https://example.org/simple\nnumpy==2.4.6\n",
    ],
)
def test_requirements_check_refuses(text):
    assert requirements_problems(text)


@pytest.mark.parametrize(
    "text",
    [
        "numpy==2.4.6 \\\n    --hash=sha256:" + "a" * 64 + "\n",  # torch missing
        "torch==2.14.0 --hash=sha256:" + "a" * 64 + "\nnumpy==2.4.6 --hash=sha256:" + "b" * 64,
        "torch==2.14.1\nnumpy==2.4.6 --hash=sha256:" + "b" * 64,  # torch without a hash
        "torch==2.14.1 --hash=md5:abc\nnumpy==2.4.6 --hash=sha256:" + "b" * 64,
        "torch>=2.14.1 --hash=sha256:" + "a" * 64 + "\nnumpy==2.4.6 --hash=sha256:" + "b" * 64,
    ],
)
def test_lock_check_refuses(text):
    assert lock_problems(text, SOURCE)


GOOD_BINDER = f"--extra-index-url {CPU_INDEX}\ntorch==2.14.1+cpu\ntorchvision==0.29.1+cpu\n"


def test_binder_check_passes_a_good_file():
    assert binder_problems(GOOD_BINDER, {**SOURCE, "torchvision": Version("0.29.1")}) == []


@pytest.mark.parametrize(
    "text",
    [
        # torch without +cpu: a same-named torch on PyPI would do.
        GOOD_BINDER.replace("torch==2.14.1+cpu", "torch==2.14.1"),
        GOOD_BINDER.replace("torch==2.14.1+cpu", "torch==2.14.0+cpu"),
        GOOD_BINDER.replace("torch==2.14.1+cpu", "torch>=2.14.1"),
        GOOD_BINDER.replace("--extra-index-url", "--index-url"),
        GOOD_BINDER.replace(CPU_INDEX, "http://download.pytorch.org/whl/cpu"),
        GOOD_BINDER + "--extra-index-url https://example.org/simple\n",
        GOOD_BINDER + "numpy==2.4.5\n",
        GOOD_BINDER + "numpy==2.4.6+cpu\n",
        GOOD_BINDER + "requests==2.34.2\n",  # not in requirements.txt
        GOOD_BINDER.replace("torchvision==0.29.1+cpu\n", ""),
    ],
)
def test_binder_check_refuses(text):
    assert binder_problems(text, {**SOURCE, "torchvision": Version("0.29.1")})


@pytest.mark.parametrize("line", ["numpy>=2.5", "numpy<2", "scipy>=1"])
def test_pyproject_check_refuses(line):
    assert pyproject_problems([line], SOURCE)
