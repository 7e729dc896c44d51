"""Fewer requests per page: the site's stylesheets and scripts joined into bundles.

A chapter's ``<head>`` lists ten stylesheets (the theme's two, with ``basic.css`` behind an
``@import``, then one per extension) and a dozen scripts, each a request, and the six
synchronous ones each hold the parser. After the build has written every page, this module
rewrites each page's references, leaving the files themselves in ``_static`` as they are:

- each run of consecutive stylesheets becomes one ``_static/bundles/css-<hash>.css``, in the
  same order (``@import`` inlined where it stood, ``url()`` paths rewritten for the new
  folder, one ``@charset``);
- each run of consecutive synchronous scripts (``<script src>`` with neither ``async`` nor
  ``defer``) becomes one synchronous ``js-<hash>.js``; an inline script ends a run, because it
  may read what the scripts before it defined and define what the ones after it read;
- every deferred script of the page, wherever it stands, becomes one deferred ``js-<hash>.js``
  at the place of the first: deferred scripts run after parsing in document order, which
  the bundle keeps, and the theme's ``<link rel="preload">`` of them is dropped.

Async scripts (MathJax, plotly.js) and anything outside ``_static`` stay as they are. Names
are content hashes, so a bundle can be cached for ever. The bundled tag keeps its members in
``data-course-bundle``, so a later build that finds a page already bundled rebuilds the
bundle from the members' current contents. Joined scripts share one script element: a
``"use strict"`` that opened a member file no longer applies to it (a ``;`` opens each
member), and an uncaught error in one member stops the members after it.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

__all__ = ["bundle_page", "bundle_site", "join_scripts", "join_stylesheets", "setup"]

logger = logging.getLogger(__name__)
BUNDLE_DIR = "bundles"
BUNDLE_ATTRIBUTE = "data-course-bundle"

TAG = re.compile(r"<link\b[^>]*>|<script\b[^>]*>.*?</script>", re.DOTALL | re.IGNORECASE)
ATTRIBUTE = re.compile(r"""([\w:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)"'\s]*))\s*\)""")
CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)["']?\s*\)?\s*;""")
CSS_CHARSET = re.compile(r"""@charset\s+["'][^"']*["']\s*;""")
SOURCE_MAP = re.compile(r"(?m)^\s*(?://# sourceMappingURL=\S*|/\*# sourceMappingURL=[^*]*\*/)\s*$")
SOURCE_MAP_CSS = re.compile(r"/\*# sourceMappingURL=[^*]*\*/")


def _attributes(tag: str) -> dict[str, str]:
    opening = tag[: tag.index(">") + 1]
    name_end = re.match(r"<\w+", opening).end()
    found = {}
    for match in ATTRIBUTE.finditer(opening[name_end:].rstrip("/>")):
        value = next((v for v in match.groups()[1:] if v is not None), "")
        found[match.group(1).lower()] = value
    return found


@dataclass
class Asset:
    """One stylesheet or script reference of a page, resolved to files under ``_static``."""

    start: int
    end: int
    kind: str  # "css", "js" (synchronous), "defer", "preload", "other"
    members: list[str] = field(default_factory=list)  # paths relative to _static


def _local_static(href: str, page: Path, outdir: Path) -> str | None:
    """``href`` as a path relative to ``outdir/_static``, or None when it is not a file there."""
    if not href or re.match(r"^[a-z][a-z0-9+.-]*:|^//|^/", href, re.IGNORECASE):
        return None
    path = href.split("?", 1)[0].split("#", 1)[0]
    relative = posixpath.normpath(posixpath.join(page.parent.relative_to(outdir).as_posix(), path))
    if not relative.startswith("_static/") or not (outdir / relative).is_file():
        return None
    return relative[len("_static/") :]


def _classify(tag: str, page: Path, outdir: Path) -> Asset | None:
    attributes = _attributes(tag)
    bundled = attributes.get(BUNDLE_ATTRIBUTE)
    if tag[:5].lower() == "<link":
        rel = attributes.get("rel", "").lower()
        href = _local_static(attributes.get("href", ""), page, outdir)
        if rel == "preload" and attributes.get("as") == "script" and href:
            return Asset(0, 0, "preload", [href])
        if rel == "stylesheet" and (href or bundled) and attributes.get("media", "all") == "all":
            return Asset(0, 0, "css", bundled.split() if bundled else [href])
        return None
    source = attributes.get("src")
    if source is None:
        return Asset(0, 0, "other") if tag.strip() else None  # an inline script
    href = _local_static(source, page, outdir)
    kind_attributes = set(attributes) & {"async", "type", "integrity", "nomodule", "crossorigin"}
    if kind_attributes - {"type"} or attributes.get("type", "text/javascript") not in (
        "text/javascript",
        "application/javascript",
    ):
        return Asset(0, 0, "other")
    if not (href or bundled):
        return Asset(0, 0, "other")
    kind = "defer" if "defer" in attributes else "js"
    return Asset(0, 0, kind, bundled.split() if bundled else [href])


def join_stylesheets(static: Path, members: list[str]) -> bytes:
    """The stylesheets ``members`` (paths under ``static``) as one, for ``static/bundles/``."""
    charset = False
    parts = []

    def inline(relative: str, seen: tuple[str, ...]) -> str:
        nonlocal charset
        if relative in seen:
            return ""
        text = (static / relative).read_text(encoding="utf-8")
        if CSS_CHARSET.search(text):
            charset = True
            text = CSS_CHARSET.sub("", text)
        text = SOURCE_MAP_CSS.sub("", text)
        folder = posixpath.dirname(relative)

        def imported(match: re.Match) -> str:
            target = posixpath.normpath(posixpath.join(folder, match.group(1)))
            if (static / target).is_file():
                return inline(target, (*seen, relative))
            return match.group(0)

        def rewrite(match: re.Match) -> str:
            url = next(v for v in match.groups() if v is not None)
            if not url or re.match(r"^(?:[a-z][a-z0-9+.-]*:|/|#)", url, re.IGNORECASE):
                return match.group(0)
            target = posixpath.normpath(posixpath.join(folder, url))
            return f'url("{posixpath.relpath(target, BUNDLE_DIR)}")'

        text = CSS_IMPORT.sub(imported, text)
        return CSS_URL.sub(rewrite, text)

    for member in members:
        parts.append(f"/* {member} */\n{inline(member, ())}\n")
    head = '@charset "UTF-8";\n' if charset else ""
    return (head + "".join(parts)).encode("utf-8")


def join_scripts(static: Path, members: list[str]) -> bytes:
    """The scripts ``members`` (paths under ``static``) as one, in order."""
    parts = []
    for member in members:
        text = SOURCE_MAP.sub("", (static / member).read_text(encoding="utf-8"))
        parts.append(f";/* {member} */\n{text}\n")
    return "".join(parts).encode("utf-8")


def _write_bundle(static: Path, kind: str, members: list[str]) -> str:
    """Write the bundle of ``members``; its path relative to ``static``."""
    joined = join_stylesheets(static, members) if kind == "css" else join_scripts(static, members)
    suffix = "css" if kind == "css" else "js"
    name = f"{BUNDLE_DIR}/{suffix}-{hashlib.sha256(joined).hexdigest()[:16]}.{suffix}"
    target = static / name
    if not target.is_file() or target.read_bytes() != joined:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(joined)
    return name


def _runs(assets: list[Asset], head: str) -> list[list[Asset]]:
    """Runs of consecutive css or js assets with only white space between them."""
    runs: list[list[Asset]] = []
    for asset in assets:
        if asset.kind not in ("css", "js"):
            continue
        previous = runs[-1][-1] if runs else None
        adjacent = (
            previous is not None
            and previous.kind == asset.kind
            and not head[previous.end : asset.start].strip()
        )
        if adjacent:
            runs[-1].append(asset)
        else:
            runs.append([asset])
    return runs


def bundle_page(text: str, page: Path, outdir: Path) -> str:
    """The page ``text`` with its stylesheets and scripts bundled (see the module docstring)."""
    static = outdir / "_static"
    assets = []
    for match in TAG.finditer(text):
        asset = _classify(match.group(0), page, outdir)
        if asset is not None:
            asset.start, asset.end = match.start(), match.end()
            assets.append(asset)
    head_end = text.find("</head>")
    replacements: list[tuple[int, int, str]] = []  # (start, end, new text)
    prefix = posixpath.relpath("_static", page.parent.relative_to(outdir).as_posix() or ".")

    def tag_for(kind: str, members: list[str]) -> str:
        name = _write_bundle(static, kind, members)
        listed = " ".join(members)
        if kind == "css":
            return (
                f'<link rel="stylesheet" type="text/css" href="{prefix}/{name}" '
                f'{BUNDLE_ATTRIBUTE}="{listed}" />'
            )
        defer = ' defer="defer"' if kind == "defer" else ""
        return f'<script{defer} src="{prefix}/{name}" {BUNDLE_ATTRIBUTE}="{listed}"></script>'

    for run in _runs([a for a in assets if a.start < head_end], text):
        members = [m for asset in run for m in asset.members]
        if len(run) == 1 and len(members) == 1:
            continue  # one file: nothing to join
        replacements.append((run[0].start, run[0].end, tag_for(run[0].kind, members)))
        replacements.extend((asset.start, asset.end, "") for asset in run[1:])

    deferred = [asset for asset in assets if asset.kind == "defer"]
    deferred_members = [m for asset in deferred for m in asset.members]
    if len(deferred_members) > 1:
        first = deferred[0]
        replacements.append((first.start, first.end, tag_for("defer", deferred_members)))
        replacements.extend((asset.start, asset.end, "") for asset in deferred[1:])
        bundled = set(deferred_members)
        replacements.extend(
            (asset.start, asset.end, "")
            for asset in assets
            if asset.kind == "preload" and asset.members[0] in bundled
        )

    for start, end, new in sorted(replacements, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def bundle_site(outdir: Path) -> int:
    """Bundle every page of a built site; the number of pages rewritten."""
    rewritten = 0
    for page in sorted(outdir.rglob("*.html")):
        if "_static" in page.relative_to(outdir).parts:
            continue
        text = page.read_text(encoding="utf-8")
        bundled = bundle_page(text, page, outdir)
        if bundled != text:
            page.write_text(bundled, encoding="utf-8")
            rewritten += 1
    return rewritten


def bundle_built_site(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    count = bundle_site(Path(app.outdir))
    logger.info("[course_book] bundled the stylesheets and scripts of %d pages", count)


def setup(app: Sphinx) -> dict:
    # after every other build-finished handler has copied its files into _static
    app.connect("build-finished", bundle_built_site, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
