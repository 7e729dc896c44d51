"""Two small models written from scratch: a multi-layer perceptron and a CNN.

* :class:`MLP` (section 1, "MLP for dummies"; lesson 1's "non-linearity and SGD"):
  linear layers with ReLU between them, optional dropout (lesson 4). It flattens its
  input, so it takes (B, n_in) tables and (B, C, H, W) images alike, seeing an image
  as a vector of pixels.
* :class:`SimpleCNN` (lesson 7, "a CNN from scratch" on CIFAR-10): a few stride-2 3x3
  convolutions, each followed by batch normalisation and ReLU, halving the resolution
  each time, then an adaptive average pool (any input size gives one value per
  channel) and a linear layer.

Both have ``layer_groups()`` (body, head) for :class:`course_utils.learner.Learner`'s
``freeze`` and differential learning rates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from course_utils.checks import positive_int
from course_utils.models.layers import BatchNorm2d

__all__ = ["MLP", "SimpleCNN"]


def _positive_ints(name: str, values, allow_empty: bool) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of positive ints, got {values!r}")
    if not values and not allow_empty:
        raise ValueError(f"{name} needs at least one entry, got {values!r}")
    return [positive_int(f"{name}[{i}]", v) for i, v in enumerate(values)]


class MLP(nn.Module):
    """Flatten, then ``Linear -> ReLU [-> Dropout]`` per hidden size, then a last ``Linear``.

    ``MLP(784, [100], 10)`` classifies 28x28 digits: (B, 1, 28, 28) or (B, 784) -> (B, 10).
    With ``hidden=[]`` it is a linear (logistic regression) model.
    """

    def __init__(self, n_in: int, hidden: Sequence[int], n_out: int, dropout: float = 0.0):
        super().__init__()
        self.n_in = positive_int("n_in", n_in)
        hidden = _positive_ints("hidden", hidden, allow_empty=True)
        n_out = positive_int("n_out", n_out)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        layers: list[nn.Module] = [nn.Flatten()]  # (B, ...) -> (B, n_in)
        sizes = [self.n_in, *hidden]
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            layers.append(nn.Linear(fan_in, fan_out))  # (B, fan_in) -> (B, fan_out): x @ W.T + b
            layers.append(
                nn.ReLU()
            )  # max(0, x): without it, the layers collapse into one linear map
            if dropout > 0:
                layers.append(nn.Dropout(dropout))  # zero activations at random while training
        self.body = nn.Sequential(*layers)  # (B, ...) -> (B, hidden[-1]) (or (B, n_in))
        self.head = nn.Linear(sizes[-1], n_out)  # (B, hidden[-1]) -> (B, n_out): the logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, ...) with ``n_in`` values per example -> (B, n_out)."""
        n_features = math.prod(x.shape[1:]) if x.ndim >= 2 else None
        if n_features != self.n_in:
            got = (
                f"a {x.ndim}-D tensor of shape {tuple(x.shape)} (no batch dimension)"
                if n_features is None
                else f"shape {tuple(x.shape)} = {n_features} features"
            )
            raise ValueError(
                f"MLP expects inputs with {self.n_in} features per example "
                f"(after flattening), got {got}"
            )
        return self.head(self.body(x))

    def layer_groups(self) -> list[nn.Module]:
        """[hidden layers, head], or [head] alone when there are no hidden layers."""
        has_body = any(True for _ in self.body.parameters())
        return [self.body, self.head] if has_body else [self.head]


class SimpleCNN(nn.Module):
    """Stride-2 ``Conv 3x3 -> BatchNorm -> ReLU`` blocks, adaptive average pool, linear.

    ``SimpleCNN(3, [16, 32, 64], 10)`` maps CIFAR-10 images (B, 3, 32, 32) through
    (B, 16, 16, 16), (B, 32, 8, 8), (B, 64, 4, 4), a pool to (B, 64) and a linear layer
    to (B, 10). ``norm_layer`` defaults to the course's
    :class:`~course_utils.models.layers.BatchNorm2d`.
    """

    def __init__(
        self,
        n_in_channels: int,
        channels: Sequence[int],
        n_out: int,
        norm_layer: Callable[[int], nn.Module] | None = None,
    ):
        super().__init__()
        self.n_in_channels = positive_int("n_in_channels", n_in_channels)
        channels = _positive_ints("channels", channels, allow_empty=False)
        n_out = positive_int("n_out", n_out)
        norm_layer = BatchNorm2d if norm_layer is None else norm_layer
        blocks: list[nn.Module] = []
        sizes = [self.n_in_channels, *channels]
        for c_in, c_out in zip(sizes[:-1], sizes[1:], strict=True):
            blocks.append(
                nn.Sequential(
                    # (B, c_in, H, W) -> (B, c_out, ceil(H/2), ceil(W/2)); no bias: BN shifts
                    nn.Conv2d(c_in, c_out, kernel_size=3, stride=2, padding=1, bias=False),
                    norm_layer(c_out),  # each channel to mean 0, variance 1, then scale/shift
                    nn.ReLU(),
                )
            )
        self.body = nn.Sequential(*blocks)  # (B, C, H, W) -> (B, channels[-1], h, w)
        self.pool = nn.AdaptiveAvgPool2d(1)  # (B, channels[-1], h, w) -> (B, channels[-1], 1, 1)
        self.flatten = nn.Flatten()  # -> (B, channels[-1])
        self.head = nn.Linear(channels[-1], n_out)  # -> (B, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, n_in_channels, H, W) -> logits (B, n_out)."""
        if x.ndim != 4 or x.shape[1] != self.n_in_channels:
            raise ValueError(
                f"SimpleCNN expects images of shape (B, {self.n_in_channels}, H, W), "
                f"got shape {tuple(x.shape)}"
            )
        return self.head(self.flatten(self.pool(self.body(x))))

    def layer_groups(self) -> list[nn.Module]:
        """[convolutional body, linear head]."""
        return [self.body, self.head]
