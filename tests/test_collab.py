"""course_utils.collab: checked ratings, id maps, loaders, the three models, the learner and
what a trained model says (biases, recommendations, the cold start)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from helpers import load_benchmark

from course_utils.collab import (
    EmbeddingDot,
    EmbeddingDotBias,
    EmbeddingNN,
    IdIndex,
    RatingsDataset,
    UnknownIdError,
    check_ratings,
    collab_dataloaders,
    collab_learner,
    factor_similarity,
    film_table,
    rating_range,
    read_ratings,
    recommend,
    scaled_sigmoid,
    split_ratings,
)


def low_rank_ratings(n_users=60, n_items=40, density=0.6, seed=0) -> pd.DataFrame:
    """Ratings 1-5 made from 2 hidden factors and biases, with a little noise: a model with
    factors can learn them, a mean cannot. Ids are not 0..n-1, as in MovieLens."""
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=(n_users, 2)), rng.normal(size=(n_items, 2))
    score = u @ v.T + rng.normal(scale=0.5, size=n_items) + 3.0  # (users, items)
    users, items = np.nonzero(rng.random((n_users, n_items)) < density)
    rating = np.clip(np.round(score[users, items] + rng.normal(0, 0.1, users.size)), 1, 5)
    return pd.DataFrame(
        {
            "userId": users * 10 + 3,
            "movieId": items + 1000,
            "rating": rating,
            "timestamp": rng.permutation(users.size),
        }
    )


# ----- check_ratings / read_ratings ----------------------------------------------------------
def test_check_ratings_names_missing_columns_and_what_it_found():
    table = pd.DataFrame({"user": [1], "movieId": [2], "stars": [4.0]})
    with pytest.raises(ValueError, match=r"no column\(s\) \['userId', 'rating'\].*found \['user'"):
        check_ratings(table)


def test_check_ratings_names_the_first_rating_that_is_not_a_number():
    table = pd.DataFrame({"userId": [1, 2, 3], "movieId": [1, 1, 1], "rating": ["4", "five", "x"]})
    bad = r"2 rating\(s\) are not numbers; the first is row 1: 'five'"
    with pytest.raises(ValueError, match=bad):
        check_ratings(table)
    numeric_text = check_ratings(table.iloc[:1])
    assert numeric_text.rating.dtype.kind == "f" and numeric_text.rating.iloc[0] == 4.0


def test_check_ratings_refuses_empty_tables_missing_ids_infinite_ratings_and_non_tables():
    with pytest.raises(ValueError, match="empty"):
        check_ratings(pd.DataFrame(columns=["userId", "movieId", "rating"]))
    with pytest.raises(ValueError, match="row 0 has no userId"):
        check_ratings(pd.DataFrame({"userId": [None], "movieId": [1], "rating": [3.0]}))
    with pytest.raises(ValueError, match="not numbers"):
        check_ratings(pd.DataFrame({"userId": [1], "movieId": [1], "rating": [np.inf]}))
    with pytest.raises(TypeError, match="DataFrame"):
        check_ratings([(1, 1, 3.0)])


def test_read_ratings_reads_a_csv_and_names_a_missing_file(tmp_path):
    low_rank_ratings().to_csv(tmp_path / "ratings.csv", index=False)
    assert len(read_ratings(tmp_path / "ratings.csv")) == len(low_rank_ratings())
    with pytest.raises(FileNotFoundError, match="no ratings file"):
        read_ratings(tmp_path / "nope.csv")
    pd.DataFrame({"u": [1], "i": [2], "r": [3]}).to_csv(tmp_path / "other.csv", index=False)
    assert len(read_ratings(tmp_path / "other.csv", user="u", item="i", rating="r")) == 1


# ----- split_ratings ---------------------------------------------------------------------------
def test_random_split_holds_out_the_share_asked_without_overlap():
    ratings = low_rank_ratings()
    train, valid = split_ratings(ratings, valid_pct=0.25, seed=1)
    assert len(valid) == round(0.25 * len(ratings))
    assert set(train.index).isdisjoint(valid.index)
    assert set(train.index) | set(valid.index) == set(ratings.index)
    again = split_ratings(ratings, valid_pct=0.25, seed=1)[1]
    assert valid.index.equals(again.index)  # seeded


def test_split_by_time_holds_out_the_latest_ratings():
    ratings = low_rank_ratings()
    train, valid = split_ratings(ratings, valid_pct=0.2, by="time")
    assert valid.timestamp.min() > train.timestamp.max()


def test_split_errors():
    ratings = low_rank_ratings()
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_ratings(ratings, valid_pct=1.0)
    with pytest.raises(ValueError, match="'random' or 'time'"):
        split_ratings(ratings, by="user")
    with pytest.raises(ValueError, match="needs a 'timestamp' column"):
        split_ratings(ratings.drop(columns="timestamp"), by="time")
    with pytest.raises(ValueError, match="too few"):
        split_ratings(ratings.iloc[:1], valid_pct=0.2)


# ----- IdIndex ------------------------------------------------------------------------------------
def test_id_index_round_trips_and_answers_unknown_ids_by_name():
    index = IdIndex([30, 10, 20, 10], "user")
    assert len(index) == 3 and list(index.ids) == [10, 20, 30]
    rows = index.encode(np.array([30, 10]))
    assert rows.dtype == np.int64 and list(rows) == [2, 0]
    assert list(index.decode(rows)) == [30, 10]
    assert np.int64(20) in index and 40 not in index
    assert list(index.known([10, 40])) == [True, False]
    with pytest.raises(UnknownIdError) as error:
        index.encode([10, 40, 50, 40])
    assert error.value.unknown == [40, 50]
    assert str(error.value).startswith("2 user id(s) not in the training ratings: 40, 50.")
    assert "cold start" in str(error.value)
    many = IdIndex([0], "film")
    with pytest.raises(UnknownIdError, match=r"1, 2, 3, 4, 5 and 2 more"):
        many.encode(range(1, 8))


# ----- loaders -----------------------------------------------------------------------------------
def test_loaders_batch_the_ratings_and_set_cold_ones_aside():
    ratings = low_rank_ratings()
    train, valid = split_ratings(ratings, 0.2, seed=0)
    stranger = pd.DataFrame({"userId": [99_999], "movieId": [1000], "rating": [4.0],
                             "timestamp": [0]})  # fmt: skip
    valid = pd.concat([valid, stranger])
    dls = collab_dataloaders(train, valid, bs=16, seed=3)
    assert len(dls.cold_valid) >= 1 and 99_999 in set(dls.cold_valid.userId)
    (users, items), target = next(iter(dls.train_dl))
    assert users.shape == items.shape == target.shape == (16,)
    assert users.dtype == items.dtype == torch.long and target.dtype == torch.float32
    assert int(users.max()) < len(dls.users) and int(items.max()) < len(dls.items)
    n_valid = sum(len(t) for _, t in dls.valid_dl)
    assert n_valid == len(valid) - len(dls.cold_valid)
    first, second = (
        [t for _, t in collab_dataloaders(train, valid, bs=16, seed=3).train_dl] for _ in range(2)
    )
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))  # seeded order
    rows_u, rows_i = dls.encode([train.userId.iloc[0]], [train.movieId.iloc[0]])
    assert rows_u.dtype == torch.long and rows_i.shape == (1,)
    with pytest.raises(UnknownIdError, match="user"):
        dls.encode([99_999], [1000])


def test_loaders_errors():
    ratings = low_rank_ratings()
    train, valid = split_ratings(ratings, 0.2, seed=0)
    with pytest.raises(ValueError, match="bs must be a positive int"):
        collab_dataloaders(train, valid, bs=0)
    strangers = valid.assign(userId=-1)
    with pytest.raises(ValueError, match="no validation rating has both"):
        collab_dataloaders(train, strangers)
    with pytest.raises(ValueError, match="no column"):
        collab_dataloaders(train.drop(columns="rating"), valid)


def test_ratings_dataset_fetches_a_batch_as_its_items_would():
    ds = RatingsDataset(np.array([0, 1, 2]), np.array([2, 0, 1]), np.array([1.0, 4.0, 5.0]))
    (users, items), target = ds.__getitems__([2, 0])
    singles = [ds[i] for i in (2, 0)]
    assert users.tolist() == [s[0][0].item() for s in singles]
    assert items.tolist() == [s[0][1].item() for s in singles]
    assert target.tolist() == [s[1].item() for s in singles]


# ----- models ------------------------------------------------------------------------------------
def test_embedding_dot_is_the_dot_product_of_the_two_rows():
    torch.manual_seed(0)
    model = EmbeddingDot(5, 4, n_factors=3)
    users, items = torch.tensor([0, 4, 2]), torch.tensor([3, 0, 3])
    expected = (model.user_factors.weight[users] * model.item_factors.weight[items]).sum(1)
    assert torch.allclose(model(users, items), expected)
    assert model.user_factors.weight.min() >= 0 and model.user_factors.weight.max() < 0.05


def test_embedding_dot_bias_is_the_2018_formula():
    torch.manual_seed(0)
    model = EmbeddingDotBias(5, 4, n_factors=3, y_range=(0.5, 5.5))
    for table in (model.user_factors, model.item_factors, model.user_bias, model.item_bias):
        torch.nn.init.normal_(table.weight)  # large values, so the range matters
    users, items = torch.tensor([0, 4, 2, 1]), torch.tensor([3, 0, 3, 2])
    w = {name: getattr(model, name).weight for name in
         ("user_factors", "item_factors", "user_bias", "item_bias")}  # fmt: skip
    raw = (w["user_factors"][users] * w["item_factors"][items]).sum(1)
    raw = raw + w["user_bias"][users, 0] + w["item_bias"][items, 0]
    out = model(users, items)
    assert torch.allclose(out, 0.5 + 5.0 * torch.sigmoid(raw))
    assert ((out > 0.5) & (out < 5.5)).all()
    unbounded = EmbeddingDotBias(5, 4, 3)
    unbounded.load_state_dict(model.state_dict())
    assert torch.allclose(unbounded(users, items), raw)


def test_embedding_nn_output_shape_range_and_dropout():
    torch.manual_seed(0)
    model = EmbeddingNN(6, 5, n_factors=4, n_hidden=7, y_range=(1.0, 5.0))
    users, items = torch.arange(5), torch.arange(5)
    model.eval()
    out = model(users, items)
    assert out.shape == (5,) and ((out > 1) & (out < 5)).all()
    assert torch.equal(out, model(users, items))  # no dropout at evaluation
    assert model.hidden.in_features == 8 and model.out.in_features == 7


def test_model_argument_errors():
    with pytest.raises(ValueError, match="n_users must be a positive int"):
        EmbeddingDot(0, 3)
    with pytest.raises(ValueError, match="n_factors must be a positive int"):
        EmbeddingDotBias(3, 3, n_factors=2.5)
    with pytest.raises(ValueError, match="low < high"):
        EmbeddingDotBias(3, 3, y_range=(5, 1))
    with pytest.raises(ValueError, match="n_hidden must be a positive int"):
        EmbeddingNN(3, 3, n_hidden=0)


def test_scaled_sigmoid():
    x = torch.tensor([-100.0, 0.0, 100.0])
    assert torch.allclose(scaled_sigmoid(x, (1.0, 5.0)), torch.tensor([1.0, 3.0, 5.0]))
    assert scaled_sigmoid(x, None) is x


# ----- learner -----------------------------------------------------------------------------------
def test_rating_range_reaches_half_a_star_past_each_end():
    assert rating_range(pd.DataFrame({"rating": [1, 3, 5]})) == (0.5, 5.5)


@pytest.mark.parametrize("neural", [False, True])
def test_collab_learner_learns_low_rank_ratings_better_than_their_mean(neural):
    ratings = low_rank_ratings(n_users=80, n_items=50, density=0.7)
    train, valid = split_ratings(ratings, 0.2, seed=0)
    dls = collab_dataloaders(train, valid, bs=64, seed=0)
    torch.manual_seed(0)
    learn = collab_learner(dls, n_factors=8, y_range=rating_range(train), neural=neural,
                           n_hidden=32, wd=0.05, verbose=False, device="cpu")  # fmt: skip
    assert isinstance(learn.model, EmbeddingNN if neural else EmbeddingDotBias)
    assert learn.loss_func is F.mse_loss and learn.opt_func is torch.optim.AdamW
    learn.fit_one_cycle(10, 3e-2)
    warm = valid[~valid.index.isin(dls.cold_valid.index)]
    mean_mse = float(((warm.rating - train.rating.mean()) ** 2).mean())
    assert learn.recorder.valid_losses[-1] < 0.75 * mean_mse


# ----- interpret ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    ratings = low_rank_ratings(n_users=80, n_items=50, density=0.7)
    train, valid = split_ratings(ratings, 0.2, seed=0)
    dls = collab_dataloaders(train, valid, bs=64, seed=0)
    torch.manual_seed(0)
    learn = collab_learner(dls, n_factors=8, y_range=rating_range(train), wd=0.05,
                           verbose=False, device="cpu")  # fmt: skip
    learn.fit_one_cycle(6, 3e-2)
    movies = pd.DataFrame({"movieId": dls.items.ids, "title": [f"film {i}" for i in dls.items.ids]})
    return learn.model, dls, train, movies


def test_film_table_matches_the_model_and_the_counts(trained):
    model, dls, train, movies = trained
    table = film_table(model, dls, train, movies)
    columns = ["movieId", "title", "bias", "mean_rating", "n_ratings", "factors"]
    assert list(table.columns) == columns
    assert len(table) == len(dls.items)
    row = table.iloc[3]
    assert row.title == f"film {row.movieId}"
    mine = train[train.movieId == row.movieId].rating
    assert row.n_ratings == len(mine) and row.mean_rating == pytest.approx(mine.mean())
    assert row.bias == pytest.approx(model.item_bias.weight[3, 0].item())
    assert np.allclose(row.factors, model.item_factors.weight[3].detach().numpy())


def test_recommendations_are_unseen_best_first_and_their_parts_add_up(trained):
    model, dls, train, movies = trained
    user = int(train.userId.iloc[0])
    picks = recommend(model, dls, user, train, movies, n=5)
    seen = set(train.movieId[train.userId == user])
    assert len(picks) == 5 and not seen & set(picks.movieId)
    assert (np.diff(picks.predicted) <= 0).all()
    model.eval()
    with torch.no_grad():
        direct = model(*dls.encode([user] * 5, picks.movieId.to_numpy())).double().numpy()
    assert np.allclose(picks.predicted, direct, atol=1e-5)  # the model's own predictions
    raw = picks.film_bias + picks.user_bias + picks.taste
    low, high = model.y_range
    assert np.allclose(low + (high - low) / (1 + np.exp(-raw)), picks.predicted)
    liked = set(movies.title[movies.movieId.isin(train.movieId[(train.userId == user)
                                                              & (train.rating >= 4)])])  # fmt: skip
    assert set(picks.because_you_liked) <= liked


def test_a_new_user_gets_the_cold_start_answer(trained):
    model, dls, train, movies = trained
    picks = recommend(model, dls, -7, train, movies, n=4)
    assert picks.predicted.isna().all() and (np.diff(picks.film_bias) <= 0).all()
    assert picks.reason.str.contains("user -7 is new").all()
    biases = model.item_bias.weight[:, 0].detach().numpy()
    assert picks.film_bias.iloc[0] == pytest.approx(biases.max())


def test_recommend_errors(trained):
    model, dls, train, movies = trained
    with pytest.raises(TypeError, match="EmbeddingDotBias"):
        recommend(EmbeddingNN(3, 3), dls, 3, train)
    with pytest.raises(ValueError, match="n must be a positive int"):
        recommend(model, dls, 3, train, n=0)


def test_factor_similarity_is_the_cosine():
    factors = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    sim = factor_similarity(factors, [0], [0, 1, 2])
    assert np.allclose(sim, [[1.0, 0.0, np.sqrt(0.5)]])


# ----- the benchmark -----------------------------------------------------------------------------
def test_the_peer_benchmark_runs_and_compares_on_the_same_ratings(capsys):
    ratios = load_benchmark("bench_collab").main(["--quick"])
    assert set(ratios) == {"rmse_ratio", "time_ratio"}
    assert 0.5 < ratios["rmse_ratio"] < 1.5 and ratios["time_ratio"] > 0
    out = capsys.readouterr().out
    assert "80,000 training ratings" in out and "surprise SVD (defaults)" in out
