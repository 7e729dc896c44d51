"""Images inside Plotly figures: arrays turned into ``data:`` URIs a layout image can show.

A figure's JSON written out pixel by pixel (a heatmap of a 224 x 224 photo) is
megabytes; the same image as a PNG or JPEG inside a ``data:`` URI is a few kilobytes
and draws with square pixels. Every figure of :mod:`course_utils.viz` that shows
images (image grids, the boxes of the detector) goes through :func:`image_data_uri`.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

__all__ = ["as_uint8_image", "image_data_uri"]


def as_uint8_image(image, size: int) -> np.ndarray:
    """An image as uint8 (H, W) or (H, W, 3), shrunk (area averaging) to at most
    ``size`` px per side.

    ``image`` may be a tensor or an array, channels last, with values in 0..255
    (any dtype) or 0..1 (floats); an alpha channel is dropped.
    """
    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 4:
        array = array[..., :3]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)):
        raise ValueError(
            f"an image must be (H, W) or (H, W, 3) (channels last), got shape {array.shape}"
        )
    if array.dtype != np.uint8:
        if array.size and (np.nanmin(array) < 0 or np.nanmax(array) > 255):
            raise ValueError("image values must be in 0..255 (uint8) or 0..1 (float)")
        scale = 255.0 if array.size and np.nanmax(array) <= 1.0 else 1.0
        array = np.clip(np.round(np.nan_to_num(array) * scale), 0, 255).astype(np.uint8)
    if max(array.shape[:2]) > size:
        factor = size / max(array.shape[:2])
        height, width = (max(1, round(n * factor)) for n in array.shape[:2])
        array = np.asarray(Image.fromarray(array).resize((width, height), Image.Resampling.BOX))
    return array


def image_data_uri(array: np.ndarray, image_format: str = "PNG", quality: int = 85) -> str:
    """A uint8 image (H, W) or (H, W, 3) as a ``data:`` URI.

    ``"PNG"`` is lossless (digits, masks, anything with sharp edges); ``"JPEG"``
    (at ``quality``) is far smaller for photos. Grey images stay grey in a PNG and
    become RGB in a JPEG.
    """
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"image_data_uri takes uint8 pixels, got {array.dtype}")
    image_format = image_format.upper()
    buffer = io.BytesIO()
    if image_format == "PNG":
        Image.fromarray(array).save(buffer, format="PNG", optimize=True)
    elif image_format == "JPEG":
        Image.fromarray(array).convert("RGB").save(buffer, format="JPEG", quality=quality)
    else:
        raise ValueError(f"image_format must be 'PNG' or 'JPEG', got {image_format!r}")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/{image_format.lower()};base64,{encoded}"
