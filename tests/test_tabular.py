"""course_utils.tabular on small hand-made tables with known answers, and one short training run
that shows the embedding network learns a category's effect."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

import course_utils.tabular
from course_utils import metrics as course_metrics
from course_utils.learner import Learner
from course_utils.profile import PROFILES
from course_utils.tabular import (
    NA_LABEL,
    TabularDataset,
    TabularModel,
    TabularProcessor,
    add_date_features,
    add_event_features,
    elapsed_since,
    elapsed_until,
    embedded_inputs,
    embedding_pca,
    embedding_sizes,
    embedding_table,
    exp_rmspe,
    join_checked,
    prepare,
    rmspe,
    rolling_count,
    split_last_days,
    tabular_dataloaders,
    tabular_learner,
)

# ----- dates ------------------------------------------------------------------------------


def test_date_features_of_known_dates():
    df = pd.DataFrame({"Date": ["2011-01-01 13:00", "2015-07-31", "2012-12-31"], "x": [1, 2, 3]})
    out = add_date_features(df, "Date", time=True)
    assert "Date" not in out.columns and list(out["x"]) == [1, 2, 3]
    first = out.iloc[0]
    # 2011-01-01 is a Saturday (Monday=0), in ISO week 52 of 2010, the first day of its year
    assert (first["Year"], first["Month"], first["Day"]) == (2011, 1, 1)
    assert (first["Dayofweek"], first["Week"], first["Dayofyear"], first["Hour"]) == (5, 52, 1, 13)
    assert first["Is_year_start"] and first["Is_month_start"] and first["Is_quarter_start"]
    assert not first["Is_year_end"]
    assert first["Elapsed"] == 1293886800  # 2011-01-01 13:00 UTC, seconds since 1970
    assert out["Elapsed"].dtype == np.int64
    # the last day of July 2015, a Friday; of 2012, a Monday in ISO week 1 of 2013
    assert out.iloc[1]["Is_month_end"] and not out.iloc[1]["Is_quarter_end"]
    assert out.iloc[1]["Dayofweek"] == 4
    last = out.iloc[2]
    assert last["Is_year_end"] and last["Is_quarter_end"] and last["Week"] == 1
    assert last["Dayofyear"] == 366  # a leap year


def test_date_features_prefix_keep_and_missing_dates():
    df = pd.DataFrame({"saledate": pd.to_datetime(["2011-01-01", None])})
    out = add_date_features(df, "saledate", drop=False)
    assert "saledate" in out.columns and "saleYear" in out.columns  # 2018's prefix rule
    assert "saleHour" not in out.columns  # time=False
    assert out["saleYear"].iloc[0] == 2011 and pd.isna(out["saleYear"].iloc[1])
    assert pd.isna(out["saleIs_year_start"].iloc[1])  # missing, not False
    assert list(df.columns) == ["saledate"]  # the input is not changed
    assert list(add_date_features(df, "saledate", prefix="d_").columns)[0] == "d_Year"


def test_a_date_that_does_not_parse_names_its_rows():
    df = pd.DataFrame({"when": ["2011-01-01", "soon", None, "2011-13-01"]}, index=[7, 8, 9, 10])
    with pytest.raises(ValueError, match=r"'when'.*2 of 4.*row 8: 'soon'.*row 10: '2011-13-01'"):
        add_date_features(df, "when")
    with pytest.raises(KeyError, match=r"'date'.*\['when'\]"):
        add_date_features(df, "date")
    with pytest.raises(ValueError, match="holds numbers"):  # 20110101 is not nanoseconds
        add_date_features(pd.DataFrame({"when": [20110101]}), "when")


@pytest.fixture
def promos() -> pd.DataFrame:
    """Two stores' days, shuffled; store 1 has promotions on Jan 2 and Jan 6."""
    days = pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-05", "2020-01-06"])
    df = pd.DataFrame(
        {
            "date": [*days, *days[:3]],
            "store": [1] * 5 + [2] * 3,
            "promo": [False, True, False, False, True, True, False, False],
        }
    )
    return df.sample(frac=1, random_state=0)  # the functions must not rely on the row order


def by_store_and_date(df: pd.DataFrame, values: pd.Series) -> list:
    ordered = values.loc[df.sort_values(["store", "date"]).index]
    return [None if pd.isna(v) else v for v in ordered]


def test_elapsed_since_and_until_per_group(promos):
    since = elapsed_since(promos, "date", "promo", group="store")
    until = elapsed_until(promos, "date", "promo", group="store")
    assert since.index.equals(promos.index)
    #                                   store 1: 1st 2nd 3rd 5th 6th | store 2: 1st 2nd 3rd
    assert by_store_and_date(promos, since) == [None, 0, 1, 3, 0, 0, 1, 2]
    assert by_store_and_date(promos, until) == [1, 0, 3, 1, 0, 0, None, None]
    # without groups, store 2's promotion on the 1st counts for store 1 too
    assert by_store_and_date(promos, elapsed_since(promos, "date", "promo"))[0] == 0


def test_since_reads_no_future(promos):
    since = elapsed_since(promos, "date", "promo", group="store")
    changed = promos.copy()
    future = (changed["store"] == 1) & (changed["date"] >= "2020-01-05")
    changed.loc[future, "promo"] = ~changed.loc[future, "promo"]  # rewrite the future
    after = elapsed_since(changed, "date", "promo", group="store")
    past = ~future
    pd.testing.assert_series_equal(since[past], after[past])
    assert not since[future].equals(after[future])
    backward = rolling_count(promos, "date", "promo", 2, group="store")
    changed_backward = rolling_count(changed, "date", "promo", 2, group="store")
    pd.testing.assert_series_equal(backward[past], changed_backward[past])


def test_rolling_counts_backward_and_forward(promos):
    back = rolling_count(promos, "date", "promo", 3, group="store")
    fwd = rolling_count(promos, "date", "promo", 3, group="store", direction="forward")
    # backward: promotions in (date - 3 days, date]; forward: in [date, date + 3 days)
    assert by_store_and_date(promos, back) == [0, 1, 1, 0, 1, 1, 1, 1]
    assert by_store_and_date(promos, fwd) == [1, 1, 0, 1, 1, 1, 0, 0]
    assert back.dtype == np.int64
    with pytest.raises(ValueError, match="direction"):
        rolling_count(promos, "date", "promo", 3, direction="sideways")


def test_hourly_dates_give_fractions_of_a_day():
    df = pd.DataFrame(
        {"t": pd.date_range("2011-01-01", periods=4, freq="6h"), "rain": [1, 0, 0, 0]}
    )
    assert list(elapsed_since(df, "t", "rain")) == [0, 0.25, 0.5, 0.75]
    with pytest.raises(ValueError, match="True/False"):
        elapsed_since(df.assign(rain=["yes", "no", "no", "no"]), "t", "rain")


# ----- processing ---------------------------------------------------------------------------


@pytest.fixture
def train_valid() -> tuple[pd.DataFrame, pd.DataFrame]:
    train = pd.DataFrame(
        {
            "shop": ["a", "b", None, "a"],  # a missing category: code 0
            "x": [1.0, np.nan, 3.0, 5.0],  # a missing value in training: x_na is added
            "z": [2.0, 2.0, 2.0, 2.0],  # constant: std 0 -> 1
            "w": [0.0, 1.0, 2.0, 3.0],  # no missing value in training
            "y": [1.0, 2.0, 3.0, 4.0],
        }
    )
    valid = pd.DataFrame(
        {
            "shop": ["c", "b"],  # "c": unseen in training
            "x": [1e6, np.nan],  # extreme values must not change the statistics
            "z": [2.0, 3.0],
            "w": [np.nan, 1e9],  # missing only in validation: median, no indicator
            "y": [5.0, 6.0],
        }
    )
    return train, valid


def test_processor_codes_fills_and_normalises(train_valid):
    train, valid = train_valid
    proc = TabularProcessor(["shop"], ["x", "z", "w"], y_name="y").fit(train)
    assert proc.na_columns == ["x"] and proc.all_cat_names == ["shop", "x_na"]
    assert proc.classes == {"shop": [NA_LABEL, "a", "b"], "x_na": [NA_LABEL, False, True]}
    assert proc.cardinalities == [3, 3]
    cats, conts, y = proc.transform(valid)
    assert cats.dtype == torch.long and conts.dtype == torch.float32
    assert (cats.shape, conts.shape, y.shape) == ((2, 2), (2, 3), (2, 1))
    assert cats.tolist() == [[0, 1], [2, 2]]  # unseen "c" -> 0; x missing -> x_na True -> 2
    # x: median 3 fills the gap; mean and std of the filled training column [1, 3, 3, 5]
    mean, std = 3.0, math.sqrt(2.0)
    assert conts[:, 0].tolist() == pytest.approx([(1e6 - mean) / std, 0.0])
    assert conts[:, 1].tolist() == [0.0, 1.0]  # z: mean 2, std 0 -> 1
    w_mean, w_std = 1.5, float(np.std([0, 1, 2, 3]))
    assert conts[:, 2].tolist() == pytest.approx([0.0, (1e9 - w_mean) / w_std], rel=1e-6)
    assert y.flatten().tolist() == [5.0, 6.0]
    cats, _, _ = proc.transform(train)
    assert cats[:, 0].tolist() == [1, 2, 0, 1]  # the missing shop -> 0
    # a pandas categorical column keeps its declared order (here: "small" < "big")
    sizes = pd.Categorical(["big", "small", "big", "small"], categories=["small", "big"])
    ordered = TabularProcessor(["size"], []).fit(train.assign(size=sizes))
    assert ordered.classes["size"] == [NA_LABEL, "small", "big"]


def test_processor_uses_the_training_rows_only(train_valid):
    train, valid = train_valid
    proc = TabularProcessor(["shop"], ["x", "w"]).fit(train)
    stats = (dict(proc.medians), dict(proc.means), dict(proc.stds))
    proc.transform(valid)
    assert (proc.medians, proc.means, proc.stds) == stats
    # refitting on training rows plus extreme validation rows would change them
    both = TabularProcessor(["shop"], ["x", "w"]).fit(pd.concat([train, valid]))
    assert both.means["x"] > 1e5 and proc.means["x"] == 3.0
    # the same numbers as scikit-learn's median imputer (with indicators) and scaler
    imputer = SimpleImputer(strategy="median", add_indicator=True).fit(train[["x", "w"]])
    filled = imputer.transform(valid[["x", "w"]])
    scaler = StandardScaler().fit(imputer.transform(train[["x", "w"]])[:, :2])
    _, conts, y = proc.transform(valid)
    assert y is None
    np.testing.assert_allclose(conts.numpy(), scaler.transform(filled[:, :2]), rtol=1e-6)


def test_processor_errors_name_the_columns(train_valid):
    train, _ = train_valid
    with pytest.raises(KeyError, match=r"\['sales'\].*\['shop', 'x', 'z', 'w', 'y'\]"):
        TabularProcessor(["shop", "sales"], ["x"]).fit(train)
    proc = TabularProcessor(["shop"], ["x"]).fit(train)
    with pytest.raises(KeyError, match=r"\['x'\] are not in the table"):
        proc.transform(train.drop(columns="x"))
    with pytest.raises(RuntimeError, match="fit"):
        TabularProcessor(["shop"], ["x"]).transform(train)
    with pytest.raises(ValueError, match="both"):
        TabularProcessor(["shop"], ["shop"])
    with pytest.raises(ValueError, match="'shop'.*convert it to numbers"):
        TabularProcessor([], ["shop"]).fit(train)


def test_embedding_sizes_follow_the_2018_rule():
    assert embedding_sizes([8, 3, 1116, 100, 101]) == [
        (8, 4),
        (3, 2),
        (1116, 50),
        (100, 50),
        (101, 50),
    ]
    assert embedding_sizes([98, 99]) == [(98, 49), (99, 50)]
    with pytest.raises(ValueError, match=r"cardinalities\[0\]"):
        embedding_sizes([0])


# ----- model -------------------------------------------------------------------------------


def test_model_shapes_and_y_range():
    torch.manual_seed(0)
    model = TabularModel([(5, 3), (8, 4)], n_cont=2, n_out=1, layers=[16, 8], ps=[0.1, 0.1])
    cats = torch.tensor([[0, 7], [4, 1], [2, 3]])  # (B=3, n_cat=2)
    conts = torch.randn(3, 2)  # (B, n_cont)
    assert model(cats, conts).shape == (3, 1)
    bounded = TabularModel([(5, 3)], n_cont=2, n_out=2, layers=[16], ps=[0.0], y_range=(1.0, 3.0))
    with torch.no_grad():
        bounded.head.bias.fill_(5.0)  # push the logits far out
        out = bounded.eval()(torch.tensor([[4], [0]]), torch.tensor([[1e4, -1e4], [-1e4, 1e4]]))
    assert out.shape == (2, 2)
    # float32's sigmoid reaches exactly 1 for logits beyond ~17: closed bounds, never beyond
    assert ((out >= 1.0) & (out <= 3.0)).all()
    moderate = bounded(torch.tensor([[1]]), torch.zeros(1, 2))
    assert moderate.min() > 1.0 and moderate.max() < 3.0
    no_cats = TabularModel([], n_cont=2, layers=[4], ps=[0.0])
    assert no_cats(torch.zeros(2, 0, dtype=torch.long), torch.randn(2, 2)).shape == (2, 1)
    with pytest.raises(ValueError, match=r"cats must be \(batch, 1\)"):
        bounded(cats, conts)


def test_dataset_items_fit_the_learner():
    cats, conts, y = torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, 1), torch.zeros(3, 1)
    (inputs, target) = TabularDataset(cats, conts, y)[0]
    assert len(inputs) == 2 and target.shape == (1,)
    assert len(TabularDataset(cats, conts)[0]) == 1  # inputs alone: a test set
    with pytest.raises(ValueError, match="as many rows"):
        TabularDataset(cats, conts[:2])


# ----- metrics -------------------------------------------------------------------------------


def test_rmspe_against_a_hand_computation():
    pred, target = np.array([90.0, 110.0, 50.0]), np.array([100.0, 100.0, 40.0])
    expected = math.sqrt((0.1**2 + 0.1**2 + 0.25**2) / 3)
    assert rmspe(pred, target) == pytest.approx(expected)
    value = rmspe(torch.tensor(pred).view(-1, 1), torch.tensor(target))  # (N, 1) and (N,)
    assert isinstance(value, torch.Tensor) and float(value) == pytest.approx(expected)
    logs = torch.log(torch.tensor(pred)), torch.log(torch.tensor(target))
    assert float(exp_rmspe(*logs)) == pytest.approx(expected)
    assert float(course_metrics.exp_rmspe(*logs)) == pytest.approx(expected)  # the same formula


def test_rmspe_refuses_zero_targets():
    with pytest.raises(ValueError, match=r"2 of 3 targets are 0.*zero sales"):
        rmspe([1.0, 2.0, 3.0], [0.0, 2.0, 0.0])
    with pytest.raises(ValueError, match="same shape"):
        rmspe([1.0, 2.0], [1.0, 2.0, 3.0])


# ----- end to end -------------------------------------------------------------------------------


def shop_table(n: int, seed: int) -> pd.DataFrame:
    """y = exp(3 + the shop's effect + 0.5 x): the category carries most of the signal."""
    rng = np.random.default_rng(seed)
    effects = {"a": 0.0, "b": 1.0, "c": 2.0, "d": -1.0, "e": 0.5}
    shop = rng.choice(list(effects), n)
    x = rng.normal(size=n)
    log_y = 3 + np.array([effects[s] for s in shop]) + 0.5 * x
    return pd.DataFrame({"shop": shop, "x": x, "log_y": log_y})


def test_the_embedding_network_learns_a_category_effect():
    train, valid = shop_table(480, seed=0), shop_table(120, seed=1)
    proc = TabularProcessor(["shop"], ["x"], y_name="log_y")
    dls = tabular_dataloaders(proc, train, valid, bs=32)
    torch.manual_seed(0)
    y_range = (0.0, 1.2 * train["log_y"].max())
    model = TabularModel(
        embedding_sizes(proc.cardinalities),
        1,
        layers=[32, 16],
        ps=[0, 0],
        emb_drop=0,
        y_range=y_range,
    )
    learn = Learner(
        dls,
        model,
        loss_func=F.mse_loss,
        opt_func=torch.optim.Adam,
        metrics=[exp_rmspe],
        device="cpu",
        verbose=False,
    )
    learn.fit_one_cycle(5, 1e-2)
    preds, targets = learn.get_preds()
    assert preds.shape == targets.shape == (120, 1)
    learned = float(exp_rmspe(preds, targets))
    assert learned == pytest.approx(learn.recorder.metrics["exp_rmspe"][-1], rel=1e-5)
    median = rmspe(np.full(len(valid), np.exp(train["log_y"]).median()), np.exp(valid["log_y"]))
    assert median > 1.0 and learned < 0.3  # the median is off by >100%, the network by <30%
    # the embeddings: one row per code, "#na#" first, and their 2-D projection
    table = embedding_table(model, proc, "shop")
    assert table.shape == (6, 3) and list(table.index) == [NA_LABEL, "a", "b", "c", "d", "e"]
    coords = embedding_pca(model, proc, "shop")
    assert list(coords.columns) == ["shop", "pc1", "pc2"] and len(coords) == 5
    with pytest.raises(KeyError, match="'x'"):
        embedding_table(model, proc, "x")
    # a test table (no target) gives predictions alone
    test_dls = tabular_dataloaders(proc, train, valid, bs=32, test_df=valid.drop(columns="log_y"))
    test_preds, none = learn.get_preds(dl=test_dls.test_dl)
    assert none is None and torch.allclose(test_preds, preds)


def test_the_package_exports_every_public_name_of_its_modules():
    modules = ["dates", "processing", "model", "metrics", "embeddings", "learner", "rossmann"]
    names = set()
    for module in modules:
        names |= set(importlib.import_module(f"course_utils.tabular.{module}").__all__)
    assert names == set(course_utils.tabular.__all__)


# ----- the pipeline in one call ----------------------------------------------------------


def test_join_checked_names_the_keys_without_a_partner():
    left = pd.DataFrame({"Store": [1, 2, 7, 7], "Sales": [5, 6, 7, 8]})
    right = pd.DataFrame({"Store": [1, 2, 3], "Type": ["a", "b", "c"]})
    with pytest.raises(ValueError, match=r"2 rows found no partner on 'Store', e.g. keys \[7\]"):
        join_checked(left, right, on="Store")
    joined = join_checked(left[:2], right, on="Store")
    assert list(joined.columns) == ["Store", "Sales", "Type"] and list(joined["Type"]) == ["a", "b"]
    with pytest.raises(pd.errors.MergeError):  # a key twice on the right would duplicate rows
        join_checked(left[:2], pd.concat([right, right]), on="Store")
    with pytest.raises(KeyError, match="'Shop'"):
        join_checked(left, right, on="Shop")


def test_event_features_are_computed_per_day_and_joined_to_every_row():
    hours = pd.date_range("2011-07-01", periods=5 * 24, freq="h")  # 5 days, hourly
    df = pd.DataFrame({"Date": hours, "holiday": hours.day == 4})  # 4 July
    df["Day_date"] = df["Date"].dt.normalize()
    out, names = add_event_features(df, ["holiday"])
    assert names == ["holiday_since", "holiday_until", "holiday_bw", "holiday_fw"]
    assert len(out) == len(df) and (out["Date"] == df["Date"]).all()
    by_day = out.groupby("Day_date")[names].agg(["min", "max"])
    for name in names:  # every hour of a day gets its day's value
        mins, maxs = by_day[(name, "min")], by_day[(name, "max")]
        assert mins.fillna(-1).equals(maxs.fillna(-1))
    days = out.groupby(out["Date"].dt.day)[names].first()
    assert days["holiday_since"].iloc[:3].isna().all()  # no holiday before 4 July
    assert days["holiday_since"].tolist()[3:] == [0.0, 1.0]  # 4 July, then 5 July
    assert days["holiday_until"].tolist()[:4] == [3.0, 2.0, 1.0, 0.0]
    assert np.isnan(days.loc[5, "holiday_until"])  # no holiday after 4 July
    assert days["holiday_bw"].tolist() == [0, 0, 0, 1, 1]  # the 7 days up to each day
    assert days["holiday_fw"].tolist() == [1, 1, 1, 1, 0]  # the 7 days from each day on


def test_split_last_days_holds_out_whole_days_at_the_end():
    df = pd.DataFrame({"Day_date": pd.date_range("2011-01-01", periods=10, freq="D").repeat(2)})
    train, valid = split_last_days(df, 3)
    assert len(train) == 14 and len(valid) == 6
    assert valid["Day_date"].min() == pd.Timestamp("2011-01-08")
    assert train["Day_date"].max() < valid["Day_date"].min()
    with pytest.raises(ValueError, match="positive int"):
        split_last_days(df, 0)
    with pytest.raises(ValueError, match="no rows are left to train on"):
        split_last_days(df, 10)
    with pytest.raises(KeyError, match="'Day_date'"):
        split_last_days(df.rename(columns={"Day_date": "d"}), 3)


def test_prepare_gives_the_quick_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    tables = prepare(PROFILES["quick"])
    train, valid = tables.train, tables.valid
    assert (len(train), len(valid), tables.dropped_zero_rows) == (7641, 1004, 0)
    assert tables.target == "bikers" and (train["bikers"] > 0).all()
    assert valid["Day_date"].min() == pd.Timestamp("2011-11-20")  # 42 days to 31 December
    assert valid["Day_date"].max() == pd.Timestamp("2011-12-31")
    assert train["Date"].max() < valid["Date"].min()
    for name in [*tables.cat_names, *tables.cont_names]:
        assert name in train.columns and name in valid.columns
    # 4 July 2011 is a holiday: every hour of it has holiday_since 0, the next day 1
    july = train[train["Day_date"].isin(pd.to_datetime(["2011-07-04", "2011-07-05"]))]
    assert july.groupby("Day_date")["holiday_since"].unique().map(list).tolist() == [[0.0], [1.0]]
    # the weather was joined to every hour
    assert train[["temp", "weathersit"]].notna().all().all()


def test_tabular_learner_trains_and_the_embeddings_feed_other_models():
    train, valid = shop_table(480, seed=0), shop_table(120, seed=1)
    proc = TabularProcessor(["shop"], ["x"], y_name="log_y")
    dls = tabular_dataloaders(proc, train, valid, bs=32)
    torch.manual_seed(0)
    learn = tabular_learner(
        dls, proc, layers=[32, 16], ps=[0, 0], emb_drop=0,
        y_range=(0.0, 1.2 * train["log_y"].max()), metrics=[exp_rmspe], device="cpu",
        verbose=False,
    )  # fmt: skip
    assert learn.loss_func is F.mse_loss and isinstance(learn.opt_func(
        [torch.nn.Parameter(torch.zeros(1))], lr=1e-3), torch.optim.Adam)  # fmt: skip
    assert [e.embedding_dim for e in learn.model.embeds] == [3]  # min(50, (6 + 1) // 2)
    learn.fit_one_cycle(5, 1e-2)
    assert learn.recorder.metrics["exp_rmspe"][-1] < 0.3
    cats, conts, _ = proc.transform(valid)
    inputs = embedded_inputs(learn.model, cats)
    weight = learn.model.embeds[0].weight.detach().numpy()  # (6, 3)
    assert inputs.shape == (120, 3) and np.array_equal(inputs, weight[cats[:, 0].numpy()])
    with pytest.raises(ValueError, match=r"\(rows, 1\) codes"):
        embedded_inputs(learn.model, cats[:, 0])
    with pytest.raises(RuntimeError, match="not fitted"):
        tabular_learner(dls, TabularProcessor(["shop"], ["x"], y_name="log_y"))
