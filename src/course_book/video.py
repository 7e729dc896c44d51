"""The ``video`` directive: a lecture video with links to labelled moments.

Used on the landing page (``book/index.md``) and in chapters, from MyST::

    ```{video} IPBSB1HLNLo
    :title: Lesson 1 — Recognizing cats and dogs
    2:11 The top-down approach to study
    1:02:11 Non-linearity and stochastic gradient descent
    ```

The argument is the YouTube video id. ``:title:`` defaults to the lesson's title
when :mod:`course_book.outline` knows the video. Each content line is
``TIMESTAMP LABEL``, the timestamp in any form :func:`~course_book.outline.parse_timestamp`
reads (``1:02:11``, ``2:11``, ``3731``, ``1h2m11s``).

The output is progressive enhancement. Every builder gets ordinary nodes: a
container (class ``cu-video``) with the title and a list of plain
``https://youtu.be/ID?t=SECONDS`` links. HTML builders also get a player
placeholder: a locally drawn poster button that loads nothing. Only a click
(``static/course_video.js``) replaces it with a ``youtube-nocookie.com`` iframe;
a click on a timestamp link starts the player there. Other builders get the
link to the whole video in place of the placeholder.

The HTML, which the script and the browser tests rely on::

    div.cu-video
      p.cu-video-title                      (visually hidden; the poster shows the title)
      div.cu-video-player[data-cu-video][data-cu-title][data-cu-start]
        button.cu-video-poster[data-cu-video][data-cu-title][data-cu-start]
          svg.cu-video-play, span.cu-video-poster-title, span.cu-video-note
      ul.cu-video-moments
        li > p > a.cu-video-moment[href=https://youtu.be/ID?t=S][data-cu-video][data-cu-start]
                   span.cu-video-time, then the label

``data-cu-start`` of the player is the first moment's start (0 without moments).
After a click the script puts an ``iframe`` in ``div.cu-video-player`` (class
``cu-video-playing``) and marks the chosen link ``a.cu-video-active``
(``aria-current="true"``).
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective
from sphinx.writers.html5 import HTML5Translator

from course_book.common import add_static_dir
from course_book.outline import format_timestamp, lesson_for_video, parse_timestamp, video_url

__all__ = ["VideoDirective", "setup", "video_link", "video_player"]

VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
NOTE = "Plays from youtube-nocookie.com; nothing loads until you click"

# Inline SVG for the play icon, drawn here so that the poster fetches nothing.
_PLAY_ICON = (
    '<svg class="cu-video-play" viewBox="0 0 64 64" width="64" height="64" '
    'aria-hidden="true" focusable="false">'
    '<circle cx="32" cy="32" r="31" class="cu-video-play-disc"/>'
    '<path d="M25 19 L47 32 L25 45 Z" class="cu-video-play-arrow"/>'
    "</svg>"
)


class video_player(nodes.General, nodes.Element):  # lower case, like docutils nodes
    """The HTML-only placeholder for the player; attributes ``video_id``, ``title``, ``start``."""


class video_link(nodes.reference):
    """A link to a moment of a video; attributes ``video_id``, ``start``, ``label``.

    A subclass of ``reference``, so a builder that knows nothing of it still
    renders a link.
    """


class VideoDirective(SphinxDirective):
    """``{video} VIDEO_ID`` with ``:title:`` and one ``TIMESTAMP LABEL`` per content line."""

    required_arguments = 1
    optional_arguments = 0
    final_argument_whitespace = False
    has_content = True
    option_spec = {
        "title": directives.unchanged_required,
        "name": directives.unchanged,
        "class": directives.class_option,
    }

    def run(self) -> list[nodes.Node]:
        video_id = self.arguments[0]
        if not VIDEO_ID.fullmatch(video_id):
            raise self.error(
                f"video: {video_id!r} is not a YouTube video id "
                "(11 characters from A-Z, a-z, 0-9, '_' and '-')"
            )
        title = self.options.get("title")
        if title is None:
            lesson = lesson_for_video(video_id)
            if lesson is None:
                raise self.error(
                    f"video: {video_id!r} is not a lecture video of the course outline, "
                    "so it needs a :title: option"
                )
            title = lesson.heading

        moments, problems = self._read_moments()

        container = nodes.container(classes=["cu-video", *self.options.get("class", [])])
        self.set_source_info(container)
        self.add_name(container)
        container += nodes.paragraph("", "", nodes.strong(title, title), classes=["cu-video-title"])
        start = moments[0][0] if moments else 0
        container += video_player(video_id=video_id, title=title, start=start)
        if moments:
            items = nodes.bullet_list(classes=["cu-video-moments"])
            for seconds, label in moments:
                clock = format_timestamp(seconds)
                link = video_link(
                    "",
                    "",
                    nodes.inline(clock, clock, classes=["cu-video-time"]),
                    nodes.Text(f" {label}"),
                    refuri=video_url(video_id, seconds),
                    classes=["cu-video-moment"],
                    video_id=video_id,
                    start=seconds,
                    label=label,
                )
                items += nodes.list_item("", nodes.paragraph("", "", link))
            container += items
        return [*problems, container]

    def _read_moments(self) -> tuple[list[tuple[int, str]], list[nodes.system_message]]:
        """The ``(seconds, label)`` pairs of the content, and an error for each bad line."""
        moments: list[tuple[int, str]] = []
        problems: list[nodes.system_message] = []
        for index, line in enumerate(self.content):
            if not line.strip():
                continue
            lineno = self._line_number(index)
            timestamp, _, label = line.strip().partition(" ")
            label = label.strip()
            try:
                seconds = parse_timestamp(timestamp)
                if not label:
                    raise ValueError(f"the timestamp {timestamp!r} has no label after it")
            except ValueError as error:
                problems.append(
                    self.reporter.error(
                        f"video: cannot read the line {line.strip()!r}: {error}. "
                        "Each line is 'TIMESTAMP LABEL', e.g. '1:02:11 Non-linearity'.",
                        line=lineno,
                    )
                )
                continue
            moments.append((seconds, label))
        return moments, problems

    def _line_number(self, index: int) -> int:
        """The line of the file that holds content line ``index``.

        MyST counts ``content_offset`` from the directive's first line; docutils'
        reStructuredText parser counts it from the top of the file (0-based).
        """
        if type(self.state).__module__.startswith("myst_parser"):
            return self.lineno + self.content_offset + index + 1
        return self.content_offset + index + 1


# --- HTML --------------------------------------------------------------------


def visit_video_player_html(self: HTML5Translator, node: video_player) -> None:
    """The poster: a button that draws the title, a play icon and the privacy note."""
    data = {
        "data-cu-video": node["video_id"],
        "data-cu-title": node["title"],
        "data-cu-start": str(node["start"]),
    }
    self.body.append(self.starttag(node, "div", "", CLASS="cu-video-player", **data))
    self.body.append(
        self.starttag(node, "button", "", type="button", CLASS="cu-video-poster", **data)
    )
    self.body.append(_PLAY_ICON)
    self.body.append(
        '<span class="cu-video-poster-title">'
        f'<span class="cu-video-sr">Play video: </span>{self.encode(node["title"])}</span>'
        f'<span class="cu-video-note">{self.encode(NOTE)}</span>'
        "</button></div>\n"
    )
    raise nodes.SkipNode


def visit_video_link_html(self: HTML5Translator, node: video_link) -> None:
    self.body.append(
        self.starttag(
            node,
            "a",
            "",
            href=node["refuri"],
            CLASS="reference external",
            **{"data-cu-video": node["video_id"], "data-cu-start": str(node["start"])},
        )
    )


def depart_video_link_html(self: HTML5Translator, node: video_link) -> None:
    self.body.append("</a>")


# --- every other builder ---------------------------------------------------------


class PlainVideoLinks(SphinxPostTransform):
    """Outside HTML: the placeholder becomes a link to the video, moments plain links.

    A moment reads ``2:11 The top-down approach: https://youtu.be/ID?t=131``, so that
    the address survives in text, man pages and print.
    """

    default_priority = 200

    def run(self, **kwargs: Any) -> None:
        if self.app.builder.format == "html":
            return
        for player in list(self.document.findall(video_player)):
            url = video_url(player["video_id"])
            player.replace_self(
                nodes.paragraph(
                    "", "", nodes.Text("Video: "), nodes.reference(url, url, refuri=url)
                )
            )
        for link in list(self.document.findall(video_link)):
            url = link["refuri"]
            text = f"{format_timestamp(link['start'])} {link['label']}: "
            address = nodes.reference(url, url, refuri=url, classes=link["classes"])
            index = link.parent.index(link)
            link.parent[index : index + 1] = [nodes.Text(text), address]


# --- registration ------------------------------------------------------------------


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive, its nodes and its static files.

    Usable on its own (``extensions = ["course_book.video"]``) or through
    :mod:`course_book`, which ignores the returned metadata.
    """
    app.add_directive("video", VideoDirective)
    app.add_node(video_player, html=(visit_video_player_html, None))
    app.add_node(video_link, html=(visit_video_link_html, depart_video_link_html))
    app.add_post_transform(PlainVideoLinks)
    app.add_css_file("course_video.css")
    app.add_js_file("course_video.js", loading_method="defer")
    add_static_dir(app)  # static/, shipped as package data
    return {"parallel_read_safe": True, "parallel_write_safe": True}
