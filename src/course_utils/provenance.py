"""Where a page's outputs came from: profile, device, versions and data.

Chapters end with a cell (input hidden in the book) that calls
:func:`provenance`. It displays a small report that reads as text in Jupyter
or Colab and, in the book, is rendered by :mod:`course_book` as the
notice at the top of the page and the footer at its bottom.

Datasets register themselves through :func:`record_data_source` when a chapter
loads them, so the report names the data that was really used.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass, field, replace

from course_utils import __version__
from course_utils.profile import current_profile

__all__ = [
    "MIME_TYPE",
    "DataSource",
    "ProvenanceReport",
    "collect",
    "data_sources",
    "describe_device",
    "provenance",
    "record_data_source",
]

MIME_TYPE = "application/vnd.course-utils.provenance+json"


@dataclass(frozen=True)
class DataSource:
    """One dataset a page used: what it is and where it came from."""

    name: str  # e.g. "8x8 handwritten digits"
    origin: str  # e.g. "scikit-learn load_digits(), bundled in the scikit-learn wheel"
    items: int | None = None  # how many examples were loaded
    stand_in_for: str | None = None  # the full profile's dataset this one replaces


_sources: dict[tuple[str, str], DataSource] = {}


def record_data_source(source: DataSource) -> None:
    """Remember that this kernel loaded ``source``; shown in the page's provenance.

    One stand-in can replace several full-profile datasets on a page (the quick
    MNIST folders stand in for MNIST and for Dogs vs Cats): the page then names
    every dataset it stands in for, in the order they were loaded.
    """
    key = (source.name, source.origin)
    earlier = _sources.get(key)
    if earlier is not None and earlier.stand_in_for and source.stand_in_for:
        replaced = earlier.stand_in_for.split(" and ")
        if source.stand_in_for not in replaced:
            replaced.append(source.stand_in_for)
        source = replace(source, stand_in_for=" and ".join(replaced))
    _sources[key] = source


def data_sources() -> list[DataSource]:
    """The data sources recorded so far, in the order they were first loaded."""
    return list(_sources.values())


def describe_device() -> str:
    """The device this kernel computes on, e.g. ``"CPU, 2 cores"`` or a GPU's name."""
    import torch

    if current_profile().device() == "cuda":
        return f"GPU: {torch.cuda.get_device_name(0)}"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU, {cores} cores"


@dataclass(frozen=True)
class ProvenanceReport:
    """What the page's kernel knows about its own run."""

    profile: str
    profile_description: str
    device: str
    course_utils_version: str
    torch_version: str
    python_version: str
    data: list[DataSource] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        lines = [
            f"Profile: {self.profile} ({self.profile_description})",
            f"Device: {self.device}",
            f"course_utils {self.course_utils_version}, torch {self.torch_version}, "
            f"Python {self.python_version}",
        ]
        if self.data:
            lines.append("Data:")
            for source in self.data:
                lines.append("  - " + _describe_source(source))
        else:
            lines.append("Data: none loaded")
        return "\n".join(lines)


def _describe_source(source: DataSource) -> str:
    text = f"{source.name}: {source.origin}"
    if source.items is not None:
        text += f" ({source.items:,} item{'' if source.items == 1 else 's'})"
    if source.stand_in_for:
        text += f", standing in for {source.stand_in_for}"
    return text


def collect() -> ProvenanceReport:
    """Gather the report for this kernel."""
    import torch

    profile = current_profile()
    return ProvenanceReport(
        profile=profile.name,
        profile_description=profile.description,
        device=describe_device(),
        course_utils_version=__version__,
        torch_version=torch.__version__,
        python_version=platform.python_version(),
        data=data_sources(),
    )


class _Displayable:
    def __init__(self, report: ProvenanceReport):
        self.report = report

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {MIME_TYPE: self.report.to_json(), "text/plain": self.report.to_text()}


def provenance():
    """Display this page's provenance report (the last cell of every chapter)."""
    from IPython.display import display

    display(_Displayable(collect()))
