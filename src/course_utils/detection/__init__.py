"""Object detection from scratch: *where* the objects are, as well as *what* they are.

Serves the Section 2 bonus chapter "Real-time object detection"
(``book/section2/bonus/object-detection.md``), which builds a small single-shot
multibox detector (SSD) in the style of lessons 8-9 of the 2018 course's part 2. One
idea per module:

- :mod:`.boxes`: corners and centres, :func:`box_iou`, :func:`encode` / :func:`decode`
  (a box as offsets from an anchor);
- :mod:`.anchors`: :func:`anchor_boxes`, a fixed set of candidate boxes, and
  :func:`match_anchors`, which object each candidate is responsible for;
- :mod:`.scenes`: :func:`compose_scenes`, real MNIST digits pasted on a blank canvas,
  with a box and a class for every digit (the data);
- :mod:`.ssd`: :class:`TinySSD`, a small CNN that predicts, for every anchor, a class
  and a correction to the anchor's box;
- :mod:`.loss`: :func:`ssd_loss`, smooth-L1 on the box corrections plus cross-entropy
  with hard negative mining at 3:1 (the SSD paper's recipe; the 2018 lesson used a
  focal loss instead);
- :mod:`.postprocess`: :func:`nms` and :func:`detect`, from hundreds of overlapping
  guesses to a few boxes;
- :mod:`.timing`: :func:`run_detector`, detections for a set of images, and how long
  they took;
- :mod:`.evaluate`: :func:`mean_average_precision`, the PASCAL VOC metric (all-point
  interpolation);
- :mod:`.pretrained`: :func:`pretrained_detector`, torchvision's SSDlite trained on
  COCO, downloaded and verified by :mod:`course_utils.models.pretrained`.

The figures (images with boxes drawn over them) are in :mod:`course_utils.viz.detection`.

Conventions. Boxes are corners ``(x0, y0, x1, y1)`` in pixels, pixel (row r, column c)
covering ``[c, c+1) x [r, r+1)``; anchors are centres and sizes ``(cx, cy, w, h)``.
The network's class 0 is "background"; digit ``d`` is its class ``d + 1``.
"""

from course_utils.detection.anchors import anchor_boxes, match_anchors
from course_utils.detection.boxes import (
    VARIANCES,
    box_iou,
    center_to_corners,
    corners_to_center,
    decode,
    encode,
)
from course_utils.detection.evaluate import average_precision, mean_average_precision
from course_utils.detection.loss import SSDLossParts, ssd_loss
from course_utils.detection.postprocess import Detections, detect, nms
from course_utils.detection.pretrained import pretrained_detector, run_pretrained
from course_utils.detection.scenes import Scenes, compose_scenes
from course_utils.detection.ssd import SSDHead, TinySSD, conv_block
from course_utils.detection.timing import run_detector

__all__ = [
    "VARIANCES",
    "Detections",
    "Scenes",
    "SSDHead",
    "SSDLossParts",
    "TinySSD",
    "anchor_boxes",
    "average_precision",
    "box_iou",
    "center_to_corners",
    "conv_block",
    "compose_scenes",
    "corners_to_center",
    "decode",
    "detect",
    "encode",
    "match_anchors",
    "mean_average_precision",
    "nms",
    "pretrained_detector",
    "run_detector",
    "run_pretrained",
    "ssd_loss",
]
