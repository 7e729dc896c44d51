"""Real datasets the chapters load, each one recording itself in the page's provenance.

One module per dataset. Today there is only :mod:`.digits` (the 8x8 handwritten
digits that Section 1 trains its first networks on); the datasets of later
lessons join it here, each with a quick source that ships in an installed
package and, where it differs, the canonical download of the full profile.

Import from the module that defines a loader, for example
``from course_utils.datasets.digits import load_digits``.
"""

from course_utils.datasets.digits import Digits, load_digits

__all__ = ["Digits", "load_digits"]
