"""Provenance of every executed page: where its outputs came from.

The last cell of each chapter calls :func:`course_utils.provenance.provenance`,
which displays a report with the mime type
``application/vnd.course-utils.provenance+json``: the profile, the device, the
versions and the data the kernel really used. This module renders that report
as two parts of the page:

- a notice under the page title: one plain sentence for the reader, saying what
  the page ran on and what that means for its numbers
  (:func:`course_utils.provenance.summary`, from the recorded data sources), then
  the details (profile, device, each source's origin, versions) in a collapsed
  ``<details>`` element;
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

from course_book.details import add_details_nodes, details, details_summary
from course_utils.provenance import MIME_TYPE, summary

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


def _source_item(source: dict) -> nodes.list_item:
    """One data source for the details: its name, origin, size and what it stands in for."""
    text = f"{source['name']}: {source['origin']}"
    if source.get("items") is not None:
        text += f" ({_count(source['items'], 'item')})"
    if source.get("stand_in_for"):
        text += f"; the full profile uses {source['stand_in_for'].replace(' (full profile)', '')}"
    return nodes.list_item("", nodes.paragraph(text=text + "."))


def _notice(report: dict) -> nodes.container:
    """The plain sentence, then the details in a collapsed ``<details>`` element.

    HTML::

        div.cu-provenance-notice
          p.cu-provenance-summary                 (the sentence of provenance.summary)
          details.cu-provenance-details           (closed)
            summary, p (profile, device, when), p "Data:" + ul (one li per source), p (versions)
    """
    notice = nodes.container(classes=["cu-provenance-notice"])
    notice += nodes.paragraph(text=summary(report), classes=["cu-provenance-summary"])
    more = details(classes=["cu-provenance-details"])
    more += details_summary(text="Details: profile, device, data sources and versions")
    profile = report.get("profile", "unknown")
    facts = nodes.paragraph()
    facts += nodes.strong(text="Profile: ")
    facts += nodes.Text(f"{profile} ({report.get('profile_description', '')}). ")
    facts += nodes.strong(text="Device: ")
    facts += nodes.Text(
        f"{report.get('device', 'unknown')}. Every output on this page was produced when the "
        "book was built."
    )
    more += facts
    sources = report.get("data") or []
    data = nodes.paragraph()
    data += nodes.strong(text="Data: ")
    data += nodes.Text("" if sources else "none loaded.")
    more += data
    if sources:
        more += nodes.bullet_list("", *[_source_item(source) for source in sources])
    more += nodes.paragraph(
        text=f"course_utils {report.get('course_utils_version')}, torch "
        f"{report.get('torch_version')}, Python {report.get('python_version')}."
    )
    notice += more
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
    add_details_nodes(app)
    app.connect("doctree-resolved", render_provenance)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
