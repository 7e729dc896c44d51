"""Checks shared by the library: one wording for one mistake, wherever it is made.

* :func:`positive_int`: an argument that must be a positive integer.
* :func:`check_y_range`: a model's output range ``(low, high)`` (tabular and collaborative
  filtering squash their outputs into one).
* :func:`read_csv_text` / :func:`read_csv_file`: a reader's own CSV file (image labels,
  ratings, tables), refused with a message that names the file and the fix when it is a
  folder, is not UTF-8, holds a NUL byte, or does not parse.
"""

from __future__ import annotations

import io
import numbers
from os import PathLike
from pathlib import Path

__all__ = ["CsvFileError", "check_y_range", "positive_int", "read_csv_file", "read_csv_text"]

RESAVE_UTF8 = (
    "re-save it as UTF-8 (in Excel: Save As > CSV UTF-8 (Comma delimited); in LibreOffice "
    "Calc: Save As > Text CSV, character set Unicode (UTF-8))"
)
MAX_LISTED = 5  # CSV files named when a folder was given instead of one


class CsvFileError(ValueError):
    """A CSV file that cannot be read as it stands; the message names the file and the fix."""


def positive_int(name: str, value) -> int:
    """``value`` as an int if it is a positive integer (not a bool); else a ValueError naming
    ``name`` and what was given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_y_range(y_range) -> tuple[float, float] | None:
    """``y_range`` as ``(low, high)`` floats, None kept; a ValueError unless low < high."""
    if y_range is None:
        return None
    if not y_range[0] < y_range[1]:
        raise ValueError(f"y_range must be (low, high) with low < high, got {y_range!r}")
    return float(y_range[0]), float(y_range[1])


def read_csv_text(path: str | PathLike[str], what: str = "CSV file") -> str:
    """The text of a CSV file, read as UTF-8 (a leading byte-order mark, as Excel writes, is
    dropped), after checking that it can be trusted.

    ``what`` names the file in messages (``"labels CSV"``, ``"ratings file"``). Raises
    FileNotFoundError ``no <what> at <path>`` when nothing is there, and :class:`CsvFileError`
    when the path is a folder, a byte is not UTF-8 (the message gives its offset and line,
    and how to re-save the file) or the text holds a NUL byte (the line and column): Python's
    csv module and pandas would both keep a NUL inside a value, a tag or an id no one can see.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.csv"))
        hint = f"; it holds {', '.join(map(repr, found[:MAX_LISTED]))}" if found else ""
        raise CsvFileError(
            f"the {what} {path} is a folder, not a file: give the path of the CSV file itself{hint}"
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"no {what} at {path}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise CsvFileError(
            f"the {what} {path} is not UTF-8 text: byte {data[err.start]:#04x} at byte offset "
            f"{err.start} (line {line}) does not decode ({err.reason}). It was probably saved "
            f"in another encoding (Windows' cp1252, Latin-1, UTF-16): {RESAVE_UTF8}"
        ) from None
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1  # from 1, in characters
        raise CsvFileError(
            f"the {what} {path} holds a NUL byte (\\x00) on line {line}, column {column}: it "
            f"would silently become part of a value. A file full of them was saved as UTF-16 "
            f"('Unicode Text'): {RESAVE_UTF8}; otherwise delete the stray byte in a text editor"
        )
    return text.removeprefix("\ufeff")


def read_csv_file(path: str | PathLike[str], what: str = "CSV file", **read_csv):
    """A pandas DataFrame of a CSV file checked by :func:`read_csv_text`; ``read_csv`` are
    :func:`pandas.read_csv`'s options. A file that does not parse (empty, a row with too
    many fields) is a :class:`CsvFileError` naming the file and pandas' reason."""
    import pandas as pd  # here, not at the top: the checks above must stay light to import

    text = read_csv_text(path, what)
    try:
        return pd.read_csv(io.StringIO(text), **read_csv)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise CsvFileError(f"the {what} {Path(path)} could not be read as a CSV: {err}") from err
