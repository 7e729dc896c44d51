"""course_utils.vision: image folders and CSV labels found and checked, images decoded,
augmented and normalised, and DataLoaders a Learner trains on (the quick MNIST included)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from course_utils import provenance
from course_utils.data import DataLoaders
from course_utils.learner import Learner
from course_utils.vision import (
    IMAGENET_STATS,
    CorruptImageError,
    DatasetLayoutError,
    ImageData,
    ImageFolderDataset,
    RandomDihedral,
    RandomLighting,
    RandomZoomCrop,
    denormalize,
    find_image_folders,
    read_csv_labels,
    read_image,
    split_indices,
    stratified_subset,
    tfms_from_stats,
    transforms_side_on,
    transforms_top_down,
)

COLOURS = {"cat": (220, 30, 30), "dog": (30, 200, 40), "fish": (40, 50, 210)}


def square(path: Path, colour, size=(16, 16)) -> Path:
    """A plain coloured image (PIL's ``size`` is (width, height))."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def folders(root: Path, n_train=3, n_valid=2, classes=COLOURS, ext="png") -> Path:
    for split, n in (("train", n_train), ("valid", n_valid)):
        for name in classes:
            for i in range(n):
                square(root / split / name / f"{name}{i}.{ext}", COLOURS.get(name, (9, 9, 9)))
    return root


def write_csv(path: Path, rows, header=("image_name", "tags")) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def mean_colour(x: torch.Tensor) -> np.ndarray:
    """The mean RGB (0-255) of a normalised (3, H, W) image."""
    return (denormalize(x).mean(dim=(1, 2)) * 255).numpy()


# ----- image folders ---------------------------------------------------------------------
def test_from_paths_classes_targets_counts_and_batches(tmp_path):
    dls = ImageData.from_paths(folders(tmp_path), size=8, bs=4, num_workers=0)
    assert isinstance(dls, DataLoaders) and not dls.is_multilabel
    assert dls.classes == ["cat", "dog", "fish"] and dls.c == 3
    train, valid = dls.train_dl.dataset, dls.valid_dl.dataset
    assert (len(train), len(valid)) == (9, 6)
    assert isinstance(dls.train_dl.sampler, torch.utils.data.RandomSampler)
    assert isinstance(dls.valid_dl.sampler, torch.utils.data.SequentialSampler)
    assert all(f.is_file() for f in train.files) and train.files[0].name == "cat0.png"
    xb, yb = next(iter(dls.valid_dl))
    assert xb.shape == (4, 3, 8, 8) and xb.dtype == torch.float32 and type(xb) is torch.Tensor
    assert yb.dtype == torch.int64 and yb.tolist() == [0, 0, 1, 1]
    for i in range(len(valid)):  # every image has its own class's colour
        x, y = valid[i]
        expected = COLOURS[valid.classes[int(y)]]
        assert np.allclose(mean_colour(x), expected, atol=1.5), (valid.files[i], y)
    assert len(dls.train_dl) == 2  # 9 = 4 + 4 + 1: a last batch of one image is dropped
    assert sum(len(yb) for _, yb in dls.train_dl) == 8


def test_hidden_non_image_and_upper_case_files(tmp_path):
    root = folders(tmp_path)
    square(root / "train" / "cat" / "BIG.JPG", COLOURS["cat"])
    square(root / "train" / "dog" / ".hidden.png", COLOURS["dog"])
    (root / "train" / "dog" / "notes.txt").write_text("not an image")
    (root / "train" / ".ipynb_checkpoints").mkdir()
    (root / "valid" / ".DS_Store").write_bytes(b"\0")
    found = find_image_folders(root)
    assert found.classes == ["cat", "dog", "fish"]
    names = [f.name for f in found.train_files]
    assert "BIG.JPG" in names and ".hidden.png" not in names and "notes.txt" not in names
    assert len(found.train_files) == 10 and found.train_labels.count(0) == 4


def test_custom_split_names_and_test_folder(tmp_path):
    root = folders(tmp_path)
    (root / "valid").rename(root / "val")
    for i in range(3):
        square(root / "test1" / f"{i}.png", COLOURS["dog"])
    dls = ImageData.from_paths(root, size=8, bs=2, val_name="val", test_name="test1")
    assert len(dls.valid_dl.dataset) == 6
    xb = next(iter(dls.test_dl))
    assert isinstance(xb, torch.Tensor) and xb.shape == (2, 3, 8, 8)  # images alone
    assert [f.name for f in dls.test_dl.dataset.files] == ["0.png", "1.png", "2.png"]


def test_missing_path(tmp_path):
    with pytest.raises(DatasetLayoutError, match=r"nowhere does not exist"):
        ImageData.from_paths(tmp_path / "nowhere")


def test_missing_split_lists_what_is_there(tmp_path):
    root = folders(tmp_path)
    (root / "valid").rename(root / "validation")
    with pytest.raises(DatasetLayoutError, match=r"no 'valid' folder") as info:
        find_image_folders(root)
    message = str(info.value)
    assert "PATH/valid/<class>/<image>" in message  # the layout expected
    assert "'train/'" in message and "'validation/'" in message  # and what was found


def test_empty_class_folder_is_named(tmp_path):
    root = folders(tmp_path)
    for f in (root / "valid" / "dog").iterdir():
        f.unlink()
    (root / "valid" / "dog" / "readme.txt").write_text("x")
    with pytest.raises(DatasetLayoutError, match=r"class 'dog'\) holds no images.*readme\.txt"):
        find_image_folders(root)


def test_classes_differ_between_splits(tmp_path):
    root = folders(tmp_path)
    (root / "valid" / "fish").rename(root / "valid" / "bird")
    with pytest.raises(DatasetLayoutError, match=r"Only in train: 'fish'; only in valid: 'bird'"):
        find_image_folders(root)


def test_loose_images_where_class_folders_belong(tmp_path):
    root = folders(tmp_path)
    square(root / "train" / "stray.jpg", COLOURS["cat"])
    with pytest.raises(DatasetLayoutError, match=r"1 image file directly \('stray.jpg'\)"):
        find_image_folders(root)
    flat = tmp_path / "flat"
    square(flat / "train" / "a.png", COLOURS["cat"])
    square(flat / "valid" / "b.png", COLOURS["cat"])
    with pytest.raises(DatasetLayoutError, match=r"class folders were expected.*from_csv"):
        find_image_folders(flat)


def test_split_without_images_and_empty_test_folder(tmp_path):
    root = folders(tmp_path)
    (root / "extra").mkdir()
    for name in COLOURS:
        for f in (root / "valid" / name).iterdir():
            f.unlink()
    with pytest.raises(DatasetLayoutError, match=r"class 'cat'\) holds no images.*empty"):
        find_image_folders(root)
    root = folders(tmp_path / "b")
    (root / "test").mkdir()
    with pytest.raises(DatasetLayoutError, match=r"test folder .*test holds no images"):
        find_image_folders(root, test_name="test")
    with pytest.raises(DatasetLayoutError, match=r"PATH/tst/<image>.*does not exist"):
        find_image_folders(root, test_name="tst")


def test_max_items_is_a_seeded_stratified_subset(tmp_path):
    root = folders(tmp_path, n_train=4)
    dls = ImageData.from_paths(root, size=8, bs=4, max_items=6, seed=1)
    train = dls.train_dl.dataset
    assert len(train) == 6 and sorted(train.labels.tolist()) == [0, 0, 1, 1, 2, 2]
    again = ImageData.from_paths(root, size=8, bs=4, max_items=6, seed=1).train_dl.dataset
    assert again.files == train.files
    for f, y in zip(train.files, train.labels.tolist(), strict=True):
        assert f.parent.name == train.classes[y]  # files and targets stay paired
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    keep = stratified_subset(labels, 100, 10, seed=0)
    assert np.bincount(labels[keep]).tolist() == [5, 3, 2]
    assert len(stratified_subset(None, 100, 10, seed=0)) == 10


# ----- reading images --------------------------------------------------------------------
@pytest.mark.parametrize("ext", ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"])
def test_read_image_formats(tmp_path, ext):
    path = square(tmp_path / f"x.{ext}", (200, 100, 50), size=(12, 10))
    image = read_image(path)
    assert image.shape == (3, 10, 12) and image.dtype == torch.uint8
    lossy = ext in ("jpg", "jpeg", "webp", "gif")  # gif: a 256-colour palette
    assert np.allclose(image.float().mean(dim=(1, 2)), [200, 100, 50], atol=8 if lossy else 0)
    assert read_image(path, convert_mode="L").shape == (1, 10, 12)
    if not lossy:
        assert torch.equal(read_image(path, decoder="pil"), image)


def test_rgba_and_greyscale_become_rgb(tmp_path):
    Image.new("RGBA", (5, 4), (10, 20, 30, 128)).save(tmp_path / "a.png")
    Image.new("L", (5, 4), 77).save(tmp_path / "g.png")
    assert read_image(tmp_path / "a.png")[:, 0, 0].tolist() == [10, 20, 30]
    assert read_image(tmp_path / "g.png")[:, 0, 0].tolist() == [77, 77, 77]


def test_corrupt_image_names_the_file(tmp_path):
    root = folders(tmp_path)
    bad = root / "train" / "dog" / "broken.jpg"
    bad.write_bytes(np.random.default_rng(0).bytes(500))
    with pytest.raises(CorruptImageError, match=r"could not read .*broken\.jpg as an image"):
        read_image(bad)
    (root / "train" / "cat" / "empty.png").write_bytes(b"")
    with pytest.raises(CorruptImageError, match=r"empty\.png as an image: the file is empty"):
        read_image(root / "train" / "cat" / "empty.png")
    with pytest.raises(FileNotFoundError, match=r"no image file at .*gone\.png"):
        read_image(root / "gone.png")
    dls = ImageData.from_paths(root, size=8, bs=32, num_workers=0)
    with pytest.raises(CorruptImageError, match=r"broken\.jpg"):
        list(dls.train_dl)


# Starts a loader worker process. Its iterator, kept alive by the error's traceback, is freed
# later by the cycle collector, in whichever test runs then, and that shutdown waits 5 s.
@pytest.mark.slow
def test_corrupt_image_error_crosses_a_worker_process(tmp_path):
    root = folders(tmp_path)
    (root / "valid" / "fish" / "fish0.png").write_text("this is text, not a PNG")
    dls = ImageData.from_paths(root, size=8, bs=32, num_workers=1)
    assert dls.valid_dl.persistent_workers
    with pytest.raises(CorruptImageError, match=r"fish0\.png as an image"):
        list(dls.valid_dl)


def test_dataset_without_transform_gives_floats(tmp_path):
    root = folders(tmp_path)
    with pytest.raises(DatasetLayoutError, match=r"class folders 'fish' that are not among"):
        ImageFolderDataset.from_folder(root / "valid", classes=["cat", "dog"])
    ds = ImageFolderDataset.from_folder(root / "train")
    x, y = ds[4]
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32 and 0 <= x.min() <= x.max() <= 1
    assert ds.classes[int(y)] == "dog" and ds.get_image(4).dtype == torch.uint8
    assert repr(ds) == "ImageFolderDataset(9 images, 3 classes)"


# ----- labels in a CSV -------------------------------------------------------------------
@pytest.fixture
def planet(tmp_path) -> Path:
    for i, colour in enumerate([(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0)] * 3):
        square(tmp_path / "train" / f"img{i}.{'jpg' if i == 5 else 'png'}", colour)
    rows = [[f"img{i}", ["clear primary", "haze", "water primary", ""][i % 4]] for i in range(12)]
    rows[5][0] = "img5.jpg"  # a file name with its extension works too
    write_csv(tmp_path / "labels.csv", rows)
    return tmp_path


def test_from_csv_multilabel_targets(planet):
    labels = read_csv_labels(planet)
    assert labels.classes == ["clear", "haze", "primary", "water"]
    assert labels.files[5].name == "img5.jpg" and labels.tags[3] == []  # empty: no tags
    dls = ImageData.from_csv(planet, size=8, bs=4, val_idxs=[0, 1, 2, 3])
    assert dls.is_multilabel and dls.classes == ["clear", "haze", "primary", "water"]
    valid = dls.valid_dl.dataset
    assert [f.name for f in valid.files] == ["img0.png", "img1.png", "img2.png", "img3.png"]
    assert valid.targets.tolist() == [[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]]
    xb, yb = next(iter(dls.valid_dl))
    assert xb.shape == (4, 3, 8, 8) and yb.dtype == torch.float32 and yb.shape == (4, 4)
    assert len(dls.train_dl.dataset) == 8


def test_from_csv_seeded_split_and_single_label(tmp_path, planet):
    a = ImageData.from_csv(planet, size=8, valid_pct=0.25, seed=3).valid_dl.dataset.files
    b = ImageData.from_csv(planet, size=8, valid_pct=0.25, seed=3).valid_dl.dataset.files
    c = ImageData.from_csv(planet, size=8, valid_pct=0.25, seed=4).valid_dl.dataset.files
    assert a == b and len(a) == 3 and a != c
    single = tmp_path / "single"
    for i in range(6):
        square(single / "train" / f"{i}.png", COLOURS["cat"])
    write_csv(single / "labels.csv", [[str(i), "cat" if i % 2 else "dog"] for i in range(6)])
    dls = ImageData.from_csv(single, size=8, bs=2, valid_pct=0.5)
    assert not dls.is_multilabel and dls.classes == ["cat", "dog"]
    assert next(iter(dls.train_dl))[1].dtype == torch.int64
    with pytest.raises(DatasetLayoutError, match=r"multilabel=False .* row 1 has 2"):
        ImageData.from_csv(planet, size=8, multilabel=False)


def test_csv_missing_column(planet):
    write_csv(planet / "labels.csv", [["img0", "haze"]], header=("image", "tags"))
    with pytest.raises(DatasetLayoutError, match=r"no column 'image_name'.*found image,tags"):
        read_csv_labels(planet)


def test_csv_row_naming_a_missing_file(planet):
    write_csv(planet / "labels.csv", [["img0", "haze"], ["img1", "haze"], ["img99", "water"]])
    with pytest.raises(DatasetLayoutError, match=r"labels\.csv: 1 rows .* row 3 \('img99'\)"):
        read_csv_labels(planet)


def test_csv_duplicate_rows_and_ambiguous_stems(planet):
    write_csv(planet / "labels.csv", [["img0", "haze"], ["img1", "haze"], ["img0.png", "water"]])
    with pytest.raises(DatasetLayoutError, match=r"rows 1 and 3 both name img0\.png"):
        read_csv_labels(planet)
    square(planet / "train" / "img1.jpg", COLOURS["cat"])
    write_csv(planet / "labels.csv", [["img1", "haze"]])
    with pytest.raises(DatasetLayoutError, match=r"row 1: 'img1' could be any of"):
        read_csv_labels(planet)


def test_csv_layout_errors(tmp_path, planet):
    (planet / "labels.csv").unlink()
    with pytest.raises(DatasetLayoutError, match=r"no 'labels.csv' in .*found in .*'train/'"):
        ImageData.from_csv(planet)
    write_csv(planet / "labels.csv", [])
    with pytest.raises(DatasetLayoutError, match=r"header but no rows"):
        read_csv_labels(planet)


def test_split_indices():
    train, valid = split_indices(10, valid_pct=0.2, seed=42)
    assert len(valid) == 2 and sorted([*train, *valid]) == list(range(10))
    assert split_indices(10, val_idxs=[7, 2])[1].tolist() == [2, 7]
    with pytest.raises(ValueError, match=r"val_idxs must be in 0..9"):
        split_indices(10, val_idxs=[10])
    with pytest.raises(ValueError, match=r"valid_pct must be between 0 and 1"):
        split_indices(10, valid_pct=0)
    with pytest.raises(ValueError, match=r"left 0 for training"):
        split_indices(2, val_idxs=[0, 1])


# ----- transforms ------------------------------------------------------------------------
def noise_image(h=30, w=40, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g)  # (C, H, W)


@pytest.mark.parametrize("size", [8, 20, 48])
def test_transforms_give_the_requested_size(size):
    train, valid = tfms_from_stats(IMAGENET_STATS, size, transforms_top_down, max_zoom=1.2)
    for tfms in (train, valid):
        out = tfms(noise_image())
        assert out.shape == (3, size, size) and out.dtype == torch.float32
        assert type(out) is torch.Tensor


def test_zoom_crop_on_tensors_and_pil_images():
    x = noise_image(30, 40)
    pil = Image.fromarray(x.permute(1, 2, 0).numpy())
    torch.manual_seed(0)
    for image in (x, pil):
        out = RandomZoomCrop(12, max_zoom=1.5)(image)
        assert TF.get_size(out) == [12, 12]
    train, _ = tfms_from_stats(IMAGENET_STATS, 12, transforms_side_on, max_zoom=1.1)
    assert train(pil).shape == (3, 12, 12)  # the same pipeline takes PIL images
    whole = RandomZoomCrop(30)(x)  # no zoom, 30x40 -> a 30x30 crop, nothing resized
    assert any(torch.equal(whole, x[:, :, i : i + 30]) for i in range(11))


def test_normalisation_matches_the_formula():
    x = noise_image(16, 16)  # already the output size: resize and crop change nothing
    _, valid = tfms_from_stats(IMAGENET_STATS, 16)
    mean, std = (torch.tensor(s).view(3, 1, 1) for s in IMAGENET_STATS)
    expected = (x.float() / 255 - mean) / std
    assert torch.allclose(valid(x), expected, atol=1e-6)
    assert torch.allclose(denormalize(valid(x)), x.float() / 255, atol=1e-6)
    batch = torch.stack([valid(x)] * 2)  # (B, C, H, W) works too
    assert torch.allclose(denormalize(batch)[1], x.float() / 255, atol=1e-6)


def test_valid_transforms_are_deterministic():
    _, valid = tfms_from_stats(IMAGENET_STATS, 24, transforms_side_on, max_zoom=1.1)
    x = noise_image()
    torch.manual_seed(0)
    first = valid(x)
    torch.manual_seed(1)
    assert torch.equal(valid(x), first)


def test_flips_are_applied_both_ways():
    x = noise_image(16, 16)
    train, valid = tfms_from_stats(IMAGENET_STATS, 16, (v2.RandomHorizontalFlip(),))
    plain = valid(x)
    torch.manual_seed(0)
    seen = {"plain": 0, "flipped": 0}
    for _ in range(40):
        out = train(x)
        if torch.equal(out, plain):
            seen["plain"] += 1
        else:
            assert torch.equal(out, plain.flip(-1))
            seen["flipped"] += 1
    assert seen["plain"] > 5 and seen["flipped"] > 5


def test_side_on_augments_and_top_down_turns_by_right_angles():
    x = noise_image(16, 16)
    train, valid = tfms_from_stats(IMAGENET_STATS, 16, transforms_side_on, max_zoom=1.1)
    torch.manual_seed(0)
    outs = [train(x) for _ in range(10)]
    assert not all(torch.equal(o, outs[0]) for o in outs)
    dihedral = RandomDihedral()
    torch.manual_seed(0)
    views = {tuple(dihedral(x).flatten()[:40].tolist()) for _ in range(200)}
    assert len(views) == 8  # the 8 symmetries of a square, vertical flip included
    assert tuple(x.flip(-2).flatten()[:40].tolist()) in views


def test_random_lighting():
    x = noise_image().float() / 255
    torch.manual_seed(0)
    out = RandomLighting(0.05, 0.05)(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert 0 < (out - x).abs().max() < 0.2
    assert torch.allclose(RandomLighting(0, 0)(x), x)
    with pytest.raises(TypeError, match=r"after\s+v2.ToDtype"):
        RandomLighting()(noise_image())


def test_transform_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match=r"size must be a positive int"):
        tfms_from_stats(IMAGENET_STATS, 0)
    with pytest.raises(ValueError, match=r"max_zoom must be at least 1"):
        tfms_from_stats(IMAGENET_STATS, 8, max_zoom=0.5)
    with pytest.raises(ValueError, match=r"either tfms=.* or aug_tfms"):
        ImageData.from_paths(tmp_path, tfms=tfms_from_stats(IMAGENET_STATS, 8), max_zoom=1.1)


def test_greyscale_mode(tmp_path):
    dls = ImageData.from_paths(folders(tmp_path), size=8, bs=4, convert_mode="L")
    xb, _ = next(iter(dls.train_dl))
    assert xb.shape == (4, 1, 8, 8)


# ----- the quick MNIST folders, end to end -----------------------------------------------
@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory) -> Path:
    from course_utils.datasets.registry import dataset_path

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        mp.setattr(provenance, "_sources", {})  # keep this module's loads to itself
        return dataset_path("mnist", profile="quick")  # writes 5,000 PNGs once


def test_quick_mnist_batches(mnist_root):
    dls = ImageData.from_paths(mnist_root, size=28, bs=32, aug_tfms=transforms_side_on)
    assert dls.classes == [str(d) for d in range(10)]
    assert (len(dls.train_dl.dataset), len(dls.valid_dl.dataset)) == (4000, 1000)
    xb, yb = next(iter(dls.train_dl))
    assert xb.shape == (32, 3, 28, 28) and xb.dtype == torch.float32
    assert yb.shape == (32,) and yb.dtype == torch.int64 and 0 <= yb.min() <= yb.max() <= 9
    x, y = dls.valid_dl.dataset[0]
    assert dls.valid_dl.dataset.files[0].parent.name == dls.classes[int(y)] == "0"


def test_quick_mnist_learner_fits_one_epoch(mnist_root):
    dls = ImageData.from_paths(mnist_root, size=16, bs=32, max_items=96, num_workers=0)
    dls.valid_dl = torch.utils.data.DataLoader(dls.valid_dl.dataset.subset(range(0, 1000, 20)), 25)
    assert len(dls.train_dl.dataset) == 96
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, dls.c),
    )
    learn = Learner(dls, model, device="cpu", verbose=False)
    learn.fit(1, 0.1)
    assert learn.epoch == 0 and learn.train_iter == 3
    assert np.isfinite(learn.loss.item())
