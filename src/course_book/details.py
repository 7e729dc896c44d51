"""Collapsed content: the ``details`` directive and the nodes behind it.

``<details>`` and ``<summary>`` in HTML, which the browser opens and closes without a
script; a container and a paragraph in every other builder. Used by the landing page's
list of lecture videos (``{details}`` in MyST) and by the provenance notice, whose facts
follow its one plain sentence collapsed (:mod:`course_book.provenance`)::

    :::{details} Lesson 1: Recognizing cats and dogs
    :class: cu-lesson
    Content, parsed as usual.
    :::
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

__all__ = ["DetailsDirective", "add_details_nodes", "details", "details_summary", "setup"]


class details(nodes.container):  # lower case, like docutils nodes
    """A collapsed ``<details>`` element in HTML (open with ``open=True``); a plain container
    in every other builder, which falls back to the ``container`` visitor."""


class details_summary(nodes.paragraph):
    """The ``<summary>`` line of a :class:`details`; a paragraph outside HTML."""


def _visit_details(self, node: details) -> None:
    attributes = {"open": "open"} if node.get("open") else {}
    self.body.append(self.starttag(node, "details", "", **attributes))


def _depart_details(self, node: details) -> None:
    self.body.append("</details>\n")


def _visit_details_summary(self, node: details_summary) -> None:
    self.body.append(self.starttag(node, "summary", ""))


def _depart_details_summary(self, node: details_summary) -> None:
    self.body.append("</summary>\n")


class DetailsDirective(SphinxDirective):
    """``{details} SUMMARY``: the content (MyST or reStructuredText) in a collapsed
    ``<details>`` element; ``:open:`` to show it open, ``:class:`` for its classes."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = {"open": directives.flag, "class": directives.class_option}

    def run(self) -> list[nodes.Node]:
        node = details(classes=self.options.get("class", []), open="open" in self.options)
        self.set_source_info(node)
        title, messages = self.state.inline_text(self.arguments[0], self.lineno)
        node += details_summary(self.arguments[0], "", *title)
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node, *messages]


def add_details_nodes(app: Sphinx) -> None:
    """Register :class:`details` and :class:`details_summary` (any number of times)."""
    app.add_node(details, override=True, html=(_visit_details, _depart_details))
    app.add_node(
        details_summary, override=True, html=(_visit_details_summary, _depart_details_summary)
    )


def setup(app: Sphinx) -> dict[str, Any]:
    add_details_nodes(app)
    app.add_directive("details", DetailsDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
