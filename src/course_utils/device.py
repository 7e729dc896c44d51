"""How to train on a device, decided once: mixed precision, channels-last, pinned memory.

:func:`plan_device` is a pure function of the device (and the model), so tests can
call it with ``"cuda"`` on a machine without one; the
:class:`~course_utils.learner.Learner` asks it once and never branches on the
device again. :func:`to_device` moves a batch (a tensor, or a tuple, list or dict
of them) to the device the plan chose.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["DevicePlan", "plan_device", "to_device"]


@dataclass(frozen=True)
class DevicePlan:
    """How to train on a device, decided once."""

    device: torch.device
    amp_dtype: torch.dtype | None  # autocast to this dtype; None: plain float32
    grad_scaler: bool  # float16 needs loss scaling to keep small gradients; bfloat16 doesn't
    channels_last: bool  # 4-D activations as (B, H, W, C) in memory: faster convs on tensor cores
    pin_memory: bool  # page-locked host batches: asynchronous copies to the GPU


def plan_device(
    device: str | torch.device,
    *,
    model: nn.Module | None = None,
    mixed_precision: bool | None = None,
    channels_last: bool | None = None,
    bf16_supported: bool | None = None,
) -> DevicePlan:
    """Decide mixed precision, channels-last and pinned memory for ``device``.

    On CUDA, by default: autocast to bfloat16 where the GPU supports it, else
    float16 with a gradient scaler; channels-last when the model has a 2-D
    convolution; pinned memory. On the CPU, by default: float32, nothing else
    (``mixed_precision=True`` autocasts to bfloat16 there). ``bf16_supported``
    overrides the query to the GPU (for tests).
    """
    device = torch.device(device)
    cuda = device.type == "cuda"
    amp = cuda if mixed_precision is None else mixed_precision
    dtype = None
    if amp:
        if not cuda:
            dtype = torch.bfloat16
        else:
            if bf16_supported is None:
                bf16_supported = torch.cuda.is_bf16_supported()
            dtype = torch.bfloat16 if bf16_supported else torch.float16
    if channels_last is None:
        has_conv = model is not None and any(isinstance(m, nn.Conv2d) for m in model.modules())
        channels_last = cuda and amp and has_conv
    return DevicePlan(device, dtype, dtype == torch.float16, channels_last, cuda)


def to_device(batch, device: torch.device, channels_last: bool = False):
    """Move a tensor, or a tuple/list/dict of them, to ``device`` (non-blocking).

    With ``channels_last``, 4-D floating-point tensors (B, C, H, W) also change
    memory format.
    """
    if isinstance(batch, torch.Tensor):
        batch = batch.to(device, non_blocking=True)
        if channels_last and batch.ndim == 4 and batch.is_floating_point():
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device, channels_last) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device, channels_last) for k, v in batch.items()}
    return batch
