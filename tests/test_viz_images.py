"""course_utils.viz.images: pixels as data: URIs (lossless PNG, JPEG), and images as uint8."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from course_utils.viz.images import as_uint8_image, image_data_uri


def decode(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def test_png_is_lossless_and_keeps_grey_images_grey():
    rng = np.random.default_rng(0)
    for pixels in (rng.integers(0, 256, (9, 7, 3), dtype=np.uint8), rng.integers(0, 256, (5, 6))):
        pixels = pixels.astype(np.uint8)
        uri = image_data_uri(pixels)
        assert uri.startswith("data:image/png;base64,")
        np.testing.assert_array_equal(decode(uri), pixels)


def test_jpeg_and_bad_input():
    grey = np.full((8, 8), 100, dtype=np.uint8)
    uri = image_data_uri(grey, "jpeg", quality=90)
    assert uri.startswith("data:image/jpeg;base64,") and decode(uri).shape == (8, 8, 3)
    with pytest.raises(ValueError, match="uint8"):
        image_data_uri(grey.astype(np.float32))
    with pytest.raises(ValueError, match="PNG' or 'JPEG"):
        image_data_uri(grey, "GIF")


def test_as_uint8_image_scales_floats_and_shrinks():
    image = as_uint8_image(np.ones((40, 20, 4)), 10)  # floats in 0..1, an alpha channel
    assert image.dtype == np.uint8 and image.shape == (10, 5, 3) and (image == 255).all()
    np.testing.assert_array_equal(as_uint8_image(np.full((3, 3), 7.0), 8), np.full((3, 3), 7))
    with pytest.raises(ValueError, match="0..255"):
        as_uint8_image(np.full((3, 3), 300.0), 8)
    with pytest.raises(ValueError, match="channels last"):
        as_uint8_image(np.zeros((3, 8, 8)), 8)
