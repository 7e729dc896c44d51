"""Two layers written from scratch: batch normalisation and convolution as a matrix product.

What they teach:

* :class:`BatchNorm2d` (lesson 7, "Resnets from scratch", where the course writes its
  own ``BnLayer``): normalise each channel by the mean and variance of the mini-batch,
  then let the network rescale and shift it with two learnt vectors; keep running
  averages of the statistics for inference. It is a drop-in replacement for
  :class:`torch.nn.BatchNorm2d`: same arguments, same parameter and buffer names
  (so state dicts load both ways), same numbers.
* :func:`conv2d_unfold` and :class:`Conv2dUnfold` (lesson 3, the convolution in a
  spreadsheet; lesson 4): a convolution is a matrix product. :func:`torch.nn.functional.unfold`
  copies every receptive field ("patch") of the image into a column; multiplying the
  flattened kernels by those columns computes every output pixel of every output
  channel at once. Slow and memory hungry compared with :func:`torch.nn.functional.conv2d`,
  but it is the same function.

A flattening layer is :class:`torch.nn.Flatten`; it is not repeated here.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BatchNorm2d", "Conv2dUnfold", "conv2d_unfold"]


def _check_4d(x: torch.Tensor, who: str, n_channels: int, channels_name: str) -> None:
    """Raise a clear error unless ``x`` is (B, n_channels, H, W)."""
    if x.ndim != 4:
        raise ValueError(
            f"{who} expects a 4-D input (B, C, H, W), got a {x.ndim}-D tensor "
            f"of shape {tuple(x.shape)}"
        )
    if x.shape[1] != n_channels:
        raise ValueError(
            f"{who} expected {n_channels} channels ({channels_name}), "
            f"found {x.shape[1]} in an input of shape {tuple(x.shape)}"
        )


class BatchNorm2d(nn.Module):
    """Batch normalisation over (B, H, W) for each channel of a (B, C, H, W) input.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with ``mean`` and ``var`` the
    per-channel statistics of the batch in training, the running averages in eval mode.
    ``momentum=None`` makes the running averages cumulative (the plain mean over every
    batch seen). Arguments, names and numbers are those of :class:`torch.nn.BatchNorm2d`.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ):
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, numbers.Integral):
            raise TypeError(f"num_features must be an int, got {num_features!r}")
        if num_features < 1:
            raise ValueError(f"num_features must be positive, got {num_features}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            # the learnt scale (gamma) and shift (beta), one per channel: (C,)
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            # buffers: saved in the state dict and moved by .to(), but not trained
            self.register_buffer("running_mean", torch.zeros(num_features))  # (C,)
            self.register_buffer("running_var", torch.ones(num_features))  # (C,)
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Forget the running statistics: mean 0, variance 1, no batch seen."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset the running statistics, and the scale to 1 and the shift to 0."""
        self.reset_running_stats()
        if self.affine:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` (B, C, H, W) channel by channel; the output has
        its shape."""
        _check_4d(x, "BatchNorm2d", self.num_features, "num_features")
        # Batch statistics in training, and also in eval mode when there
        # are no running ones.
        use_batch_stats = self.training or not self.track_running_stats
        if use_batch_stats:
            # values per channel: B * H * W
            n = x.shape[0] * x.shape[2] * x.shape[3]
            if n <= 1:
                raise ValueError(
                    "BatchNorm2d needs more than 1 value per channel to "
                    "compute batch "
                    "statistics in training, got an input of shape "
                    f"{tuple(x.shape)}; "
                    "use a bigger batch, or eval mode",
                )
            # reduce over the batch and the spatial positions
            dims = (0, 2, 3)
            mean = x.mean(dim=dims)  # (C,)
            # (C,) biased: sum((x - mean)^2) / n
            var = x.var(dim=dims, unbiased=False)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean.detach(), var.detach(), n)
        else:
            mean, var = self.running_mean, self.running_var  # (C,) each
        # (C,) -> (1, C, 1, 1) so that it broadcasts over (B, C, H, W)
        mean, var = mean[None, :, None, None], var[None, :, None, None]
        # (B, C, H, W), per channel ~N(0, 1)
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        if self.affine:
            # y = gamma * x_hat + beta: the network can undo the
            # normalisation if it helps
            gamma = self.weight[None, :, None, None]  # (1, C, 1, 1)
            beta = self.bias[None, :, None, None]
            x_hat = x_hat * gamma + beta
        return x_hat  # (B, C, H, W)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, n: int) -> None:
        """Exponential (or, with ``momentum=None``, cumulative) moving averages."""
        self.num_batches_tracked += 1
        # momentum=None: factor 1/k at the k-th batch, i.e. the running value is the plain
        # mean of the k batch statistics seen so far.
        factor = 1.0 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
        # The running variance estimates the population's: unbiased, sum(...) / (n - 1).
        unbiased_var = var * (n / (n - 1))  # (C,)
        # running = (1 - factor) * running + factor * batch
        self.running_mean.mul_(1.0 - factor).add_(mean, alpha=factor)
        self.running_var.mul_(1.0 - factor).add_(unbiased_var, alpha=factor)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


def _pair(value, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, as (height, width), each >= ``minimum``."""
    pair = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(pair) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair
    ):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in pair):
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv2d_unfold(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """A 2-D convolution (groups=1, zero padding) as ``F.unfold`` then a matrix product.

    ``x`` is (B, C_in, H, W), ``weight`` (C_out, C_in, kH, kW), ``bias`` (C_out,) or None;
    the result is (B, C_out, H_out, W_out), equal to :func:`torch.nn.functional.conv2d`.
    """
    if weight.ndim != 4:
        raise ValueError(
            "conv2d_unfold expects a 4-D weight (C_out, C_in, kH, kW), "
            f"got shape {tuple(weight.shape)}"
        )
    c_out, c_in, kh, kw = weight.shape
    _check_4d(x, "conv2d_unfold", c_in, "the weight's C_in; groups=1 only")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(
            f"conv2d_unfold expects a bias of shape ({c_out},) (one per output channel), "
            f"got {tuple(bias.shape)}"
        )
    sh, sw = _pair(stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    dh, dw = _pair(dilation, "dilation", 1)
    b, _, h, w = x.shape
    # Output size along each axis: (size + 2 * pad - span) // stride + 1, where
    # span = dilation * (kernel - 1) + 1 is the extent of one (dilated) receptive field.
    h_out = (h + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    w_out = (w + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(
            f"conv2d_unfold: a ({kh}, {kw}) kernel with dilation ({dh}, {dw}) does not fit "
            f"in an input of size ({h}, {w}) padded by ({ph}, {pw})"
        )
    # Every receptive field becomes a column: L = h_out * w_out patches of C_in * kH * kW values.
    cols = F.unfold(x, (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))
    # cols: (B, C_in * kH * kW, L)
    kernels = weight.reshape(c_out, c_in * kh * kw)  # (C_out, C_in * kH * kW): a kernel per row
    out = kernels @ cols  # (C_out, K) @ (B, K, L) -> (B, C_out, L): every dot product at once
    if bias is not None:
        out = out + bias[None, :, None]  # (B, C_out, L) + (1, C_out, 1)
    return out.reshape(b, c_out, h_out, w_out)  # (B, C_out, L) -> (B, C_out, H_out, W_out)


class Conv2dUnfold(nn.Module):
    """A 2-D convolution layer computed by :func:`conv2d_unfold`.

    Parameters are named and initialised like :class:`torch.nn.Conv2d` (``weight``
    (C_out, C_in, kH, kW), ``bias`` (C_out,)), so an ``nn.Conv2d`` state dict loads into it.
    Only ``groups=1`` and zero padding.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
    ):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        self.dilation = _pair(dilation, "dilation", 1)
        # (C_out, C_in, kH, kW): one kernel of C_in channels per output channel
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))  # (C_out,)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation of ``nn.Conv2d``."""
        # kaiming_uniform_ with a=sqrt(5): uniform in +-1/sqrt(fan_in), fan_in = C_in * kH * kW
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.weight[0].numel())  # 1 / sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) -> (B, C_out, H_out, W_out)."""
        return conv2d_unfold(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"bias={self.bias is not None}"
        )
