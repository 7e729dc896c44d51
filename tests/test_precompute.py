"""``precompute=True``: the head trains on the frozen body's activations, computed once."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from course_utils.data import DataLoaders
from course_utils.profile import current_profile
from course_utils.vision import ConvLearner, conv_learner


class Images(Dataset):
    """Images with a ``transform`` attribute, as the course's image datasets have."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform):
        self.x, self.y, self.transform = x, y, transform

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.transform(self.x[i]), self.y[i]


def image_dls(n: int = 24, train_transform=None, shuffle: bool = False) -> DataLoaders:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, 32, 32, generator=g)
    y = torch.arange(n) % 2
    x[y == 1] += 1.0  # a brighter class: learnable
    plain = Images(x, y, transform=lambda image: image)
    train = Images(x, y, transform=train_transform or plain.transform)
    return DataLoaders(
        DataLoader(train, batch_size=8, shuffle=shuffle),
        DataLoader(plain, batch_size=16),
        classes=["a", "b"],
    )


def learner(dls: DataLoaders, precompute: bool, **kwargs) -> ConvLearner:
    torch.manual_seed(0)  # the same random body and head for every learner
    return conv_learner(
        dls, "resnet18", pretrained=False, precompute=precompute, device="cpu",
        verbose=False, hidden=16, dropout=(0.0, 0.0), **kwargs,
    )  # fmt: skip


def test_precomputed_head_matches_running_the_frozen_body_every_epoch():
    # with train_bn=False the frozen body is a fixed function, so both ways train the same head
    heads = {}
    for precompute in (False, True):
        learn = learner(image_dls(), precompute, train_bn=False)
        learn.fit(2, 1e-2)
        heads[precompute] = learn.model.head.state_dict()
    for name, tensor in heads[False].items():
        assert torch.allclose(tensor.float(), heads[True][name].float(), atol=1e-5), name


def test_precompute_runs_the_body_once_and_without_augmentation():
    calls = {"train": 0}

    def augment(image):  # a training transform that would change every epoch
        calls["train"] += 1
        return image + torch.randn_like(image)

    learn = learner(image_dls(train_transform=augment), precompute=True)
    body_calls = []
    learn.model.body.register_forward_hook(lambda *args: body_calls.append(1))
    learn.fit(3, 1e-2)
    learn.lr_find(num_it=4)  # restores the weights it changed: the activations stay valid
    learn.fit(1, 1e-2)
    assert calls["train"] == 0  # the training images went through the validation transform
    assert len(body_calls) == 3 + 2  # once over 3 training and 2 validation batches, no more
    train_dl, _ = learn.training_loaders()
    activations, targets = train_dl.dataset.tensors
    channels = round(512 * current_profile().body_width)  # resnet18's last stage
    assert activations.shape == (24, 2 * channels) and targets.shape == (24,)


def test_activations_follow_the_body_and_the_data():
    learn = learner(image_dls(), precompute=True)  # train_bn=True: frozen BatchNorm trains
    learn.fit(1, 1e-2)
    first = learn.training_loaders()[0]
    learn.precompute = False
    learn.fit(1, 1e-2)  # the body's BatchNorm statistics move
    learn.precompute = True
    assert learn.training_loaders()[0] is not first  # recomputed from the new body
    second = learn.training_loaders()[0]
    learn.dls = image_dls()
    assert learn.training_loaders()[0] is not second  # and from new loaders


def test_predictions_use_the_whole_network_on_images():
    learn = learner(image_dls(), precompute=True, train_bn=False)
    learn.fit(1, 1e-2)
    probs, targets = learn.get_preds()
    x = torch.stack([learn.dls.valid_dl.dataset[i][0] for i in range(24)])
    learn.model.eval()
    with torch.no_grad():
        expected = learn.model.classify(learn.model.pooled(x)).softmax(dim=1)
    assert torch.allclose(probs, expected, atol=1e-6) and torch.equal(targets, torch.arange(24) % 2)


def test_precompute_needs_a_frozen_body():
    learn = learner(image_dls(), precompute=True)
    with pytest.raises(ValueError, match="set learn.precompute = False before unfreezing"):
        learn.unfreeze()
    learn.precompute = False
    learn.unfreeze()
    with pytest.raises(ValueError, match="precompute=True needs the body frozen"):
        learn.precompute = True
    learn.freeze()
    learn.precompute = True  # frozen again: allowed


def test_with_precompute_nothing_in_the_body_takes_gradients():
    learn = learner(image_dls(), precompute=True)  # train_bn=True, the default
    body = learn.model.body
    assert not any(p.requires_grad for p in body.parameters())
    learn.precompute = False  # without it, the frozen body's BatchNorm trains again
    trainable = {id(p) for p in body.parameters() if p.requires_grad}
    batchnorm = {
        id(p) for m in body.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()
    }
    assert trainable == batchnorm
