"""Execution profiles: how big a run the chapters make, read in one place.

Every chapter asks :func:`current_profile` for its sizes instead of hard-coding
them, so the same code runs in two profiles:

``quick`` (the default)
    CPU, no network, small real datasets that ship inside installed packages,
    a few epochs: the whole book executes in minutes on a laptop or a CI runner.
``full``
    the publishing build: a GPU when there is one, the canonical datasets
    downloaded and checksummed, pretrained weights, the real number of epochs.

Choose with the environment variable ``COURSE_PROFILE=quick|full``.

A **rehearsal** of the full profile (``COURSE_PROFILE=full`` and ``COURSE_REHEARSAL=1``) runs
the full profile's code (its branches, image size, architectures, pretrained-weights path and
data path) on miniatures of the canonical data served by a local mirror
(:mod:`course_utils.datasets.mirror`, which it requires), with the fits cut to a few
batches: the profile's name stays ``"full"``, ``rehearsal`` is true, and the sizes that only
set how long training runs are small. What only the real data can show (an accuracy, a
"beats") is reported rather than asserted in a rehearsal (:func:`course_utils.report.claim`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cache

__all__ = [
    "PROFILES",
    "REHEARSAL_ENV_VAR",
    "Profile",
    "ProfileError",
    "current_profile",
    "default_device",
    "rehearsal_of",
]

ENV_VAR = "COURSE_PROFILE"
REHEARSAL_ENV_VAR = "COURSE_REHEARSAL"


class ProfileError(ValueError):
    """Raised when ``COURSE_PROFILE`` names no known profile."""


@dataclass(frozen=True)
class Profile:
    """Sizes and sources for one execution profile."""

    name: str
    description: str
    data_source: str  # "quick": data shipped in installed packages; "full": canonical downloads
    use_gpu: bool  # take a CUDA device when one is present
    pretrained: bool  # download published pretrained weights (ImageNet, COCO): needs the network
    pretrained_on: str  # what conv_learner's pretrained bodies learnt before fine-tuning
    # channels of conv_learner's ResNets relative to the published architecture: the same
    # layers, blocks and strides, each convolution with this fraction of its channels
    body_width: float
    epochs: int  # a typical number of epochs for a chapter's main training run
    batch_size: int
    image_size: int  # side of the square images fed to CNNs
    max_train_items: int | None  # cap on training examples; None means all
    # ResNets cost about a hundred times more per image than the small models of the other
    # chapters; the chapters that fine-tune one cap their training images here instead
    finetune_items: int | None
    lr_find_iters: int  # mini-batches of a learning-rate sweep
    rehearsal: bool = False  # the full profile's code on miniature data (see the module doc)

    @property
    def is_quick(self) -> bool:
        return self.name == "quick"

    def device(self) -> str:
        """The device chapters train on: ``"cuda"`` when allowed and present, else ``"cpu"``."""
        return default_device(self.use_gpu)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        description="CPU, offline, small real data from installed packages",
        data_source="quick",
        use_gpu=False,
        pretrained=False,
        pretrained_on="the MNIST digits 0 to 4, by this build (stand-ins for photos hold 5 to 9)",
        body_width=0.5,  # a ResNet-34 at half width costs a fifth of the time on a CPU
        epochs=3,
        batch_size=64,
        image_size=32,
        max_train_items=2000,
        finetune_items=640,
        lr_find_iters=30,
    ),
    "full": Profile(
        name="full",
        description="GPU when present, canonical datasets and pretrained weights",
        data_source="full",
        use_gpu=True,
        pretrained=True,
        pretrained_on="ImageNet (torchvision's published weights)",
        body_width=1.0,
        epochs=10,
        batch_size=64,
        image_size=224,
        max_train_items=None,
        finetune_items=None,
        lr_find_iters=100,
    ),
}


def rehearsal_of(profile: Profile) -> Profile:
    """``profile`` (the full one) as a rehearsal: its code and shapes, a few batches of fits."""
    return replace(
        profile,
        description=f"a rehearsal of the {profile.name} profile: its code on miniature data "
        "from a local mirror, fits cut to a few batches (the numbers mean nothing)",
        epochs=1,
        batch_size=4,
        lr_find_iters=6,
        rehearsal=True,
    )


def current_profile() -> Profile:
    """The profile named by ``COURSE_PROFILE`` (``quick`` when unset or empty); a rehearsal
    of it when ``COURSE_REHEARSAL=1`` (the full profile only, and a data mirror is set)."""
    profile = _profile_named(os.environ.get(ENV_VAR, "").strip().lower() or "quick")
    if os.environ.get(REHEARSAL_ENV_VAR, "").strip() not in ("", "0"):
        from course_utils.datasets.mirror import mirror_origin

        if profile.name != "full" or mirror_origin() is None:
            raise ProfileError(
                f"{REHEARSAL_ENV_VAR}=1 rehearses the full profile on a local data mirror: set "
                f"{ENV_VAR}=full and COURSE_DATA_MIRROR=http://127.0.0.1:PORT (make rehearsal "
                "does both)"
            )
        return rehearsal_of(profile)
    return profile


@cache
def _profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ProfileError(
            f"{ENV_VAR}={name!r} is not a profile; expected one of: {known}"
        ) from None


def default_device(use_gpu: bool = True) -> str:
    """``"cuda"`` if ``use_gpu`` and PyTorch sees a CUDA device, otherwise ``"cpu"``."""
    if not use_gpu:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
