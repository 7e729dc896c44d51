"""``conv_learner``: a :class:`~course_utils.learner.Learner` for a pretrained image model.

Lesson 1 in one line, as the 2018 course's ``ConvLearner.pretrained`` (fastai v2 calls
it ``vision_learner``)::

    learn = conv_learner(data, "resnet34", metrics=[accuracy])
    learn.fit(3, 1e-2)  # trains the new head; the pretrained body is frozen

The model itself (body, head, layer groups, weights) comes from
:func:`course_utils.models.pretrained.create_cnn`; this module only puts it in a Learner.
"""

from __future__ import annotations

from course_utils.learner import Learner
from course_utils.models.pretrained import create_cnn

__all__ = ["conv_learner"]


def conv_learner(dls, arch: str = "resnet34", pretrained: bool = True, **kwargs) -> Learner:
    """A :class:`~course_utils.learner.Learner` for ``arch`` with a head sized to
    ``dls.classes``, frozen so that only the head trains (the 2018
    ``ConvLearner.pretrained``). ``kwargs`` go to the Learner, except ``weights``,
    ``hidden`` and ``dropout``, which go to :func:`~course_utils.models.pretrained.create_cnn`."""
    if dls.c is None:
        raise ValueError(
            "conv_learner needs dls.classes to size the head; these DataLoaders have none"
        )
    model_kwargs = {k: kwargs.pop(k) for k in ("weights", "hidden", "dropout") if k in kwargs}
    model = create_cnn(arch, dls.c, pretrained, verbose=kwargs.get("verbose", True), **model_kwargs)
    learn = Learner(dls, model, **kwargs)
    learn.freeze()
    return learn
