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
    "summary",
]

MIME_TYPE = "application/vnd.course-utils.provenance+json"


@dataclass(frozen=True)
class DataSource:
    """One dataset a page used: what it is and where it came from."""

    name: str  # e.g. "8x8 handwritten digits"
    origin: str  # e.g. "scikit-learn load_digits(), bundled in the scikit-learn wheel"
    items: int | None = None  # how many examples were loaded
    stand_in_for: str | None = None  # the full profile's dataset this one replaces
    # For the reader, in plain words (the first sentence of the page's notice): what this is,
    # e.g. "a 5,000-image sample of MNIST's handwritten digits", and, for a stand-in whose
    # data differ from the full profile's, what the full profile uses instead, e.g.
    # "CIFAR-10's 60,000 small colour photos" (None when the data are the same).
    description: str | None = None
    full_description: str | None = None
    # "data"; "weights" (a network's pretrained weights); "initialisation" (random weights,
    # the same in every profile, left out of the notice's first sentence)
    kind: str = "data"


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
        source = replace(
            source,
            stand_in_for=_joined(earlier.stand_in_for, source.stand_in_for),
            full_description=_joined(earlier.full_description, source.full_description),
        )
    _sources[key] = source


def _joined(earlier: str | None, new: str | None) -> str | None:
    """``"A and B"`` from ``"A"`` and ``"B"``; a part already named is not named again."""
    if not earlier or not new:
        return earlier or new
    if new in earlier.split(" and ") or f" and {new}" in earlier or earlier.startswith(new):
        return earlier
    return f"{earlier} and {new}"


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
    rehearsal: bool = False  # a rehearsal of the full profile, on miniature data

    def to_json(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        lines = [
            summary(self.to_json()),
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


def _words(items: list[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _hardware(device: str) -> str:
    """``"GPU: NVIDIA H100"`` -> ``"a GPU (NVIDIA H100)"``;
    ``"CPU, 2 cores"`` -> ``"a CPU (2 cores)"``."""
    for kind, separator in (("GPU", ":"), ("CPU", ",")):
        if device.startswith(kind):
            detail = device[len(kind) :].lstrip(separator).strip()
            return f"a {kind} ({detail})" if detail else f"a {kind}"
    return device or "an unknown device"


def _on(sources: list[dict], described: str) -> str:
    """``"on X, with Y"``: the data, then the pretrained weights, each as ``described``
    (``"description"`` or ``"full_description"``); the record's name where it has none."""
    data = [s.get(described) or s["name"] for s in sources if s.get("kind", "data") == "data"]
    weights = [s.get(described) or s["name"] for s in sources if s.get("kind") == "weights"]
    text = f"on {_words(data)}" if data else ""
    if weights:
        text += (", with " if data else "with ") + _words(weights)
    return text


def summary(report: dict) -> str:
    """One plain sentence for a reader: what the page ran on and what that means for its
    numbers. ``report`` is :meth:`ProvenanceReport.to_json` (as a page stores it).

    Quick, with stand-ins: what the data are, that the full build uses other data, and that
    the numbers show how the method behaves. Quick, with the full profile's own data: that
    the full build uses the same data. Full: the canonical data and the hardware. A
    rehearsal: that its numbers mean nothing.
    """
    profile = report.get("profile", "unknown")
    hardware = _hardware(str(report.get("device") or ""))
    sources = [s for s in report.get("data") or [] if s.get("kind", "data") != "initialisation"]
    ran_on = _on(sources, "description")
    if report.get("rehearsal"):
        return (
            f"This page ran in a rehearsal of the full build, on miniatures of the real data on "
            f"{hardware}: it checks that the code runs, and its numbers mean nothing."
        )
    if profile == "quick":
        where = f"on {hardware} in the quick build"
        if not sources:
            return f"This page ran {where} and uses no dataset."
        replaced = [s for s in sources if s.get("stand_in_for") and s.get("full_description")]
        if replaced:
            instead = _on(replaced, "full_description")
            return (
                f"This page ran {ran_on}, {where}, instead of {instead}: its numbers show how "
                "the method behaves, not what it achieves on the real data."
            )
        return (
            f"This page ran {ran_on}, {where}: the full build uses the same data, with a GPU "
            "where there is one and its own epochs and sizes, so its numbers can differ."
        )
    where = f"on {hardware} in the {profile} build"
    if not sources:
        return f"This page ran {where} and uses no dataset."
    return f"This page ran {ran_on}, {where}, with the canonical data."


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
        rehearsal=profile.rehearsal,
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
