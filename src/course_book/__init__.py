"""course_book: the Sphinx extension that turns the chapters into the course site.

The book's build machinery, a package of its own beside the student's library
``course_utils`` (as d2lbook is beside d2l): a student who installs
``course_utils`` on Colab gets no Sphinx, no vendored plotly.js and no outline.
Loaded by the book's ``_config.yml`` (``sphinx.extra_extensions``); nothing in
``course_utils`` imports it.

What it registers, module by module:

- :mod:`.video`: the ``video`` directive (lecture video at labelled timestamps).
- :mod:`.plotly_figures`: offline Plotly figures (a myst-nb mime renderer).
- :mod:`.provenance`: the notice and footer that say where outputs came from.
- :mod:`.execution`: the execution cache keyed on the library, and the checks
  that every notebook page really executed.
- :mod:`.launch`: the notebooks behind the Colab, Binder and download buttons
  (also ``python -m course_book.launch``, for ``make notebooks``).
- :mod:`.outline`: the course outline as data, read by the video directive,
  the landing page's tests and the outline's own tests.
- :mod:`.mathjax`: MathJax served from the site, not a CDN.
- :mod:`.theme`: no theme script that reaches outside the site or errors in
  the console, and one search field.
- :mod:`.page_assets`: each page loads what its reader uses, nothing more
  (with :mod:`.icons`, the theme's icons as inline SVG).
- :mod:`.bundles`: a page's stylesheets and scripts joined into a few files.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from sphinx.application import Sphinx

__all__ = ["setup"]

try:
    __version__ = version("course_book")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


def setup(app: Sphinx) -> dict:
    # Imported here rather than at the top so that ``python -m course_book.launch`` (make
    # notebooks) runs that module once, not a second time after the package imported it.
    from course_book import (
        bundles,
        details,
        execution,
        launch,
        mathjax,
        page_assets,
        plotly_figures,
        provenance,
        theme,
        video,
    )

    for module in (
        details,
        video,
        plotly_figures,
        mathjax,
        theme,
        page_assets,
        bundles,
        provenance,
        execution,
        launch,
    ):
        module.setup(app)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
