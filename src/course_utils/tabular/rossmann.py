"""Lesson 4's pipeline in one call: from the ``rossmann`` dataset's files to training and
validation tables, ready for a :class:`~course_utils.tabular.processing.TabularProcessor`.

The chapter *Structured data: from tables to features* builds these steps one cell at a
time and checks that :func:`prepare` gives the same tables; the chapters after it call
:func:`prepare`. The steps:

1. read the long table and the short one (:func:`read_tables`) and join them, left, with
   every row checked to find exactly one partner;
2. calendar features from the date (:func:`~course_utils.tabular.dates.add_date_features`);
3. days since and until each event and 7-day counts before and after it, computed on a
   table of days (per store) and joined back (:func:`add_event_features`);
4. drop the rows whose target is 0 (a closed store sells nothing; Kaggle did not score
   those days, and the notebook dropped them too);
5. hold out the last ``valid_days`` days (:func:`split_last_days`).

Each profile names its own columns (:class:`TableSpec`): Rossmann's stores and days in the
full profile, the bike-sharing stand-in's hours in the quick one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from course_utils.checks import read_csv_file
from course_utils.datasets import dataset_path
from course_utils.profile import Profile, current_profile
from course_utils.tabular.dates import (
    _column,
    add_date_features,
    elapsed_since,
    elapsed_until,
    rolling_count,
)

__all__ = [
    "DAY_COLUMN",
    "PreparedTables",
    "TableSpec",
    "add_event_features",
    "join_checked",
    "prepare",
    "read_tables",
    "split_last_days",
]

DAY_COLUMN = "Day_date"  # the date without its time ("Day" is the day of the month)


@dataclass(frozen=True)
class TableSpec:
    """What a profile's tables are: the key of the join, the group (a store) within which
    events are counted, the target, the event columns, whether rows are hourly, and the
    columns the model reads as categories and as numbers."""

    data: str
    join_on: str
    group: str | None
    target: str
    events: tuple[str, ...]
    hourly: bool
    cat_names: tuple[str, ...]
    cont_names: tuple[str, ...]


def _windows(events: Sequence[str]) -> list[str]:
    return [f"{event}_{suffix}" for event in events for suffix in ("bw", "fw")]


def _calendar(hourly: bool) -> list[str]:
    return ["Dayofweek", "Day", "Month", "Week", "Hour" if hourly else "Year"]


ROSSMANN_EVENTS = ("SchoolHoliday", "StateHoliday", "Promo")  # the notebook's three
ROSSMANN = TableSpec(
    data="Rossmann Store Sales (Kaggle): train.csv joined to store.csv",
    join_on="Store",
    group="Store",
    target="Sales",
    events=ROSSMANN_EVENTS,
    hourly=False,
    # the notebook's categories that train.csv and store.csv give directly
    cat_names=(
        "Store", "StoreType", "Assortment", "PromoInterval", "StateHoliday",
        "CompetitionOpenSinceYear", "Promo2SinceYear", *_calendar(False),
        *_windows(ROSSMANN_EVENTS),
    ),
    cont_names=(
        "CompetitionDistance", "Promo", "SchoolHoliday",
        "StateHoliday_since", "StateHoliday_until",
    ),
)  # fmt: skip
BIKESHARE = TableSpec(
    data="Capital Bikeshare's hourly rentals in 2011 (UCI Bike Sharing, from ISLP): "
    "train.csv joined to weather.csv",
    join_on="Date",
    group=None,
    target="bikers",
    events=("holiday",),  # the public holidays, on which every hour is marked
    hourly=True,
    cat_names=("weathersit", "holiday", "workingday", *_calendar(True), *_windows(["holiday"])),
    cont_names=("temp", "atemp", "hum", "windspeed", "holiday_since", "holiday_until"),
)


def read_tables(profile: Profile | None = None) -> tuple[pd.DataFrame, pd.DataFrame, TableSpec]:
    """``(long table, short table, spec)`` for the profile's ``rossmann`` dataset, dates parsed.

    In Rossmann, ``StateHoliday`` is ``"0"`` on ordinary days and a letter on a holiday;
    it becomes True/False (the notebook's ``!= '0'``).
    """
    profile = current_profile() if profile is None else profile
    root = dataset_path("rossmann", profile.data_source)
    # read_csv_file: a file that is not UTF-8 or holds a NUL byte is an error naming it
    if profile.data_source == "full":
        sales = read_csv_file(
            root / "train.csv", "sales table", parse_dates=["Date"], low_memory=False
        )
        other = read_csv_file(root / "store.csv", "stores table")
        sales["StateHoliday"] = sales["StateHoliday"].astype(str) != "0"
        return sales, other, ROSSMANN
    sales = read_csv_file(root / "train.csv", "rentals table", parse_dates=["Date"])
    other = read_csv_file(root / "weather.csv", "weather table", parse_dates=["Date"])
    return sales, other, BIKESHARE


def join_checked(left: pd.DataFrame, right: pd.DataFrame, on: str) -> pd.DataFrame:
    """``left`` joined to ``right`` on ``on`` (a left join, the notebook's ``join_df``);
    ValueError unless every row of ``left`` finds exactly one partner."""
    _column(left, on)  # KeyError naming the table's columns
    _column(right, on)
    joined = left.merge(right, on=on, how="left", validate="many_to_one", indicator=True)
    unmatched = joined["_merge"] != "both"
    if unmatched.any():
        keys = joined.loc[unmatched, on].unique()[:5].tolist()  # plain ints, not np.int64(7)
        raise ValueError(
            f"{int(unmatched.sum())} rows found no partner on {on!r}, e.g. keys {keys}"
        )
    return joined.drop(columns="_merge")


def add_event_features(
    df: pd.DataFrame,
    events: Sequence[str],
    group: str | None = None,
    window_days: int = 7,
    day_col: str = DAY_COLUMN,
) -> tuple[pd.DataFrame, list[str]]:
    """``df`` with ``<event>_since``, ``_until``, ``_bw`` and ``_fw`` for each event, and
    the names of those columns.

    Events are facts about days: they are computed on a table of one row per day (per
    ``group``), where a day has the event if any of its rows has it, and joined back on
    ``[group, day_col]``. ``_bw``/``_fw`` count the event days in the ``window_days``
    days up to and including the day, and from it on.
    """
    keys = [group] if group else []
    days = df.groupby([*keys, day_col], as_index=False)[list(events)].max()  # (days, events)
    for event in events:
        days[f"{event}_since"] = elapsed_since(days, day_col, event, group=group)
        days[f"{event}_until"] = elapsed_until(days, day_col, event, group=group)
        for direction, suffix in (("backward", "bw"), ("forward", "fw")):
            days[f"{event}_{suffix}"] = rolling_count(
                days, day_col, event, window_days, group=group, direction=direction
            )
    names = [c for c in days.columns if c not in [*keys, day_col, *events]]
    out = df.merge(days.drop(columns=list(events)), on=[*keys, day_col], how="left",
                   validate="many_to_one")  # fmt: skip
    return out, names


def split_last_days(
    df: pd.DataFrame, days: int, day_col: str = DAY_COLUMN
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, valid)``: ``valid`` holds the rows of the last ``days`` days (the last day
    included), ``train`` every earlier row. Copies, in the table's order."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a positive int, got {days!r}")
    day = _column(df, day_col)
    start = day.max() - pd.Timedelta(days=days - 1)
    is_valid = day >= start
    if is_valid.all():
        raise ValueError(f"the table covers {days} days or fewer: no rows are left to train on")
    return df[~is_valid].copy(), df[is_valid].copy()


@dataclass
class PreparedTables:
    """The training and validation rows, the columns to model, and where they came from."""

    train: pd.DataFrame
    valid: pd.DataFrame
    cat_names: list[str]
    cont_names: list[str]
    target: str
    spec: TableSpec
    dropped_zero_rows: int  # rows whose target was 0, left out before the split


def prepare(profile: Profile | None = None, valid_days: int = 42) -> PreparedTables:
    """The whole pipeline of the structured-data chapter, for the profile's data."""
    sales, other, spec = read_tables(profile)
    joined = join_checked(sales, other, on=spec.join_on)
    featured = add_date_features(joined, "Date", drop=False, time=spec.hourly)
    featured[DAY_COLUMN] = featured["Date"].dt.normalize()
    featured, _ = add_event_features(featured, spec.events, group=spec.group)
    positive = featured[spec.target] > 0  # a closed store's days: nothing to learn or score
    train, valid = split_last_days(featured[positive], valid_days)
    return PreparedTables(
        train=train,
        valid=valid,
        cat_names=list(spec.cat_names),
        cont_names=list(spec.cont_names),
        target=spec.target,
        spec=spec,
        dropped_zero_rows=int((~positive).sum()),
    )
