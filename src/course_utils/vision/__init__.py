"""Images from folders on disk, the way the 2018 fast.ai course structures them.

Lesson 1 (dogs vs cats)
    one folder per class, ``PATH/train/<class>/<image>`` and ``PATH/valid/<class>/<image>``
    (and an unlabelled ``PATH/test/``): :meth:`ImageData.from_paths`.
Lesson 2 (augmentation, test-time augmentation)
    :data:`transforms_side_on`, :data:`transforms_top_down` and :func:`tfms_from_stats`;
    ``Learner.TTA`` averages predictions over augmented views.
Lesson 3 (Planet, multi-label)
    ``PATH/train/<image>`` with ``PATH/labels.csv`` (``image_name,tags``):
    :meth:`ImageData.from_csv`.

The modules: :mod:`.folders` finds the files and explains a wrong layout,
:mod:`.datasets` reads images, :mod:`.transforms` augments and normalises them,
:mod:`.data` bundles it all into :class:`~course_utils.data.DataLoaders`, and
:mod:`.learner` puts a pretrained model on them in a :class:`~course_utils.learner.Learner`
(:func:`conv_learner`, with 2018's ``precompute``).
"""

from course_utils.vision.data import (
    ImageData,
    default_num_workers,
    make_loader,
    stratified_subset,
)
from course_utils.vision.datasets import (
    CorruptImageError,
    FileListDataset,
    ImageFolderDataset,
    MultiLabelDataset,
    read_image,
)
from course_utils.vision.folders import (
    IMAGE_EXTENSIONS,
    DatasetLayoutError,
    find_image_folders,
    read_csv_labels,
    split_indices,
)
from course_utils.vision.learner import ConvLearner, conv_learner
from course_utils.vision.transforms import (
    IMAGENET_STATS,
    RandomDihedral,
    RandomLighting,
    RandomZoomCrop,
    denormalize,
    tfms_from_stats,
    transforms_basic,
    transforms_none,
    transforms_side_on,
    transforms_top_down,
)

__all__ = [
    "IMAGENET_STATS",
    "IMAGE_EXTENSIONS",
    "ConvLearner",
    "CorruptImageError",
    "DatasetLayoutError",
    "FileListDataset",
    "ImageData",
    "ImageFolderDataset",
    "MultiLabelDataset",
    "RandomDihedral",
    "RandomLighting",
    "RandomZoomCrop",
    "conv_learner",
    "default_num_workers",
    "denormalize",
    "find_image_folders",
    "make_loader",
    "read_csv_labels",
    "read_image",
    "split_indices",
    "stratified_subset",
    "tfms_from_stats",
    "transforms_basic",
    "transforms_none",
    "transforms_side_on",
    "transforms_top_down",
]
