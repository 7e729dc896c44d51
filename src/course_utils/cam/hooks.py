"""Forward hooks: keep what a module inside a network computed, without changing the network.

Lesson 7 needs the output of a layer deep inside a model (the class maps, before they are
averaged away). PyTorch calls a *forward hook* ``hook(module, inputs, output)`` every time
the module runs; :func:`hook_output` registers one that stores ``output`` and removes it
when the ``with`` block ends, so that no hook is left behind to hold memory or slow the
model down (the 2018 notebook's ``SaveFeatures`` had to be removed by hand).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["HookedOutput", "hook_output"]


@dataclass
class HookedOutput:
    """What :func:`hook_output` captured: the module's last output (detached), and how
    many times the module ran while the hook was on."""

    output: torch.Tensor | None = None
    calls: int = field(default=0)


@contextmanager
def hook_output(module: nn.Module) -> Iterator[HookedOutput]:
    """Inside the ``with`` block, every forward pass of ``module``
    stores its output in the yielded :class:`HookedOutput`; the hook is
    removed on exit, even after an error.

    >>> with hook_output(model.head[0]) as hooked:
    ...     model(x)
    >>> hooked.output.shape  # what model.head[0] returned
    """
    kept = HookedOutput()

    def keep(
        _module: nn.Module,
        _inputs: tuple,
        output: torch.Tensor,
    ) -> None:
        kept.output = output.detach()  # no graph: we only look at it
        kept.calls += 1

    handle = module.register_forward_hook(keep)
    try:
        yield kept
    finally:
        handle.remove()
