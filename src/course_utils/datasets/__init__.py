"""Real datasets the chapters load, each one recording itself in the page's provenance.

:mod:`.registry` lists every dataset of the course (lessons 1-7) with its full
source (checksummed download) and its quick stand-in (real data shipped in an
installed package); :func:`dataset_path` returns its folder in either profile.
:mod:`.digits` loads the 8x8 digits of Section 1 as arrays.

Chapters import from here, for example ``from course_utils.datasets import dataset_path``.
"""

from course_utils.datasets.digits import Digits, load_digits
from course_utils.datasets.registry import REGISTRY, dataset_path, get_dataset

__all__ = ["REGISTRY", "Digits", "dataset_path", "get_dataset", "load_digits"]
