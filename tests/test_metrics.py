"""Metrics against scikit-learn and direct formulas; bad shapes give clear errors."""

from functools import partial

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from course_utils.metrics import (
    accuracy,
    accuracy_thresh,
    confusion_matrix,
    error_rate,
    exp_rmspe,
    fbeta,
    metric_name,
    per_class_accuracy,
    rmse,
    whole_set,
)


@pytest.fixture
def classified():
    g = torch.Generator().manual_seed(0)
    preds = torch.randn(50, 4, generator=g)  # (N, C) logits
    targets = torch.randint(0, 4, (50,), generator=g)  # (N,)
    return preds, targets


@pytest.fixture
def multilabel():
    g = torch.Generator().manual_seed(1)
    preds = torch.randn(40, 6, generator=g) * 2  # (N, C) logits
    targets = (torch.rand(40, 6, generator=g) < 0.3).long()  # (N, C) 0/1
    targets[:5] = 0  # rows with no labels at all
    return preds, targets


def test_accuracy_and_error_rate(classified):
    preds, targets = classified
    expected = np.mean(preds.numpy().argmax(1) == targets.numpy())
    assert accuracy(preds, targets).item() == pytest.approx(expected)
    assert error_rate(preds, targets).item() == pytest.approx(1 - expected)
    assert accuracy(preds.softmax(1), targets) == accuracy(preds, targets)  # probs or logits


@pytest.mark.parametrize("metric", [accuracy, error_rate])
def test_classification_shape_errors_name_both_shapes(metric, classified):
    preds, targets = classified
    with pytest.raises(ValueError, match=r"preds \(N, C\).*got preds \(50,\) and targets \(50,\)"):
        metric(preds[:, 0], targets)
    with pytest.raises(ValueError, match=r"got preds \(50, 4\) and targets \(49,\)"):
        metric(preds, targets[:49])


def test_accuracy_thresh_against_numpy(multilabel):
    preds, targets = multilabel
    probs = 1 / (1 + np.exp(-preds.numpy()))
    for thresh in (0.2, 0.5):
        expected = np.mean((probs > thresh) == targets.numpy().astype(bool))
        assert accuracy_thresh(preds, targets, thresh).item() == pytest.approx(expected)
    as_probs = accuracy_thresh(torch.from_numpy(probs), targets, 0.2, sigmoid=False)
    assert as_probs.item() == pytest.approx(accuracy_thresh(preds, targets, 0.2).item())


@pytest.mark.parametrize("zero_division", [0.0, 1.0])
@pytest.mark.parametrize(("beta", "thresh"), [(2.0, 0.2), (1.0, 0.5), (0.5, 0.7)])
def test_fbeta_matches_sklearn_samples_average(multilabel, beta, thresh, zero_division):
    preds, targets = multilabel
    predicted = (preds.sigmoid() > thresh).numpy().astype(int)
    expected = skm.fbeta_score(
        targets.numpy(), predicted, beta=beta, average="samples", zero_division=zero_division
    )
    got = fbeta(preds, targets, beta=beta, thresh=thresh, zero_division=zero_division)
    assert got.item() == pytest.approx(expected, abs=1e-6)


def test_fbeta_defaults_are_planets_f2(multilabel):
    preds, targets = multilabel
    predicted = (preds.sigmoid() > 0.2).numpy().astype(int)
    expected = skm.fbeta_score(targets.numpy(), predicted, beta=2, average="samples")
    assert fbeta(preds, targets).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("metric", [accuracy_thresh, fbeta])
def test_multilabel_shape_errors(metric, multilabel):
    preds, targets = multilabel
    with pytest.raises(ValueError, match=r"got preds \(40, 6\) and targets \(40,\)"):
        metric(preds, targets[:, 0])


def test_rmse_against_formula_and_column_shapes():
    g = torch.Generator().manual_seed(2)
    preds, targets = torch.randn(30, generator=g), torch.randn(30, generator=g)
    expected = np.sqrt(np.mean((preds.numpy() - targets.numpy()) ** 2))
    assert rmse(preds, targets).item() == pytest.approx(expected, rel=1e-6)
    assert rmse(preds[:, None], targets).item() == pytest.approx(expected, rel=1e-6)
    assert rmse(preds, targets[:, None]).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match=r"got preds \(30, 2\) and targets \(30,\)"):
        rmse(torch.zeros(30, 2), targets)


def test_exp_rmspe_is_rossmanns_metric_on_log_sales():
    rng = np.random.default_rng(3)
    sales = rng.uniform(1000, 9000, size=64)
    predicted = sales * rng.uniform(0.8, 1.2, size=64)
    expected = np.sqrt(np.mean(((sales - predicted) / sales) ** 2))
    got = exp_rmspe(torch.tensor(np.log(predicted))[:, None], torch.tensor(np.log(sales)))
    assert got.item() == pytest.approx(expected, rel=1e-5)
    assert exp_rmspe(torch.tensor(np.log(sales)), torch.tensor(np.log(sales))).item() == 0
    with pytest.raises(ValueError, match="exp_rmspe expects"):
        exp_rmspe(torch.zeros(3), torch.zeros(4))


def test_whole_set_marks_rmse_like_metrics_only():
    assert rmse.whole_set and exp_rmspe.whole_set
    assert not getattr(accuracy, "whole_set", False)

    @whole_set
    def my_metric(preds, targets):
        return preds.sum()

    assert my_metric.whole_set


def test_metric_names_see_through_partial():
    assert metric_name(accuracy) == "accuracy"
    assert metric_name(partial(partial(fbeta, beta=1), thresh=0.5)) == "fbeta"

    class Custom:
        def __call__(self, preds, targets):
            return preds.sum()

    assert metric_name(Custom()) == "Custom"


def test_confusion_matrix_matches_sklearn(classified):
    preds, targets = classified
    expected = skm.confusion_matrix(targets.numpy(), preds.numpy().argmax(1), labels=range(4))
    assert np.array_equal(confusion_matrix(preds, targets).numpy(), expected)
    # class indices work too, and n_classes pads classes that never occur
    indices = preds.argmax(1)
    assert np.array_equal(confusion_matrix(indices, targets).numpy(), expected)
    padded = confusion_matrix(indices, targets, n_classes=6).numpy()
    assert padded.shape == (6, 6) and np.array_equal(padded[:4, :4], expected)
    assert padded[4:].sum() == 0 and padded[:, 4:].sum() == 0


def test_confusion_matrix_shape_errors(classified):
    preds, targets = classified
    with pytest.raises(ValueError, match=r"\(N, C\) scores or \(N,\) class indices"):
        confusion_matrix(preds[:10, 0], targets)
    with pytest.raises(ValueError, match=r"got preds \(50, 4\) and targets \(10,\)"):
        confusion_matrix(preds, targets[:10])


def test_per_class_accuracy_is_recall_per_class(classified):
    preds, targets = classified
    expected = skm.recall_score(
        targets.numpy(), preds.numpy().argmax(1), average=None, labels=range(4)
    )
    assert np.allclose(per_class_accuracy(preds, targets).numpy(), expected)
    absent = per_class_accuracy(preds.argmax(1), targets, n_classes=5)
    assert torch.isnan(absent[4]) and np.allclose(absent[:4].numpy(), expected)
