"""Our collaborative-filtering model against a recommender library, on the same split.

Trains :class:`course_utils.collab.EmbeddingDotBias` (50 factors, biases, a sigmoid range,
AdamW with weight decay 0.5, five epochs of one cycle at 2e-2, batches of 256: the chapter's
settings) and scikit-surprise's ``SVD`` with its defaults (100 factors, 20 epochs of SGD,
Funk's matrix factorisation with biases) on the same 80% of MovieLens 100k, and scores both
on the same validation ratings (the 20% held out at random with seed 42, less the few whose
film has no training rating). Each is trained ``--repeats`` times, interleaved, with seeds
0, 1, ...; the script prints each one's RMSE and seconds (best and median) and the ratios.

    python benchmarks/bench_collab.py            # the full run (about a minute on one core)
    python benchmarks/bench_collab.py --quick    # one repeat, two epochs of ours
"""

from __future__ import annotations

import argparse
import statistics
import time
from importlib.metadata import version

import torch
from surprise import SVD, Dataset, Reader, accuracy

from course_utils.collab import (
    collab_dataloaders,
    collab_learner,
    rating_range,
    read_ratings,
    split_ratings,
)
from course_utils.datasets import dataset_path


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, two epochs")
    parser.add_argument("--repeats", type=int, default=None, help="runs of each (3)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    epochs = 2 if args.quick else 5

    ratings = read_ratings(dataset_path("movielens") / "ratings.csv")
    train, valid = split_ratings(ratings, valid_pct=0.2, by="random", seed=42)
    warm = collab_dataloaders(train, valid, bs=256, seed=0)
    scored = valid[~valid.index.isin(warm.cold_valid.index)]
    triples = list(scored[["userId", "movieId", "rating"]].itertuples(index=False, name=None))
    print(
        f"MovieLens 100k: {len(train):,} training ratings, {len(scored):,} validation ratings "
        f"scored by both; torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"scikit-surprise {version('scikit-surprise')}"
    )

    def ours(seed: int) -> float:
        dls = collab_dataloaders(train, valid, bs=256, seed=seed)
        torch.manual_seed(seed)
        learn = collab_learner(
            dls, n_factors=50, y_range=rating_range(train), wd=0.5, verbose=False, device="cpu"
        )
        learn.fit_one_cycle(epochs, 2e-2)
        return learn.recorder.valid_losses[-1] ** 0.5

    def surprise_svd(seed: int) -> float:
        reader = Reader(rating_scale=(1, 5))
        trainset = Dataset.load_from_df(train[["userId", "movieId", "rating"]], reader)
        algo = SVD(random_state=seed).fit(trainset.build_full_trainset())
        return accuracy.rmse(algo.test(triples), verbose=False)

    results: dict[str, dict[str, list[float]]] = {
        name: {"rmse": [], "seconds": []} for name in ("ours", "surprise")
    }
    for seed in range(repeats):
        for name, run in (("ours", ours), ("surprise", surprise_svd)):
            start = time.perf_counter()
            rmse = run(seed)
            results[name]["seconds"].append(time.perf_counter() - start)
            results[name]["rmse"].append(rmse)

    print("| model | RMSE best / median | seconds best / median |")
    print("| --- | --- | --- |")
    labels = {"ours": "EmbeddingDotBias (course_utils)", "surprise": "surprise SVD (defaults)"}
    medians = {}
    for name, r in results.items():
        medians[name] = (statistics.median(r["rmse"]), statistics.median(r["seconds"]))
        print(
            f"| {labels[name]} | {min(r['rmse']):.4f} / {medians[name][0]:.4f} | "
            f"{min(r['seconds']):.2f} / {medians[name][1]:.2f} |"
        )
    rmse_ratio = medians["ours"][0] / medians["surprise"][0]
    time_ratio = medians["ours"][1] / medians["surprise"][1]
    print(f"ours / surprise (medians): RMSE {rmse_ratio:.3f}x, time {time_ratio:.2f}x")
    return {"rmse_ratio": rmse_ratio, "time_ratio": time_ratio}


if __name__ == "__main__":
    main()
