"""course_utils: the companion library of the executable Deep Learning Part 1 course.

Every chapter of the book imports what it needs from the submodules explicitly,
for example ``from course_utils.profile import current_profile``. This top-level
module imports nothing heavy, so ``import course_utils`` stays fast.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("course_utils")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
