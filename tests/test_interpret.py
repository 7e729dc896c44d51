"""Interpretation: confusion, most confused pairs, confident mistakes, uncertain examples."""

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.data import DataLoaders
from course_utils.interpret import Interpretation
from course_utils.learner import Learner


@pytest.fixture
def three_classes():
    g = torch.Generator().manual_seed(0)
    probs = torch.randn(60, 3, generator=g).mul(2).softmax(dim=1)  # (N, C)
    targets = torch.randint(0, 3, (60,), generator=g)  # (N,)
    return probs, targets


def test_confusion_matrix_and_per_class_accuracy(three_classes):
    probs, targets = three_classes
    interp = Interpretation(probs, targets, classes=["cat", "dog", "fox"])
    predicted = probs.argmax(dim=1).numpy()
    expected = sk_confusion_matrix(targets.numpy(), predicted, labels=range(3))
    assert np.array_equal(interp.confusion_matrix(), expected)
    per_class = interp.per_class_accuracy()
    assert list(per_class) == ["cat", "dog", "fox"]
    assert per_class["dog"] == pytest.approx(expected[1, 1] / expected[1].sum())
    assert interp.accuracy == pytest.approx(np.trace(expected) / 60)


def test_most_confused_lists_off_diagonal_cells_largest_first(three_classes):
    probs, targets = three_classes
    interp = Interpretation(probs, targets, classes=["cat", "dog", "fox"])
    cm = interp.confusion_matrix()
    pairs = interp.most_confused()
    assert [count for _, _, count in pairs] == sorted(cm[~np.eye(3, dtype=bool)], reverse=True)[
        : len(pairs)
    ]
    names = ["cat", "dog", "fox"]
    for actual, predicted, count in pairs:
        assert actual != predicted and cm[names.index(actual), names.index(predicted)] == count
    assert all(count >= 5 for _, _, count in interp.most_confused(min_count=5))


def test_most_confident_wrong_and_right(three_classes):
    probs, targets = three_classes
    interp = Interpretation(probs, targets)
    wrong = interp.most_confident_wrong(k=5)
    predicted = probs.argmax(dim=1).numpy()
    confidence = probs.max(dim=1).values.numpy()
    all_wrong = np.flatnonzero(predicted != targets.numpy())
    assert set(wrong.indices) == set(all_wrong[np.argsort(-confidence[all_wrong])[:5]])
    assert np.all(np.diff(wrong.probs) <= 0)  # most confident first
    assert np.allclose(wrong.probs, confidence[wrong.indices])
    assert np.all(wrong.predicted != wrong.actual)
    right = interp.most_confident_right(k=3, actual="1")
    assert np.all(right.actual == 1) and np.all(right.predicted == 1)
    assert np.all(np.diff(right.probs) <= 0)
    only_zeros = interp.most_confident_wrong(k=100, actual=0)
    assert set(only_zeros.indices) == set(all_wrong[targets.numpy()[all_wrong] == 0])


def test_most_uncertain_binary_is_closest_to_one_half():
    p_dog = torch.tensor([0.9, 0.52, 0.1, 0.45, 0.7, 0.5, 0.01])  # (N,) P(class 1)
    targets = torch.tensor([1, 0, 0, 1, 1, 0, 0])
    interp = Interpretation(p_dog, targets, classes=["cat", "dog"])
    uncertain = interp.most_uncertain(k=3)
    assert list(uncertain.indices) == [5, 1, 3]
    assert interp.most_confident_wrong(k=2).indices.tolist() == [3, 1]  # P(cat) 0.55, P(dog) 0.52


def test_most_uncertain_multiclass_has_the_smallest_top2_margin():
    probs = torch.tensor([[0.8, 0.1, 0.1], [0.4, 0.35, 0.25], [0.34, 0.33, 0.33], [0.1, 0.6, 0.3]])
    interp = Interpretation(probs, torch.tensor([0, 1, 2, 1]))
    uncertain = interp.most_uncertain(k=2)
    assert list(uncertain.indices) == [2, 1]
    assert uncertain.probs == pytest.approx([0.34, 0.4])


def test_bad_input_is_a_clear_error(three_classes):
    probs, targets = three_classes
    with pytest.raises(ValueError, match="probabilities.*apply softmax"):
        Interpretation(probs.log(), targets)
    with pytest.raises(ValueError, match=r"got probs \(60, 3\) and targets \(59,\)"):
        Interpretation(probs, targets[:59])
    with pytest.raises(ValueError, match=r"class indices in 0..2, found 1..3"):
        Interpretation(probs, torch.where(targets == 0, 3, targets))
    with pytest.raises(ValueError, match="got 2 class names for 3 classes"):
        Interpretation(probs, targets, classes=["a", "b"])


def test_from_learner_uses_validation_probabilities():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(40, 4, generator=g)
    y = (x[:, 0] > 0).long()
    dls = DataLoaders(
        DataLoader(TensorDataset(x, y), batch_size=8),
        DataLoader(TensorDataset(x, y), batch_size=16),
        classes=["neg", "pos"],
    )
    torch.manual_seed(0)
    learn = Learner(dls, nn.Linear(4, 2), verbose=False, device="cpu")
    learn.fit(3, 0.5)
    interp = Interpretation.from_learner(learn)
    assert interp.classes == ["neg", "pos"]
    assert interp.confusion_matrix().sum() == 40
    assert interp.accuracy > 0.8
