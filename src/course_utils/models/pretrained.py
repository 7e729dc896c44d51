"""Pretrained backbones with a new head: the transfer learning of lessons 1-3.

Lesson 1 fine-tunes a ResNet-34 that was trained on ImageNet to tell dogs from
cats; lesson 2 trains its layers at different learning rates; lesson 3 swaps in
a ResNeXt-50. The recipe, as the 2018 course's ``ConvLearner.pretrained``:

1. take a torchvision network, drop its last two modules (the average pool and
   the 1000-way ImageNet classifier): what is left is the *body*;
2. put a new *head* on it (:func:`create_head`): concat pooling, then
   BatchNorm, dropout and linear layers ending in one output per class;
3. split the model into three *layer groups* (early body, late body, head), so
   that ``learn.freeze()`` trains the head alone and ``lr=slice(1e-4, 1e-2)``
   gives the early layers, which find edges and textures that every image
   task needs, smaller steps than the head.

:func:`course_utils.vision.conv_learner` puts such a model in a
:class:`~course_utils.learner.Learner`, frozen so that the head trains first.

In the full profile the weights come from torchvision's weights API
(``ResNet34_Weights.IMAGENET1K_V1`` and friends), downloaded once into the torch
cache (``$TORCH_HOME/hub/checkpoints``) with the SHA-256 prefix in the file name
verified (again before each use of the cached file, once per session), every
redirect checked as the first URL is (:func:`course_utils.datasets.download.stream_to_file`),
and loaded with ``torch.load(..., weights_only=True)``. Offline there
are none: the quick profile's bodies are pretrained by the build itself, on the
MNIST digits 0 to 4 (:mod:`course_utils.models.quick_pretrained`), and the page
says so in its provenance.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import torch
import torchvision
from torch import nn
from torchvision.models import get_model, get_model_weights

from course_utils.datasets.download import cached_sha256, check_url, stream_to_file
from course_utils.datasets.leftovers import sweep_leftovers
from course_utils.datasets.mirror import MirroredFile, mirrored
from course_utils.datasets.registry import full_data_root
from course_utils.datasets.transfer import allow_loopback_http
from course_utils.profile import current_profile
from course_utils.provenance import DataSource, record_data_source
from course_utils.report import say

__all__ = [
    "ARCHITECTURES",
    "AdaptiveConcatPool2d",
    "ConvNet",
    "WeightsFileError",
    "create_body",
    "create_cnn",
    "create_head",
    "default_weights",
    "download_weights",
    "load_weights_file",
    "scaled_resnet",
]

# The torchvision ResNet family: every one has the same top-level modules
# (conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc), so one split rule fits all.
ARCHITECTURES = (
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "wide_resnet50_2",
)
BODY_SPLIT = 6  # body[:6] = stem, layer1, layer2 (generic features); body[6:] = layer3, layer4
POOL_LAYERS = 2  # create_head's first two layers: concat pooling, then flatten
HASH_PREFIX = re.compile(r"-([a-f0-9]{8,})\.")  # torchvision's file names: resnet34-b627a593.pth


class WeightsFileError(RuntimeError):
    """A weights file failed its checksum, or cannot be read; the message names it and the fix."""


class AdaptiveConcatPool2d(nn.Module):
    """Average *and* max pooling, concatenated: (B, C, H, W) -> (B, 2C, size, size).

    The max says whether a feature appeared anywhere in the image, the average
    how much of it there was; the head gets both (the 2018 course's default).
    """

    def __init__(self, size: int = 1):
        super().__init__()
        self.avg, self.max = nn.AdaptiveAvgPool2d(size), nn.AdaptiveMaxPool2d(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.max(x), self.avg(x)], dim=1)  # (B, 2C, size, size)


def create_head(
    n_features: int, n_out: int, hidden: int = 512, dropout: tuple[float, float] = (0.25, 0.5)
) -> nn.Sequential:
    """The new head: concat pool, flatten, then BN-dropout-linear twice.

    (B, n_features, H, W) -> (B, 2 n_features) -> (B, hidden) -> (B, n_out).
    """
    for name, value in (("n_features", n_features), ("n_out", n_out), ("hidden", hidden)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if len(dropout) != 2 or not all(0 <= p < 1 for p in dropout):
        raise ValueError(f"dropout must be two probabilities in [0, 1), got {dropout!r}")
    head = nn.Sequential(
        AdaptiveConcatPool2d(),
        nn.Flatten(),  # (B, 2 n_features)
        nn.BatchNorm1d(2 * n_features),
        nn.Dropout(dropout[0]),
        nn.Linear(2 * n_features, hidden),
        nn.ReLU(inplace=True),
        nn.BatchNorm1d(hidden),
        nn.Dropout(dropout[1]),
        nn.Linear(hidden, n_out),
    )
    for module in head:
        if isinstance(module, nn.Linear):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return head


class ConvNet(nn.Module):
    """A pretrained body and a new head, in three layer groups.

    ``layer_groups()`` is ``[body[:split], body[split:], head]``, what the
    :class:`~course_utils.learner.Learner` freezes and gives learning rates to.
    """

    def __init__(self, body: nn.Sequential, head: nn.Module, split: int = BODY_SPLIT):
        super().__init__()
        if not 0 < split < len(body):
            raise ValueError(f"split must be inside the body's {len(body)} modules, got {split}")
        self.body, self.head, self.split = body, head, split
        first_conv = next(m for m in body.modules() if isinstance(m, nn.Conv2d))
        self.in_channels = first_conv.in_channels

    def _check_images(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"this network expects a batch of {self.in_channels}-channel images "
                f"(B, {self.in_channels}, H, W), got a tensor of shape {tuple(x.shape)}"
                + ("; greyscale images need converting to RGB" if x.ndim == 4 else "")
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_images(x)
        return self.head(self.body(x))  # (B, n_out)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The body's output, concat-pooled and flattened: (B, C, H, W) -> (B, 2 n_features).

        Nothing in it trains while the body is frozen, so ``precompute=True`` computes it
        once per image (:class:`~course_utils.vision.learner.ConvLearner`).
        """
        self._check_images(x)
        return self.head[:POOL_LAYERS](self.body(x))

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        """The rest of the head: (B, 2 n_features) -> (B, n_out);
        ``classify(pooled(x))`` is ``forward(x)``."""
        return self.head[POOL_LAYERS:](pooled)

    def layer_groups(self) -> list[nn.Module]:
        """Early body, late body, head."""
        return [self.body[: self.split], self.body[self.split :], self.head]


def _check_arch(arch: str) -> None:
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {arch!r}; expected one of: {', '.join(ARCHITECTURES)}"
        )


def default_weights(arch: str):
    """torchvision's recommended ImageNet weights for ``arch`` (a ``WeightsEnum`` member)."""
    _check_arch(arch)
    return get_model_weights(arch).DEFAULT


def download_weights(url: str) -> Path:
    """Download a weights file once into the torch cache and return its path.

    The file name must carry the first hex digits of the file's SHA-256
    (``resnet34-b627a593.pth``), as torchvision's do. The download goes to a
    temporary file, every redirect checked, and is moved into place only when its
    SHA-256 matches, so a cut or corrupted download leaves no file at the final
    path. A cached file is hashed again before use (once per session): one that
    no longer matches raises :class:`WeightsFileError` saying how to re-download it.
    """
    check_url(url)
    copy = mirrored(url)
    if copy is not None:
        return _download_mirrored(url, copy)
    fname = Path(urlsplit(url).path).name
    match = HASH_PREFIX.search(fname)
    if match is None:
        raise ValueError(
            f"refusing to download {url!r}: its file name carries no SHA-256 prefix "
            "(expected a name like resnet34-b627a593.pth), so it cannot be verified"
        )
    prefix = match[1]
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    target = folder / fname
    if target.is_file():
        if not cached_sha256(target).startswith(prefix):
            raise WeightsFileError(
                f"the cached weights file {target} does not match the SHA-256 prefix {prefix} "
                f"in its name: it is corrupt or was altered. Delete it (rm {target}) and run "
                "again to download it anew."
            )
        return target

    def check(sha256: str) -> None:
        if not sha256.startswith(prefix):
            raise WeightsFileError(
                f"{url}: the downloaded file's SHA-256 is {sha256}, which does not start with "
                f"the {prefix} its name carries; nothing was kept. Run again to retry; if it "
                "fails again, the file at that address is not the one published."
            )

    return _download_checked(url, target, check)


def _download_checked(url: str, target: Path, check: Callable[[str], None]) -> Path:
    """Stream ``url`` to a temporary file beside ``target``, pass its SHA-256 to ``check``
    (which raises to refuse it) and only then move it into place; nothing is left otherwise."""
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(target.parent)  # the temporary files of downloads that were killed
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.partial-", dir=target.parent)
    os.close(fd)
    try:
        _, sha256 = stream_to_file(url, tmp)
        check(sha256)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _download_mirrored(url: str, copy: MirroredFile) -> Path:
    """A rehearsal's weights file (:mod:`course_utils.datasets.mirror`): random weights of the
    right architecture under the canonical name, from the local mirror, verified against the
    whole-file SHA-256 the mirror's manifest gives, and kept in the rehearsal's own folder,
    never in the torch cache where the published weights go."""
    fname = Path(urlsplit(url).path).name
    folder = full_data_root() / "checkpoints"
    expected = copy.known_hash.removeprefix("sha256:")
    target = folder / fname
    if target.is_file() and cached_sha256(target) == expected:
        return target

    def check(sha256: str) -> None:
        if sha256 != expected:
            raise WeightsFileError(
                f"{copy.url}: SHA-256 {sha256}, but the mirror's manifest gives {expected}; "
                "nothing was kept"
            )

    with allow_loopback_http():
        return _download_checked(copy.url, target, check)


def load_weights_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from ``path``, read with ``weights_only=True`` (no arbitrary pickles)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as error:
        # torch reports a cut file as EOFError, OSError (EINVAL) or a RuntimeError of its reader
        raise WeightsFileError(
            f"cannot read the weights file {path}: it is incomplete or corrupt "
            f"({type(error).__name__}: {str(error)[:200]}). Delete it and run again: a "
            "downloaded file is downloaded anew, a quick-profile body trained anew."
        ) from error
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, expected a state dict")
    return state


def scaled_resnet(arch: str, width: float = 1.0) -> torchvision.models.ResNet:
    """torchvision's ``arch`` with random weights and every layer's channels times ``width``.

    The layout is the published one (the same blocks, as many of them, the same strides and
    groups); only the channel counts shrink: the four stages of a ResNet-34 have 64, 128, 256
    and 512 channels, at ``width=0.5`` 32, 64, 128 and 256. Weights are initialised as
    torchvision initialises them. ``width=1`` is torchvision's network itself.
    """
    _check_arch(arch)
    if not 0 < width <= 1:
        raise ValueError(f"width must be in (0, 1], got {width!r}")
    model = get_model(arch, weights=None)  # random initialisation, nothing downloaded
    if not isinstance(model, torchvision.models.ResNet):
        raise TypeError(f"{arch} is not a torchvision ResNet; cannot split it into a body")
    if width == 1:
        return model
    block = type(model.layer1[0])
    depths = [len(model.layer1), len(model.layer2), len(model.layer3), len(model.layer4)]
    planes = [max(1, round(p * width)) for p in (64, 128, 256, 512)]
    # rebuild the stem and the four stages with ResNet's own _make_layer, which reads the
    # channels coming in from model.inplanes and keeps the network's groups and base width
    model.inplanes, model.dilation = planes[0], 1
    model.conv1 = nn.Conv2d(3, planes[0], kernel_size=7, stride=2, padding=3, bias=False)
    model.bn1 = nn.BatchNorm2d(planes[0])
    for i, (n_planes, depth) in enumerate(zip(planes, depths, strict=True)):
        stage = model._make_layer(block, n_planes, depth, stride=1 if i == 0 else 2)
        setattr(model, f"layer{i + 1}", stage)
    model.fc = nn.Linear(planes[-1] * block.expansion, model.fc.out_features)
    for module in model.modules():  # torchvision's initialisation (ResNet.__init__)
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return model


def create_body(arch: str, pretrained: bool, weights=None, width: float = 1.0) -> nn.Sequential:
    """The torchvision network ``arch`` without its pooling and classifier.

    With ``pretrained``, ``weights`` (default: torchvision's ``DEFAULT`` for the
    architecture; anything with a ``.url``) are downloaded and loaded strictly.
    ``width`` below 1 narrows every layer (:func:`scaled_resnet`); published weights
    exist for the full width only.
    """
    if pretrained and width != 1:
        raise ValueError(
            f"published weights fit {arch} at full width only; got width={width!r} "
            "with pretrained=True"
        )
    model = scaled_resnet(arch, width)
    if pretrained:
        weights = weights if weights is not None else default_weights(arch)
        model.load_state_dict(load_weights_file(download_weights(weights.url)), strict=True)
    return nn.Sequential(*list(model.children())[:-2])  # drop avgpool, fc


def create_cnn(
    arch: str,
    n_out: int,
    pretrained: bool = True,
    weights=None,
    hidden: int = 512,
    dropout: tuple[float, float] = (0.25, 0.5),
    verbose: bool = True,
) -> ConvNet:
    """``arch``'s body with a new head of ``n_out`` outputs, in three layer groups.

    A pretrained body comes from the profile: ImageNet weights (``weights``, default
    torchvision's ``DEFAULT``) where the profile downloads published weights (full),
    else the body the build pretrained on the digits 0 to 4 (quick). Passing
    ``weights`` asks for that download in any profile. ``pretrained=False`` starts
    from random weights. What was used is printed (with ``verbose``) and recorded
    in the page's provenance.
    """
    profile = current_profile()
    imagenet = weights if weights is not None else default_weights(arch)
    quick_body = pretrained and weights is None and not profile.pretrained
    downloaded = pretrained and not quick_body
    # published weights fit the full width; every other body has the profile's width
    width = 1.0 if downloaded else profile.body_width
    body = create_body(arch, downloaded, imagenet, width=width)
    # channels out of the body: the last BatchNorm normalises the last block's output
    n_features = [m for m in body.modules() if isinstance(m, nn.BatchNorm2d)][-1].num_features
    model = ConvNet(body, create_head(n_features, n_out, hidden, dropout))
    if quick_body:
        from course_utils.models.quick_pretrained import quick_body_file, quick_body_source

        path = quick_body_file(arch, width)
        body.load_state_dict(load_weights_file(path), strict=True)
        source = quick_body_source(path, stand_in_for=f"{arch}, ImageNet weights {imagenet}")
        message = (
            f"{arch}{at_width(width)}: body pretrained on the MNIST digits 0 to 4 "
            f"({source.origin}), new head of {n_out} outputs\n"
            f"  (the full profile uses ImageNet weights {imagenet} at full width)"
        )
    elif pretrained:
        source = DataSource(
            f"{arch}, pretrained on ImageNet ({imagenet})",
            imagenet.url,
            description=f"a {network_name(arch)} pretrained on ImageNet's photos",
            kind="weights",
        )
        message = f"{arch}: body with ImageNet weights {imagenet}, new head of {n_out} outputs"
    else:  # pretrained=False asked for: the same in every profile, no stand-in
        source = DataSource(
            f"{arch}{at_width(width)}, random initial weights",
            "torch's default initialisation",
            description=f"a {network_name(arch)}{at_width(width)} with random initial weights",
            kind="initialisation",
        )
        message = (
            f"{arch}{at_width(width)}: random initial weights, as asked, "
            f"new head of {n_out} outputs"
        )
    record_data_source(source)
    if verbose:
        say(message)
    return model


def network_name(arch: str) -> str:
    """The architecture as a reader knows it: ``"resnet34"`` -> ``"ResNet-34"``,
    ``"resnext50_32x4d"`` -> ``"ResNeXt-50"``, ``"wide_resnet50_2"`` -> ``"Wide ResNet-50"``."""
    match = re.fullmatch(r"(wide_)?(resnext|resnet)(\d+)(_.*)?", arch)
    if match is None:
        return arch
    wide, family, depth, _ = match.groups()
    name = {"resnet": "ResNet", "resnext": "ResNeXt"}[family] + f"-{depth}"
    return f"Wide {name}" if wide else name


def at_width(width: float) -> str:
    """`` at half width`` and the like for a narrowed body; nothing at full width."""
    if width == 1:
        return ""
    return " at half width" if width == 0.5 else f" at {width:g} of its width"
