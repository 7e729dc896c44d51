"""Provenance of every executed page: where its outputs came from.

The last cell of each chapter calls :func:`course_utils.provenance.provenance`,
which displays a report with the mime type
``application/vnd.course-utils.provenance+json``: the profile, the device, the
versions and the data the kernel really used. This module renders that report
as two parts of the page:

- a notice under the page title, saying which profile and data produced the
  outputs (prominent in the quick profile, whose numbers are not the ones to
  publish);
- a footer with the profile, device, ``course_utils`` version and git commit,
  torch version, the page's run time (from myst-nb's execution data) and the
  build date.

The build facts (commit, date) come from the Sphinx process; the run facts from
the kernel itself.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from functools import cache
from pathlib import Path

from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.application import Sphinx

from course_utils.provenance import MIME_TYPE

__all__ = ["BuildInfo", "ProvenanceMimeRenderer", "ProvenanceNode", "build_info", "setup"]


class ProvenanceNode(nodes.General, nodes.Element):
    """Placeholder for a kernel's provenance report; ``report`` holds its JSON."""


class ProvenanceMimeRenderer:
    """myst-nb mime render plugin for the provenance report."""

    # Preferred over its text/plain fallback in every builder.
    mime_priority_overrides = [("*", MIME_TYPE, 1)]

    @staticmethod
    def handle_mime(renderer, data, inline: bool):
        if data.mime_type != MIME_TYPE:
            return None
        return [ProvenanceNode(report=dict(data.content))]


class BuildInfo:
    """Facts about the build itself, shared by every page."""

    def __init__(self, commit: str, dirty: bool, date: str):
        self.commit = commit
        self.dirty = dirty
        self.date = date

    @property
    def short_commit(self) -> str:
        return self.commit[:10]


@cache
def build_info(srcdir: str) -> BuildInfo:
    """The commit (``COURSE_COMMIT`` or ``git rev-parse HEAD``) and the build date (UTC)."""
    commit = os.environ.get("COURSE_COMMIT", "").strip()
    dirty = False
    if not commit:
        commit = _git(srcdir, "rev-parse", "HEAD") or "unknown"
        dirty = bool(_git(srcdir, "status", "--porcelain", "--untracked-files=no"))
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return BuildInfo(commit=commit, dirty=dirty, date=date)


def _git(cwd: str, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip()


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def describe_data(report: dict) -> str:
    sources = report.get("data") or []
    if not sources:
        return "no dataset"
    parts = []
    for source in sources:
        text = f"{source['name']} ({source['origin']}"
        if source.get("items") is not None:
            text += f", {_count(source['items'], 'item')}"
        text += ")"
        if source.get("stand_in_for"):
            text += f", standing in for {source['stand_in_for']}"
        parts.append(text)
    return "; ".join(parts)


def _notice(report: dict) -> nodes.container:
    notice = nodes.container(classes=["cu-provenance-notice"])
    profile = report.get("profile", "unknown")
    para = nodes.paragraph()
    para += nodes.strong(text=f"Outputs from the {profile} profile. ")
    device = report.get("device", "an unknown device")
    para += nodes.Text(
        f"Every output on this page was produced when the book was built, on {device}"
    )
    if profile == "quick":
        para += nodes.Text(", with small real data that runs anywhere offline.")
        stand_ins = [s["stand_in_for"] for s in report.get("data") or [] if s.get("stand_in_for")]
        if stand_ins:
            para += nodes.Text(
                " The full profile (GPU, canonical datasets) runs the same code on "
                + "; ".join(stand_ins)
                + "."
            )
    else:
        para += nodes.Text(".")
    notice += para
    data = nodes.paragraph()
    data += nodes.strong(text="Data: ")
    data += nodes.Text(describe_data(report) + ".")
    notice += data
    return notice


def _field(name: str, value: str) -> nodes.field:
    field = nodes.field()
    field += nodes.field_name(text=name)
    body = nodes.field_body()
    body += nodes.paragraph(text=value)
    field += body
    return field


def _footer(report: dict, runtime: float | None, info: BuildInfo) -> nodes.container:
    footer = nodes.container(classes=["cu-provenance"])
    footer += nodes.paragraph(text="Where these outputs came from", classes=["cu-provenance-title"])
    fields = nodes.field_list()
    commit = info.short_commit + (" (with uncommitted changes)" if info.dirty else "")
    runtime_text = f"{runtime:.1f} s" if runtime is not None else "unknown"
    for name, value in [
        ("Profile", f"{report.get('profile')} ({report.get('profile_description', '')})"),
        ("Device", str(report.get("device"))),
        ("Data", describe_data(report)),
        ("course_utils", f"{report.get('course_utils_version')} at commit {commit}"),
        ("torch", str(report.get("torch_version"))),
        ("Python", str(report.get("python_version"))),
        ("Page run time", runtime_text),
        ("Built", info.date),
    ]:
        fields += _field(name, value)
    footer += fields
    return footer


def render_provenance(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Replace the provenance placeholder with the footer, and add the notice on top."""
    placeholders = list(doctree.findall(ProvenanceNode))
    if not placeholders:
        return
    report = placeholders[-1]["report"]
    exec_data = NbMetadataCollector.get_exec_data(app.env, docname) or {}
    info = build_info(str(Path(app.srcdir)))
    for node in placeholders:
        node.replace_self(_footer(report, exec_data.get("runtime"), info))
    section = doctree.next_node(nodes.section)
    if section is not None and section.children and isinstance(section[0], nodes.title):
        section.insert(1, _notice(report))
    else:
        doctree.insert(0, _notice(report))


def setup(app: Sphinx) -> dict:
    app.add_node(ProvenanceNode)
    app.connect("doctree-resolved", render_provenance)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
