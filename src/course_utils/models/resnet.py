"""ResNet-18 and ResNet-34 from scratch (lesson 7, "Resnets from scratch").

Lesson 1 trains a pretrained ResNet on dogs and cats without looking inside; lesson 7
(video H3g26EVADgY) builds one. The pieces are only convolutions, batch normalisation
(:class:`course_utils.models.layers.BatchNorm2d` by default, the course's own), ReLU,
pooling and one linear layer; what makes it a ResNet is the *residual* (shortcut)
connection of :class:`BasicBlock`: ``out = relu(x + F(x))``.

Why residual connections help: a block only has to learn the *residual* ``F(x)``, the
correction to apply to its input, instead of the whole mapping. A block that is not
useful can make ``F(x) ~ 0`` and pass ``x`` through unchanged, so adding blocks can not
make the best reachable network worse: a deep stack starts close to the identity and
is as easy to optimise as a shallow one (plain 34-layer nets train *worse* than 18-layer
ones; ResNets don't). In the backward pass the gradient of ``x + F(x)`` is ``1 + F'(x)``:
the identity path carries the gradient from the loss to the first layers without being
multiplied by every layer's Jacobian on the way, so it neither vanishes nor explodes.
Jeremy's picture in lesson 7 is boosting: each block fits the residual error left by
the ones before it. When a block changes the shape (stride 2, more channels) the
shortcut is a 1x1 convolution with batch normalisation (``downsample``) instead of
the identity.

Parameter and buffer names are those of :func:`torchvision.models.resnet18` and
:func:`torchvision.models.resnet34`, so ``ours.load_state_dict(tv.state_dict())``
works strictly and gives the same outputs: pretrained ImageNet weights fit as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from course_utils.models.layers import BatchNorm2d

__all__ = ["BasicBlock", "ResNet", "resnet18", "resnet34"]

NormLayer = Callable[[int], nn.Module]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 convolution with padding 1 (keeps H, W at stride 1; halves them at stride 2)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """A 1x1 convolution: mixes channels at each position (the shortcut's projection)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN layers and a shortcut: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + x)``.

    ``downsample`` (a 1x1 conv + BN) replaces the identity shortcut when the block
    changes the number of channels or the resolution. No bias in the convolutions: the
    following batch norm's shift would cancel it.
    """

    expansion = 1  # output channels = planes * expansion (4 in the bottleneck blocks of ResNet-50)

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        norm_layer: NormLayer | None = None,
    ):
        super().__init__()
        norm_layer = BatchNorm2d if norm_layer is None else norm_layer
        self.conv1 = conv3x3(
            inplanes, planes, stride
        )  # (B, inplanes, H, W) -> (B, planes, H/s, W/s)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)  # same shape
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, inplanes, H, W) -> (B, planes, H / stride, W / stride)."""
        identity = x  # (B, inplanes, H, W)
        out = self.relu(self.bn1(self.conv1(x)))  # (B, planes, H/s, W/s)
        # (B, planes, H/s, W/s): F(x), the residual
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            # (B, inplanes, H, W) -> (B, planes, H/s, W/s)
            identity = self.downsample(x)
        out = out + identity  # x + F(x): the shortcut
        return self.relu(out)


class ResNet(nn.Module):
    """A ResNet of :class:`BasicBlock` s: stem, four stages, average pool, linear head.

    ``layers`` gives the number of blocks per stage ([2, 2, 2, 2] for ResNet-18,
    [3, 4, 6, 3] for ResNet-34). Stages 2-4 halve the resolution and double the channels
    (64, 128, 256, 512). ``norm_layer`` defaults to the course's
    :class:`~course_utils.models.layers.BatchNorm2d`; ``nn.BatchNorm2d`` works too.
    ``zero_init_residual`` starts each block's last BN scale at 0, so every block
    starts as the identity (as in torchvision).
    """

    def __init__(
        self,
        block: type[BasicBlock],
        layers: Sequence[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        norm_layer: NormLayer | None = None,
    ):
        super().__init__()
        if len(layers) != 4 or not all(isinstance(n, int) and n >= 1 for n in layers):
            raise ValueError(f"layers must be 4 positive ints (blocks per stage), got {layers!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        self._norm_layer = BatchNorm2d if norm_layer is None else norm_layer
        self.inplanes = 64
        # The stem: a 7x7 stride-2 convolution and a stride-2 max pool, /4 in all.
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])  # (B, 64, H/4, W/4)
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)  # (B, 128, H/8, W/8)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)  # (B, 256, H/16, W/16)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)  # (B, 512, H/32, W/32)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # (B, 512, h, w) -> (B, 512, 1, 1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)  # (B, 512) -> (B, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # He initialisation: keeps the activations' variance through ReLU layers
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (BatchNorm2d, nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.zeros_(m.bn2.weight)

    def _make_layer(
        self, block: type[BasicBlock], planes: int, blocks: int, stride: int = 1
    ) -> nn.Sequential:
        """A stage: ``blocks`` blocks, the first one changing stride and channels."""
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            # The shortcut must change shape too: 1x1 conv (stride s) + BN.
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                self._norm_layer(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, self._norm_layer)]
        self.inplanes = planes * block.expansion
        layers += [
            block(self.inplanes, planes, norm_layer=self._norm_layer) for _ in range(1, blocks)
        ]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) -> logits (B, num_classes)."""
        if x.ndim != 4 or x.shape[1] != self.conv1.in_channels:
            raise ValueError(
                f"ResNet expects images of shape (B, {self.conv1.in_channels}, H, W), "
                f"got shape {tuple(x.shape)}"
            )
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, H/4, W/4)
        x = self.layer1(x)  # (B, 64, H/4, W/4)
        x = self.layer2(x)  # (B, 128, H/8, W/8)
        x = self.layer3(x)  # (B, 256, H/16, W/16)
        x = self.layer4(x)  # (B, 512, H/32, W/32)
        x = self.avgpool(x)  # (B, 512, 1, 1)
        x = torch.flatten(x, 1)  # (B, 512)
        return self.fc(x)  # (B, num_classes)

    def layer_groups(self) -> list[nn.Module]:
        """[stem + layer1 + layer2, layer3 + layer4, fc]: the groups of differential learning rates.

        Early layers detect generic edges and textures and need little change; later
        layers are more specific to ImageNet; the head is new (lesson 2).
        """
        return [
            nn.Sequential(self.conv1, self.bn1, self.relu, self.maxpool, self.layer1, self.layer2),
            nn.Sequential(self.layer3, self.layer4),
            self.fc,
        ]


def resnet18(num_classes: int = 1000, norm_layer: NormLayer | None = None) -> ResNet:
    """ResNet-18: [2, 2, 2, 2] basic blocks; random weights (names match torchvision's)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, norm_layer=norm_layer)


def resnet34(num_classes: int = 1000, norm_layer: NormLayer | None = None) -> ResNet:
    """ResNet-34: [3, 4, 6, 3] basic blocks; random weights (names match torchvision's)."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes, norm_layer=norm_layer)
