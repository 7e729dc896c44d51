"""Keep the theme's pages offline, free of console errors, with one search field.

Three things the theme stack does on its own that the book does not want:

- Jupyter Book always loads ``sphinx_thebe``, which adds to every page an
  inline script naming ``https://unpkg.com/thebe`` and the ``sphinx-thebe.js``
  loader, even with ``launch_buttons.thebe: false``. The book does not offer
  live code on the page (Colab and Binder run the launch notebooks instead),
  so both scripts are dropped. They were also emitted twice, which is a
  ``SyntaxError`` in the browser (``const THEBE_JS_URL`` declared twice).
- The pydata theme reads its colour mode from ``html_context["default_mode"]``
  and logs an error on every page when that is empty; ``"auto"`` (follow the
  reader's system setting) is the default the theme means.
- pydata-sphinx-theme 0.17 adds a top bar holding a second search field
  unless ``navbar_persistent`` is set; sphinx-book-theme keeps search in the
  sidebar, so the option is set to an empty list.

And one it does late: the "On this page" highlight, which the theme moves only when a
heading crosses the top of the viewport, lags the section being read (scrolling up, it
stays on the section below). ``static/course_toc.js`` sets it from where the headings are.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.config import Config

from course_book.common import add_static_dir

__all__ = ["is_thebe_script", "setup"]

THEBE_LOADER = "sphinx-thebe.js"
THEBE_INLINE_MARKER = "THEBE_JS_URL"


def is_thebe_script(script) -> bool:
    """True for the scripts ``sphinx_thebe`` adds (its loader and its inline config)."""
    filename = getattr(script, "filename", script) or ""
    body = getattr(script, "attributes", {}).get("body", "")
    return str(filename).endswith(THEBE_LOADER) or THEBE_INLINE_MARKER in body


def theme_defaults(app: Sphinx, config: Config) -> None:
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "auto")
    config.html_context = context
    options = dict(config.html_theme_options or {})
    options.setdefault("navbar_persistent", [])
    config.html_theme_options = options


def drop_thebe_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [script for script in scripts if not is_thebe_script(script)]


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", theme_defaults)
    # The "On this page" highlight follows the reading position (the theme's lags behind).
    app.add_js_file("course_toc.js", loading_method="defer")
    add_static_dir(app)
    app.connect("html-page-context", drop_thebe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
