"""Numbers and sentences that a page's prose takes from the run that built it.

A chapter never types the result of a run into its prose. A cell computes it and
*glues* it under a name; the markdown then pastes it with MyST-NB's roles::

    glue("head_accuracy", accuracy)            # in a code cell
    The head alone gets {glue:text}`head_accuracy:.1%` right.   # in the prose

and where the truth depends on the profile, the cell chooses the sentence, after
asserting what it says, and glues it as markdown::

    glue("unfreeze_outcome", Markdown("Unfreezing improves on the head alone."))
    {glue:md}`unfreeze_outcome`

A claim that only the real data can make true (an accuracy, "pretraining beats scratch") is
asserted with :func:`claim` instead of ``assert``: the same failure in the quick and full
profiles, a printed report in a rehearsal of the full profile, whose miniature data and
few batches can show nothing of the kind (:mod:`course_utils.profile`).

This is the protocol of ``myst_nb.glue`` (a display output whose metadata names
the value, with its MIME types prefixed so that the cell shows nothing), written
with IPython alone so that the notebooks students launch need no Sphinx package.
Outside IPython (a plain script) the value is simply not displayed.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "GLUE_PREFIX",
    "LINE_WIDTH",
    "ClaimError",
    "Markdown",
    "claim",
    "fit",
    "glue",
    "say",
    "unmet_claims",
]

GLUE_PREFIX = "application/papermill.record/"  # what myst_nb looks for in a cell's outputs
# The widest line a page's code block shows without scrolling sideways: the chapters' line
# length (ruff-chapters.toml), which printouts keep to as well.
LINE_WIDTH = 72


def fit(text: object, width: int = LINE_WIDTH) -> str:
    """``str(text)`` with each line longer than ``width`` broken at spaces, its continuation
    lines indented two spaces deeper than the line itself. A break falls outside brackets
    nested two deep where it can (``padding=(1, 1)`` stays whole). Nothing else changes: a
    line that fits, or a word longer than ``width``, stays as it is."""
    lines = []
    for line in str(text).split("\n"):
        indent = " " * (len(line) - len(line.lstrip()))
        depths, depth = [], 0  # the bracket depth at each character of the whole line
        for char in line:
            depths.append(depth)
            depth += (char in "([{") - (char in ")]}")
        start, prefix = 0, ""  # the rest of the line, and what its next piece starts with
        while len(prefix) + len(line) - start > width:
            last = min(start + width - len(prefix), len(line) - 1)
            spaces = [
                i
                for i in range(max(start + 1, len(indent) + 1), last + 1)
                if line[i] == " " and line[i - 1] != " "
            ]
            breaks = [i for i in spaces if depths[i] <= 1] or spaces
            if not breaks:
                break
            lines.append(prefix + line[start : breaks[-1]])
            start = len(line) - len(line[breaks[-1] :].lstrip())
            prefix = indent + "  "
        lines.append(prefix + line[start:])
    return "\n".join(lines)


def say(*parts: object, width: int = LINE_WIDTH) -> None:
    """``print(*parts)``, its lines wrapped to ``width`` (:func:`fit`): a message that fits
    the page's code blocks, and a printed model or table too."""
    print(fit(" ".join(str(part) for part in parts), width))


class Markdown(str):
    """A string displayed as markdown: glued, it is pasted with ``{glue:md}``."""

    def _repr_markdown_(self) -> str:
        return str(self)


def glue(name: str, value: Any, display: bool = False) -> Any:
    """Record ``value`` under ``name`` for the page's ``{glue:...}`` roles; return ``value``.

    With ``display=True`` the cell also shows it, as Jupyter would show ``value``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a glue name must be a Python identifier, got {name!r}")
    try:
        from IPython import get_ipython
        from IPython.core.formatters import format_display_data
        from IPython.display import display as ipython_display
    except ImportError:  # not in IPython: nothing to record into
        return value
    if get_ipython() is None:
        return value
    # a NumPy scalar's repr is "np.float64(0.57)", which the {glue:text}`name:.3f` role cannot
    # format as a number: record the Python number it holds
    numpy_scalar = type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0
    bundle, metadata = format_display_data(value.item() if numpy_scalar else value)
    prefix = "" if display else GLUE_PREFIX
    metadata = dict(metadata, scrapbook={"name": name, "mime_prefix": prefix})
    ipython_display(
        {prefix + mime: data for mime, data in bundle.items()}, raw=True, metadata=metadata
    )
    return value


_unmet: list[str] = []  # the claims a rehearsal reported instead of asserting


class ClaimError(AssertionError):
    """A claim about the run's results does not hold."""


def claim(holds: bool, statement: str) -> bool:
    """Assert ``statement`` (what the page says), which only the real data can make true.

    In the quick and full profiles a false claim raises :class:`ClaimError` (an
    ``AssertionError``), as ``assert`` would, with ``statement`` and the numbers in it. In a
    rehearsal it is printed as not met and recorded (:func:`unmet_claims`), and the page goes
    on: a rehearsal checks that the code runs, not what the miniature data shows.
    """
    from course_utils.profile import current_profile

    holds = bool(holds)
    if holds:
        return True
    if current_profile().rehearsal:
        _unmet.append(statement)
        say(f"[rehearsal] not asserted, as only the real data can show it: {statement}")
        return False
    raise ClaimError(statement)


def unmet_claims() -> list[str]:
    """The claims this kernel's rehearsal reported as not met, in order."""
    return list(_unmet)
