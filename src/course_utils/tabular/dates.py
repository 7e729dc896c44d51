"""Dates as features: what a network can learn from *when* a row happened.

Lesson 4 (the Rossmann notebook) turns every date into columns a model can use:
a network sees no calendar in ``2015-07-31``, but it can learn that sales rise on
the last day of a month (``Is_month_end``) or on Mondays (``Dayofweek == 0``).
:func:`add_date_features` is 2018's ``add_datepart``.

The notebook also counts, per store, the days since the last and until the next
holiday or promotion (its ``get_elapsed``) and the number of holidays in the week
before and after (its rolling sums): :func:`elapsed_since`, :func:`elapsed_until`
and :func:`rolling_count`. Each works within groups (``group="Store"``) on the rows
sorted by date, and returns a Series aligned with the table's rows, whatever their
order. :func:`elapsed_since` and a ``"backward"`` :func:`rolling_count` read only the
row itself and earlier rows: a feature built from the future would not exist when
the model is used to forecast (it would *leak* the answer).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DATE_FEATURES",
    "add_date_features",
    "elapsed_since",
    "elapsed_until",
    "rolling_count",
]

# The columns add_date_features adds (each with the prefix in front), in 2018's order,
# with the pandas attribute of ``Series.dt`` each one comes from.
DATE_FEATURES = {
    "Year": "year",
    "Month": "month",
    "Week": None,  # ISO week number: Series.dt.isocalendar().week
    "Day": "day",
    "Dayofweek": "day_of_week",  # Monday=0 ... Sunday=6
    "Dayofyear": "day_of_year",  # 1 ... 366
    "Is_month_end": "is_month_end",
    "Is_month_start": "is_month_start",
    "Is_quarter_end": "is_quarter_end",
    "Is_quarter_start": "is_quarter_start",
    "Is_year_end": "is_year_end",
    "Is_year_start": "is_year_start",
}
SHOWN = 5  # how many offending rows an error message lists


def _column(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        raise KeyError(f"column {column!r} is not in the table; its columns: {list(df.columns)}")
    return df[column]


def _to_datetime(df: pd.DataFrame, column: str) -> pd.Series:
    """The column as datetimes; a value that does not parse is an error that names its row."""
    values = _column(df, column)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    if pd.api.types.is_numeric_dtype(values):  # pandas would read 20110101 as nanoseconds
        raise ValueError(
            f"column {column!r} holds numbers ({values.dtype}), not dates: convert it first, "
            f"e.g. pd.to_datetime(df[{column!r}], format='%Y%m%d') or unit='s'"
        )
    # ISO 8601 first ("2011-01-01", "2011-01-01 13:00", in any mix); otherwise pandas
    # guesses one format from the first value, and a value in another format fails
    parsed = pd.to_datetime(values, format="ISO8601", errors="coerce")
    if (parsed.isna() & values.notna()).any():
        with warnings.catch_warnings():
            # pandas warns when it cannot guess a format from the first value; the values
            # that then fail to parse are reported below, by row
            warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
            guessed = pd.to_datetime(values, errors="coerce")
        if guessed.isna().sum() < parsed.isna().sum():  # keep whichever parses more
            parsed = guessed
    # NaT where there was a value: it did not parse (missing values stay missing, NaT)
    bad = parsed.isna() & values.notna()
    if bad.any():
        examples = ", ".join(
            f"row {label!r}: {value!r}" for label, value in values[bad][:SHOWN].items()
        )
        raise ValueError(
            f"column {column!r}: {int(bad.sum())} of {len(values)} values are not dates, "
            f"e.g. {examples}. Fix or drop those rows, or parse the column yourself with "
            f"pd.to_datetime(df[{column!r}], format=...) (dates that are not all ISO 8601 "
            "must all have the format of the first one)"
        )
    return parsed


def add_date_features(
    df: pd.DataFrame,
    column: str,
    prefix: str | None = None,
    drop: bool = True,
    time: bool = False,
) -> pd.DataFrame:
    """A copy of ``df`` with calendar columns computed from the date column ``column``.

    Adds Year, Month, Week (ISO 8601: 2011-01-01 is in week 52 of ISO year 2010), Day,
    Dayofweek (Monday=0), Dayofyear, Is_month_end/start, Is_quarter_end/start,
    Is_year_end/start and Elapsed (seconds since 1970-01-01, int64: one number that
    orders every row in time); with ``time=True`` also Hour (2018's version added
    Minute and Second too). Each name starts with ``prefix``, by default the column's
    name without a trailing "Date"/"date" (2018's rule: "Date" -> "Year",
    "saledate" -> "saleYear"). ``drop`` removes the date column itself.

    The column may hold datetimes or strings; a string that does not parse raises a
    ValueError naming its row. Missing dates are allowed: their features are missing
    (pandas' nullable "Int64" and "boolean" columns). Unlike 2018's ``add_datepart``,
    ``df`` is not changed in place.
    """
    dates = _to_datetime(df, column)
    if prefix is None:
        prefix = re.sub("[Dd]ate$", "", column)
    missing = dates.isna().any()
    int_dtype, bool_dtype = ("Int64", "boolean") if missing else ("int64", "bool")
    features = {}
    for name, attribute in DATE_FEATURES.items():
        values = dates.dt.isocalendar().week if attribute is None else getattr(dates.dt, attribute)
        is_flag = name.startswith("Is_")
        if is_flag and missing:
            values = values.astype("boolean").mask(dates.isna())  # NaT gave False: say missing
        features[prefix + name] = values.astype(bool_dtype if is_flag else int_dtype)
    if time:
        features[prefix + "Hour"] = dates.dt.hour.astype(int_dtype)
    epoch = pd.Timestamp("1970-01-01", tz=dates.dt.tz)  # tz: UTC's epoch for aware dates
    features[prefix + "Elapsed"] = ((dates - epoch) // pd.Timedelta(seconds=1)).astype(int_dtype)
    out = df.drop(columns=column) if drop else df.copy()
    clashes = [name for name in features if name in out.columns]
    if clashes:
        raise ValueError(
            f"the table already has columns {clashes}: pass another prefix= than {prefix!r}"
        )
    return pd.concat([out, pd.DataFrame(features, index=df.index)], axis=1)


# ----- elapsed time and counts around events, per group ------------------------------------


def _group_keys(group: str | Sequence[str] | None) -> list[str]:
    if group is None:
        return []
    return [group] if isinstance(group, str) else list(group)


def _events(df: pd.DataFrame, event_col: str) -> np.ndarray:
    events = _column(df, event_col)
    if events.isna().any():
        rows = list(events.index[events.isna()][:SHOWN])
        raise ValueError(f"column {event_col!r} has missing values, e.g. at rows {rows}")
    if not (pd.api.types.is_bool_dtype(events) or set(events.unique()) <= {0, 1}):
        raise ValueError(
            f"column {event_col!r} must say True/False (or 1/0) whether the event happens "
            f"on that row; got values such as {list(events.unique()[:SHOWN])}"
        )
    return events.to_numpy(dtype=bool)


def _groups(
    df: pd.DataFrame, date_col: str, event_col: str, group
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per group: the positions of its rows, their dates, and its event dates, sorted."""
    dates = _to_datetime(df, date_col)
    if dates.isna().any():
        rows = list(dates.index[dates.isna()][:SHOWN])
        raise ValueError(f"column {date_col!r} has missing dates, e.g. at rows {rows}")
    if dates.dt.tz is not None:  # time-zone aware: compare instants in UTC
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    dates = dates.to_numpy()  # datetime64, in the table's row order
    events = _events(df, event_col)
    keys = _group_keys(group)
    for key in keys:
        if _column(df, key).isna().any():
            raise ValueError(f"group column {key!r} has missing values: fill or drop them first")
    # the positions (0..n-1) of each group's rows; without groups, one group of all rows
    positions = df.groupby(keys, sort=False).indices.values() if keys else [np.arange(len(df))]
    for rows in positions:
        yield rows, dates[rows], np.sort(dates[rows][events[rows]])


def _days(delta: np.ndarray) -> np.ndarray:
    return delta / np.timedelta64(1, "D")  # timedelta64 -> float days (NaT -> NaN)


def elapsed_since(
    df: pd.DataFrame, date_col: str, event_col: str, group: str | Sequence[str] | None = None
) -> pd.Series:
    """Days since the last row of the same group where ``event_col`` is True.

    0 on an event's own date; fractions of a day for hourly data; NaN before a
    group's first event (no past event to count from). Only the row's own date and
    earlier ones are read: changing a later row changes nothing here. The Rossmann
    notebook's ``get_elapsed(fld, "After")``; it filled the NaNs with 0, which says
    "an event today". A :class:`~course_utils.tabular.processing.TabularProcessor`
    does better with NaN: it fills the median and adds a ``<col>_na`` indicator.
    """
    out = np.full(len(df), np.nan)
    for rows, dates, event_dates in _groups(df, date_col, event_col, group):
        # the last event date <= each row's date: its position in the sorted event dates
        last = np.searchsorted(event_dates, dates, side="right") - 1  # -1: none yet
        found = last >= 0
        out[rows[found]] = _days(dates[found] - event_dates[last[found]])
    return pd.Series(out, index=df.index, name=f"{event_col}_since")


def elapsed_until(
    df: pd.DataFrame, date_col: str, event_col: str, group: str | Sequence[str] | None = None
) -> pd.Series:
    """Days until the next row of the same group where ``event_col`` is True.

    0 on an event's own date; NaN after a group's last event. It reads the future on
    purpose (the Rossmann notebook's ``get_elapsed(fld, "Before")``): use it only
    for events known in advance, such as scheduled holidays or promotions.
    """
    out = np.full(len(df), np.nan)
    for rows, dates, event_dates in _groups(df, date_col, event_col, group):
        nxt = np.searchsorted(event_dates, dates, side="left")  # first event date >= date
        found = nxt < len(event_dates)
        out[rows[found]] = _days(event_dates[nxt[found]] - dates[found])
    return pd.Series(out, index=df.index, name=f"{event_col}_until")


def rolling_count(
    df: pd.DataFrame,
    date_col: str,
    event_col: str,
    window_days: float,
    group: str | Sequence[str] | None = None,
    direction: str = "backward",
) -> pd.Series:
    """How many event rows of the same group fall in a window of ``window_days`` days.

    ``"backward"``: dates in ``(date - window, date]``, the row itself and the past
    (pandas' ``rolling("7D")`` window); ``"forward"``: ``[date, date + window)``, the
    row itself and the future. The Rossmann notebook's rolling 7-day sums of
    ``StateHoliday``, ``SchoolHoliday`` and ``Promo``, there over rows (one per day).
    """
    if direction not in ("backward", "forward"):
        raise ValueError(f'direction must be "backward" or "forward", got {direction!r}')
    if not window_days > 0:
        raise ValueError(f"window_days must be positive, got {window_days!r}")
    window = pd.Timedelta(days=window_days).to_timedelta64()
    out = np.zeros(len(df), dtype=np.int64)
    for rows, dates, event_dates in _groups(df, date_col, event_col, group):
        # number of event dates <= t (side="right") or < t (side="left"), for each row's t
        if direction == "backward":  # events in (t - window, t]
            hi = np.searchsorted(event_dates, dates, side="right")
            lo = np.searchsorted(event_dates, dates - window, side="right")
        else:  # events in [t, t + window)
            hi = np.searchsorted(event_dates, dates + window, side="left")
            lo = np.searchsorted(event_dates, dates, side="left")
        out[rows] = hi - lo
    return pd.Series(out, index=df.index, name=f"{event_col}_{direction}_{window_days:g}d")
