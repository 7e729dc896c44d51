"""Helpers shared by the modules of the Sphinx extension."""

from __future__ import annotations

from pathlib import Path

import yaml
from sphinx.application import Sphinx
from sphinx.config import Config

STATIC_DIR = Path(__file__).parent / "static"


def add_static_dir(app: Sphinx) -> None:
    """Add the extension's ``static/`` folder to ``html_static_path`` once."""

    def _add(_app: Sphinx, config: Config) -> None:
        path = str(STATIC_DIR)
        if path not in config.html_static_path:
            config.html_static_path.append(path)

    app.connect("config-inited", _add)


def json_for_script_tag(text: str) -> str:
    """Make JSON text safe inside ``<script type="application/json">``.

    ``<`` can only occur inside JSON strings, where ``\\u003c`` means the same
    character: so neither ``</script>`` nor ``<!--`` can end or alter the tag.
    """
    return text.replace("<", "\\u003c")


def toc_docnames(root: Path) -> list[str]:
    """Every page of the book's ``_toc.yml`` under ``root``, in reading order, root first
    (docnames: ``book/section1/numpy``)."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]]

    def add(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                names.append(entry["file"].removesuffix(".md"))
            add(entry.get("sections", []))

    for part in toc.get("parts", []):
        add(part.get("chapters", []))
    add(toc.get("chapters", []))
    return names
