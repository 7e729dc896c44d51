"""Class activation maps (CAM): *where* in an image a classifier found its class.

Serves the Section 2 bonus chapter "Class activation maps" (``book/section2/bonus/cam.md``),
from lesson 7 of the 2018 course (its notebook ``lesson7-CAM.ipynb``). One idea per module:

- :mod:`.hooks`: :func:`hook_output`, a forward hook that keeps what a module computed,
  removed again when the ``with`` block ends;
- :mod:`.maps`: :func:`cam_head`, the head that makes maps possible (a convolution to one
  channel per class, then the average over positions), :func:`precompute_features`, and
  :func:`class_activation_maps` with its helpers (upsampling, normalising, peaks);
- :mod:`.stand_in`: the quick profile's body for maps, a small CNN pretrained on scenes of
  the digits 0 to 4 (the quick ResNet bodies, pretrained on 32-pixel digits, have no
  usable spatial map).

The figure (the heat map over the image) is :func:`course_utils.viz.plot_cam`.
"""

from course_utils.cam.hooks import HookedOutput, hook_output
from course_utils.cam.maps import (
    cam_head,
    class_activation_maps,
    map_peaks,
    normalize_maps,
    peaks_in_boxes,
    precompute_features,
    upsample_maps,
)
from course_utils.cam.stand_in import GREY_STATS, pretrain_scene_body, scene_body

__all__ = [
    "GREY_STATS",
    "HookedOutput",
    "cam_head",
    "class_activation_maps",
    "hook_output",
    "map_peaks",
    "normalize_maps",
    "peaks_in_boxes",
    "precompute_features",
    "pretrain_scene_body",
    "scene_body",
    "upsample_maps",
]
