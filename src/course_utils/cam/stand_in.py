"""The quick profile's body for class activation maps: a small CNN pretrained on digit scenes.

A map needs a body whose last feature map is larger than 1x1 *and* means something at
every position. The quick profile's ResNet bodies
(:mod:`course_utils.models.quick_pretrained`) were pretrained on 32x32 digits, where
ResNet's last stage works on 1x1 maps: its 3x3 filters only ever used their centre weight,
so the other eight never received a gradient and are still random. On a larger image
those random weights mix every position with noise, and a head trained on such features
does no better than guessing. So the quick profile pretrains, once per page run, a
body of its own, the way the ResNet bodies were made: on the digits 0 to 4, here pasted
at random places on a canvas (:func:`course_utils.detection.compose_scenes`), leaving the
digits 5 to 9 for the task that the chapter's head learns. The ImageNet ResNet-34 of the
full profile needs none of this.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import TensorDataset

from course_utils.cam.maps import cam_head
from course_utils.data import DataLoaders
from course_utils.learner import Learner
from course_utils.metrics import accuracy
from course_utils.vision.data import make_loader
from course_utils.vision.transforms import IMAGENET_STATS

__all__ = ["GREY_STATS", "pretrain_scene_body", "scene_body"]

# Grey images are normalised with the mean of ImageNet's channel statistics, as
# ImageData(convert_mode="L") does.
GREY_STATS = (
    [sum(IMAGENET_STATS[0]) / 3],
    [sum(IMAGENET_STATS[1]) / 3],
)


def _block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def scene_body(widths: tuple[int, ...] = (16, 32, 64, 128)) -> nn.Sequential:
    """A small CNN for 1-channel images: (B, 1, H, W) -> (B, widths[-1], H/8, W/8). Three
    3x3 convolutions of stride 2, then one of stride 1, each followed by BatchNorm and
    ReLU; every layer's 3x3 window sees real positions during training."""
    strides = (2, 2, 2) + (1,) * (len(widths) - 3)
    channels = (1, *widths)
    return nn.Sequential(
        *(_block(i, o, s) for i, o, s in zip(channels[:-1], channels[1:], strides, strict=True))
    )


def pretrain_scene_body(
    train: tuple[torch.Tensor, torch.Tensor],
    valid: tuple[torch.Tensor, torch.Tensor],
    *,
    epochs: int = 4,
    lr: float = 3e-3,
    bs: int = 64,
    seed: int = 0,
) -> tuple[nn.Sequential, float]:
    """Train :func:`scene_body` with a :func:`cam_head` on ``train = (images, labels)``,
    normalised scenes (N, 1, H, W) and their classes (N,), every layer, with Adam and the
    one-cycle policy; return the body (eval mode, weights frozen) and its head's accuracy
    on ``valid``. The head is then thrown away, as ImageNet's classifier is."""
    torch.manual_seed(seed)
    n_classes = int(train[1].max()) + 1
    body = scene_body()
    model = nn.Sequential(body, cam_head(body[-1][0].out_channels, n_classes))
    dls = DataLoaders(
        make_loader(TensorDataset(*train), bs, shuffle=True, num_workers=0, seed=seed),
        make_loader(TensorDataset(*valid), bs, shuffle=False, num_workers=0),
        classes=[str(c) for c in range(n_classes)],
    )
    learn = Learner(
        dls, model, opt_func=torch.optim.Adam, metrics=[accuracy], device="cpu", verbose=False
    )
    learn.fit_one_cycle(epochs, lr)
    body.eval()
    for p in body.parameters():
        p.requires_grad_(False)
    return body, float(learn.recorder.metrics["accuracy"][-1])
