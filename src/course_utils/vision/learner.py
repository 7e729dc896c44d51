"""``conv_learner``: a :class:`ConvLearner` for a pretrained image model.

Lesson 1 in one line, as the 2018 course's ``ConvLearner.pretrained`` (fastai v2 calls
it ``vision_learner``)::

    learn = conv_learner(data, "resnet34", metrics=[accuracy], precompute=True)
    learn.fit(3, 1e-2)  # trains the new head; the pretrained body is frozen

The model itself (body, head, layer groups, weights) comes from
:func:`course_utils.models.pretrained.create_cnn`; this module puts it in a Learner
and adds 2018's ``precompute``.

**precompute.** While the body is frozen, nothing it computes changes from one epoch to
the next, so running it on every image every epoch is wasted work. With
``precompute=True`` the learner runs the body once over the training and validation
images, keeps what it gives the head (``ConvNet.pooled``: (N, 2 n_features)), and trains
the head alone on those rows, which costs next to nothing. The training images go
through the *validation* transforms for this (one fixed view each), so data
augmentation has no effect until ``learn.precompute = False``, as in 2018. Nor do
the frozen body's BatchNorm layers train: they stay as they are (``train_bn`` only
matters without precompute). The activations are kept in memory and recomputed whenever
the body's weights or the loaders differ from those they came from.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from course_utils.device import to_device
from course_utils.learner import Learner
from course_utils.models.pretrained import ConvNet, create_cnn
from course_utils.report import say
from course_utils.vision.data import make_loader

__all__ = ["ConvLearner", "conv_learner"]

UNFREEZE_PRECOMPUTED = (
    "the precomputed activations come from the frozen body: set learn.precompute = False "
    "before unfreezing it"
)


@dataclass
class _Activations:
    """The frozen body's output for every image, and what it was computed from."""

    dls: object  # the DataLoaders the images came from
    body_state: dict[str, torch.Tensor]  # the body's weights and buffers then (CPU copies)
    train_dl: DataLoader  # (pooled activations (B, 2 n_features), targets), shuffled as before
    valid_dl: DataLoader

    def still_valid(self, dls, body: torch.nn.Module) -> bool:
        return dls is self.dls and all(
            torch.equal(tensor.cpu(), self.body_state[name])
            for name, tensor in body.state_dict().items()
        )


def _fixed_view(dl: DataLoader, like: DataLoader) -> DataLoader:
    """``dl``'s images in order, through ``like``'s transforms when both datasets have one
    (training images without augmentation: the validation transforms)."""
    dataset = dl.dataset
    transform = getattr(like.dataset, "transform", None)
    if transform is not None and hasattr(dataset, "transform"):
        dataset = copy.copy(dataset)  # shallow: the file list is shared, not copied
        dataset.transform = transform
    return make_loader(dataset, dl.batch_size, shuffle=False, num_workers=dl.num_workers)


class ConvLearner(Learner):
    """A :class:`~course_utils.learner.Learner` for a :class:`ConvNet`, frozen so that only
    the head trains, with 2018's ``precompute`` (see the module's docstring)."""

    def __init__(self, dls, model: ConvNet, precompute: bool = False, **kwargs):
        super().__init__(dls, model, **kwargs)
        self._activations: _Activations | None = None
        self._on_activations = False  # True while a phase runs over precomputed activations
        self._precompute = False
        self.freeze()
        self.precompute = precompute

    @property
    def precompute(self) -> bool:
        """Train the head on the frozen body's precomputed activations."""
        return self._precompute

    @precompute.setter
    def precompute(self, on: bool) -> None:
        if on and self._frozen_to < len(self.layer_groups) - 1:
            raise ValueError(
                f"precompute=True needs the body frozen (learn.freeze()): {UNFREEZE_PRECOMPUTED}"
            )
        self._precompute = bool(on)
        self.freeze_to(self._frozen_to)  # the body's BatchNorm may train only without it

    def freeze_to(self, n: int) -> None:
        """As :meth:`Learner.freeze_to`; with ``precompute`` nothing in the body trains, its
        BatchNorm layers included, since training never runs it."""
        if self.precompute and n < len(self.layer_groups) - 1:
            raise ValueError(UNFREEZE_PRECOMPUTED)
        super().freeze_to(n)
        self._frozen_to = n
        if self.precompute:
            for group in self.layer_groups[:-1]:
                for p in group.parameters():
                    p.requires_grad_(False)

    def training_loaders(self):
        if not self.precompute:
            return super().training_loaders()
        if self._activations is None or not self._activations.still_valid(
            self.dls, self.model.body
        ):
            self._activations = self._precompute_activations()
        return self._activations.train_dl, self._activations.valid_dl

    @torch.no_grad()
    def _pooled(self, dl: DataLoader) -> tuple[torch.Tensor, torch.Tensor]:
        """The body's pooled output for every image of ``dl``, on the CPU: (N, 2 n_features),
        and the targets."""
        activations, targets = [], []
        for xb, yb in dl:
            with self._autocast():
                out = self.model.pooled(to_device(xb, self.device, self.plan.channels_last))
            activations.append(out.float().cpu())
            targets.append(yb)
        return torch.cat(activations), torch.cat(targets)

    def _precompute_activations(self) -> _Activations:
        start = time.perf_counter()
        train_dl, valid_dl = self.dls.train_dl, self.dls.valid_dl
        self.model.eval()  # the body as it predicts: BatchNorm with its running statistics
        train = self._pooled(_fixed_view(train_dl, like=valid_dl))
        valid = self._pooled(valid_dl)
        shuffle = isinstance(train_dl.sampler, RandomSampler)
        generator = getattr(train_dl, "generator", None)
        seed = generator.initial_seed() if generator is not None else 42
        activations = _Activations(
            dls=self.dls,
            body_state={
                k: v.detach().cpu().clone() for k, v in self.model.body.state_dict().items()
            },
            # the same batches as the images': size, shuffling and a dropped last batch
            train_dl=make_loader(
                TensorDataset(*train), train_dl.batch_size, shuffle, 0, seed, train_dl.drop_last
            ),
            valid_dl=make_loader(TensorDataset(*valid), valid_dl.batch_size, False, 0),
        )
        if self.printer is not None:
            n_features = train[0].shape[1]
            say(
                f"precompute: ran the frozen body once over {len(train[0]):,} training and "
                f"{len(valid[0]):,} validation images ({n_features:,} activations each), "
                f"{time.perf_counter() - start:.1f} s"
            )
        return activations

    def _run_phase(self, dl, training: bool) -> None:
        acts = self._activations
        self._on_activations = acts is not None and dl in (acts.train_dl, acts.valid_dl)
        try:
            super()._run_phase(dl, training)
        finally:
            self._on_activations = False

    def _forward(self, xb):
        # over precomputed activations only the head's layers after pooling run
        return self.model.classify(xb) if self._on_activations else super()._forward(xb)


def conv_learner(
    dls, arch: str = "resnet34", pretrained: bool = True, precompute: bool = False, **kwargs
) -> ConvLearner:
    """A :class:`ConvLearner` for ``arch`` with a head sized to ``dls.classes``, frozen so
    that only the head trains (the 2018 ``ConvLearner.pretrained``). With ``precompute``
    the head trains on activations the frozen body computes once (see the module's
    docstring). ``kwargs`` go to the Learner, except ``weights``, ``hidden`` and
    ``dropout``, which go to :func:`~course_utils.models.pretrained.create_cnn`."""
    if dls.c is None:
        raise ValueError(
            "conv_learner needs dls.classes to size the head; these DataLoaders have none"
        )
    model_kwargs = {k: kwargs.pop(k) for k in ("weights", "hidden", "dropout") if k in kwargs}
    model = create_cnn(arch, dls.c, pretrained, verbose=kwargs.get("verbose", True), **model_kwargs)
    return ConvLearner(dls, model, precompute=precompute, **kwargs)
