"""The theme's icons as inline SVG: no icon script, no icon font to download.

pydata-sphinx-theme writes its icons as Font Awesome markup (``<i class="fa-solid
fa-magnifying-glass">``) and draws them with either its 1.5 MB ``fontawesome.js``, which
swaps each for an SVG, or the Font Awesome webfonts its CSS declares (two fonts, 0.27 MB,
on every page). The book's pages use 19 icons. This module writes each one as the same SVG
``fontawesome.js`` would have made, when the page is written: the path data comes from the
theme's own ``fontawesome.js`` (the installed copy, so it matches the theme's version),
read once per build. An icon it cannot find stays as it was and the webfont draws it.

Applied to the whole page body by the ``course_inline_icons`` filter in
``templates/layout.html``.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

from markupsafe import Markup

__all__ = ["fontawesome_js", "icon_paths", "inline_icons", "svg_for"]

STYLES = {
    "fa-solid": "fas",
    "fas": "fas",
    "fa-regular": "far",
    "far": "far",
    "fa-brands": "fab",
    "fab": "fab",
}
# Classes that size or animate an icon rather than name one (kept on the SVG).
MODIFIERS = re.compile(r"fa-(?:\d+x|xs|sm|lg|xl|2xs|2xl|fw|spin|pulse|border|inverse|flip.*)$")
# <i class="fa-solid fa-sun fa-lg"></i> (or a <span>), perhaps more attributes, nothing inside.
ICON_ELEMENT = re.compile(r'<(i|span) class="([^"]*\bfa[-\w]*[^"]*)"([^>]*)>\s*</\1>')
# One icon in fontawesome.js: name: [width, height, [aliases], "unicode", "path" | [paths]]
ICON_ENTRY = r':\[(\d+),(\d+),\[([^\]]*)\],"[0-9a-f]+",("[^"]*"|\[[^\]]*\])\]'
# Where fontawesome.js hands a style's icons to its library: d("fas",p)
PACK_CALL = re.compile(r'([\w$]+)\("(fa[bsr])",([\w$]+)\)')


def fontawesome_js() -> Path:
    """The installed theme's ``fontawesome.js``."""
    import pydata_sphinx_theme

    return (
        Path(pydata_sphinx_theme.__file__).parent
        / "theme/pydata_sphinx_theme/static/scripts/fontawesome.js"
    )


@cache
def _packs(path: Path) -> dict[str, str]:
    """The text of each style's icon definitions: ``{"fas": ..., "far": ..., "fab": ...}``."""
    source = path.read_text(encoding="utf-8")
    calls = list(PACK_CALL.finditer(source))
    # the one callee/argument pair that registers every style (other calls name one style)
    pairs: dict[tuple[str, str], set[str]] = {}
    for call in calls:
        pairs.setdefault((call.group(1), call.group(3)), set()).add(call.group(2))
    registrar = next((pair for pair, styles in pairs.items() if len(styles) == 3), None)
    packs, start = {}, 0
    for call in calls:
        if (call.group(1), call.group(3)) == registrar:
            packs[call.group(2)] = source[start : call.start()]
            start = call.end()
    return packs


@cache
def icon_paths(style: str, name: str, path: Path | None = None) -> tuple[int, int, tuple[str, ...]]:
    """Width, height and SVG path data of icon ``name`` in ``style`` ("fas", "far", "fab").

    Raises KeyError when the theme's ``fontawesome.js`` has no such icon (nor alias).
    """
    pack = _packs(path or fontawesome_js()).get(style, "")
    key = re.escape(name)
    match = re.search(rf'(?:"{key}"|(?<![\w-]){key})' + ICON_ENTRY, pack) or re.search(
        r':\[(\d+),(\d+),\[([^\]]*"' + key + r'"[^\]]*)\],"[0-9a-f]+",("[^"]*"|\[[^\]]*\])\]',
        pack,
    )
    if match is None:
        raise KeyError(f"{style} {name}")
    width, height, _aliases, data = match.groups()
    paths = tuple(re.findall(r'"([^"]*)"', data))
    return int(width), int(height), tuple(p for p in paths if p)


def svg_for(classes: str, attributes: str = "") -> str | None:
    """The inline SVG for an ``<i>`` element's classes, or None if they name no known icon."""
    names = classes.split()
    style = next((STYLES[c] for c in names if c in STYLES), None)
    named = [c for c in names if c.startswith("fa-") and c not in STYLES]
    icon = next((c[3:] for c in named if not MODIFIERS.match(c)), None)
    if style is None or icon is None:
        return None
    try:
        width, height, paths = icon_paths(style, icon)
    except KeyError:
        return None
    kept = [c for c in names if c not in STYLES and c != f"fa-{icon}"]
    kept_classes = html.escape(" ".join(["cu-icon", f"cu-icon-{icon}", *kept]))
    body = "".join(f'<path fill="currentColor" d="{html.escape(d)}"/>' for d in paths)
    hidden = "" if "aria-hidden" in attributes else ' aria-hidden="true"'
    return (
        f'<svg class="{kept_classes}"{attributes} viewBox="0 0 {width} {height}"'
        f'{hidden} focusable="false">{body}</svg>'
    )


def inline_icons(page: str) -> Markup:
    """``page`` with each Font Awesome ``<i>`` or ``<span>`` icon replaced by its inline SVG."""

    def replace(match: re.Match) -> str:
        return svg_for(match.group(2), match.group(3)) or match.group(0)

    return Markup(ICON_ELEMENT.sub(replace, str(page)))
