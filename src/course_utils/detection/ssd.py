"""The network: TinySSD, a small single-shot detector.

A few stride-2 convolutions shrink a scene to two feature maps (8x8 and 4x4 for 64 px);
on each, an :class:`SSDHead` predicts, for every cell and each of its anchors, four box
offsets and a score per class (class 0: background), in one forward pass: the "single
shot". The predictions come out in the order of :func:`~course_utils.detection.anchor_boxes`.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SSDHead", "TinySSD", "conv_block"]


def conv_block(c_in: int, c_out: int, stride: int = 2) -> nn.Sequential:
    """3x3 conv (halving the size when ``stride=2``), BatchNorm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SSDHead(nn.Module):
    """For every cell of a feature map and each of its ``n_anchors`` anchors: 4 box offsets
    and ``n_classes + 1`` class scores (class 0: background), from 3x3 convolutions."""

    def __init__(self, c_in: int, n_anchors: int, n_classes: int):
        super().__init__()
        self.n_outputs = n_classes + 1
        self.boxes = nn.Conv2d(c_in, n_anchors * 4, 3, padding=1)
        self.logits = nn.Conv2d(c_in, n_anchors * self.n_outputs, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = x.shape[0]
        # (B, k*4, H, W) -> (B, H, W, k*4) -> (B, H*W*k, 4): row, column, then anchor
        boxes = self.boxes(x).permute(0, 2, 3, 1).reshape(b, -1, 4)
        logits = self.logits(x).permute(0, 2, 3, 1).reshape(b, -1, self.n_outputs)
        return boxes, logits


class TinySSD(nn.Module):
    """A small single-shot detector: stride-2 conv-BN-ReLU blocks down to 1/8 of the input
    (an 8x8 map for 64 px) and 1/16 (4x4), an :class:`SSDHead` on each.

    ``model(x)`` with x (B, 1, H, W) gives box offsets (B, A, 4) and logits
    (B, A, n_classes + 1), A = the anchors of :func:`anchor_boxes` for grids
    ``model.grid_sizes(H)`` with ``n_anchors`` per cell.
    """

    strides = (8, 16)

    def __init__(
        self, n_classes: int, n_anchors: int = 4, channels=(16, 32, 64, 64), in_channels=1
    ):
        super().__init__()
        c1, c2, c3, c4 = channels
        self.body = nn.Sequential(  # (B, 1, 64, 64) -> (B, c3, 8, 8)
            conv_block(in_channels, c1),
            conv_block(c1, c2),
            conv_block(c2, c3),
            conv_block(c3, c3, stride=1),
        )
        self.down = conv_block(c3, c4)  # (B, c3, 8, 8) -> (B, c4, 4, 4)
        self.heads = nn.ModuleList(
            [SSDHead(c3, n_anchors, n_classes), SSDHead(c4, n_anchors, n_classes)]
        )
        self.in_channels = in_channels

    def grid_sizes(self, canvas: int) -> tuple[int, ...]:
        """The sides of the two feature maps for images of ``canvas`` pixels: (8, 4) for 64."""
        return tuple(canvas // s for s in self.strides)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected images (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        fine = self.body(x)  # (B, c3, H/8, W/8)
        coarse = self.down(fine)  # (B, c4, H/16, W/16)
        outputs = [head(f) for head, f in zip(self.heads, (fine, coarse), strict=True)]
        boxes, logits = zip(*outputs, strict=True)
        return torch.cat(boxes, 1), torch.cat(logits, 1)  # (B, A, 4), (B, A, C + 1)
