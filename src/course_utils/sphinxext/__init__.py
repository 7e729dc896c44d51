"""The Sphinx extension that turns the chapters into the course site.

Loaded by the book's ``_config.yml`` (``sphinx.extra_extensions``). It imports
Sphinx, so nothing in the rest of ``course_utils`` imports it: training code
never pays for it.

What it registers, module by module:

- :mod:`.video`: the ``video`` directive (lecture video at labelled timestamps).
- :mod:`.plotly_figures`: offline Plotly figures (a myst-nb mime renderer).
- :mod:`.provenance`: the notice and footer that say where outputs came from.
- :mod:`.execution`: the execution cache keyed on the library, and the checks
  that every notebook page really executed.
- :mod:`.launch`: the notebooks behind the Colab, Binder and download buttons.
- :mod:`.mathjax`: MathJax served from the site, not a CDN.
- :mod:`.theme`: no theme script that reaches outside the site or errors in
  the console, and one search field.
"""

from __future__ import annotations

from sphinx.application import Sphinx

from course_utils import __version__

__all__ = ["setup"]


def setup(app: Sphinx) -> dict:
    from course_utils.sphinxext import (
        execution,
        launch,
        mathjax,
        plotly_figures,
        provenance,
        theme,
        video,
    )

    for module in (
        video,
        plotly_figures,
        mathjax,
        theme,
        provenance,
        execution,
        launch,
    ):
        module.setup(app)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
