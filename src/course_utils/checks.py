"""Argument checks shared by the library: one wording for one mistake, wherever it is made."""

from __future__ import annotations

import numbers

__all__ = ["positive_int"]


def positive_int(name: str, value) -> int:
    """``value`` as an int if it is a positive integer (not a bool); else a ValueError naming
    ``name`` and what was given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)
