"""Optimisers written out by hand: SGD with momentum, Adam, and weight decay.

Lesson 5 of the 2018 course (video J99NV9Cr75I) opens up the training loop and
rebuilds the optimiser step from its maths: momentum at 6825 s, Adam at 7145 s
and weight decay at 7921 s. This module is that chapter's code, small enough to
read next to it. Each optimiser is its update rule alone, the method
``update(p, grad, group)``: one tensor operation per line with the formula it computes
in a comment. What all of them do the same way (evaluate the closure, check the
hyper-parameters, loop over parameter groups and parameters) is the base class's
:meth:`Optimizer.step`.

:class:`Optimizer` subclasses :class:`torch.optim.Optimizer`, so these work wherever a
``torch.optim`` optimiser does: parameter groups, ``zero_grad``,
``state_dict`` / ``load_state_dict``, ``step(closure)``, the
:class:`~course_utils.learner.Learner` (``Learner(dls, model, opt_func=Adam)``)
and its schedulers, which write ``group["lr"]``, ``group["momentum"]`` and
``group["betas"]`` before every batch. Every hyper-parameter is therefore read
from the parameter group at each step, never cached.

They compute what ``torch.optim.SGD``, ``torch.optim.Adam`` and
``torch.optim.AdamW`` compute (the tests check it to 1e-6), without those
classes' extras: no ``maximize``, ``foreach``, ``fused``, ``capturable``,
``differentiable`` or ``amsgrad``, and no sparse gradients.

Notation in the comments: ``p`` a parameter, ``g_t`` its gradient at step ``t``,
``lr`` the learning rate, ``wd`` the weight decay.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import optim

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]


def _check_range(
    name: str, value: float, low: float, high: float | None = None, closed: bool = False
) -> None:
    """Raise a ValueError unless ``low <= value`` (and ``value < high``, or ``<=`` if closed)."""
    if high is None:
        if not value >= low:  # written so that NaN fails too
            raise ValueError(f"{name} must be >= {low}, got {value}")
        return
    inside = low <= value <= high if closed else low <= value < high
    if not inside:
        bracket = "]" if closed else ")"
        raise ValueError(f"{name} must be in [{low}, {high}{bracket}, got {value}")


def _check_grad(name: str, p: torch.Tensor) -> None:
    if p.grad.is_sparse:
        raise RuntimeError(
            f"{name} does not support sparse gradients (got a sparse .grad for a parameter "
            f"of shape {tuple(p.shape)}); use dense gradients, e.g. nn.Embedding(sparse=False)"
        )


class Optimizer(optim.Optimizer):
    """The plumbing every optimiser here shares; a subclass adds only its maths.

    :meth:`step` evaluates the closure, checks each parameter group's hyper-parameters
    (a scheduler may have written a bad value since the last step) and calls the
    subclass's :meth:`update` for every parameter that has a gradient. A subclass
    defines ``update(p, grad, group)``, the update rule for one parameter, and
    ``_check_group(group)``, which raises a ValueError for a bad hyper-parameter.
    """

    def _check_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def update(self, p: torch.Tensor, grad: torch.Tensor, group: dict[str, Any]) -> None:
        """Update the parameter ``p`` in place, given its gradient ``grad`` and the
        hyper-parameters of its parameter group; per-parameter state is ``self.state[p]``."""
        raise NotImplementedError

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group (a dict with ``"params"`` and optional hyper-parameters
        overriding the defaults), after checking its hyper-parameters."""
        self._check_group({**self.defaults, **param_group})
        super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """Update every parameter that has a gradient; return ``closure()``'s loss, if given.

        ``closure`` re-evaluates the model (zero_grad, forward, backward) and returns the loss.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._check_group(group)
            for p in group["params"]:
                if p.grad is None:  # frozen, or not used in this forward pass
                    continue
                _check_grad(type(self).__name__, p)
                self.update(p, p.grad, group)
        return loss


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov momentum
    and L2 weight decay; computes what ``torch.optim.SGD`` computes.

    Per-parameter state: ``momentum_buffer`` (the velocity ``v``), created at the first
    step with a non-zero momentum.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
        }
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_range("lr", group["lr"], 0.0)
        _check_range("momentum", group["momentum"], 0.0, 1.0)
        _check_range("dampening", group["dampening"], 0.0, 1.0, closed=True)
        _check_range("weight_decay", group["weight_decay"], 0.0)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "nesterov=True needs momentum > 0 and dampening == 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def update(
        self,
        p: torch.Tensor,
        grad: torch.Tensor,
        group: dict[str, Any],
    ) -> None:
        """One SGD step for the parameter ``p``, whose gradient is
        ``grad``."""
        lr, mu, tau, wd = (
            group["lr"],
            group["momentum"],
            group["dampening"],
            group["weight_decay"],
        )
        g = grad
        if wd != 0:
            # L2 regularisation: the gradient of loss + wd/2 * ||p||^2,
            # added *before* momentum, so the decay is accumulated in
            # the velocity too
            g = g.add(p, alpha=wd)  # g_t = g_t + wd * p_{t-1}
        if mu != 0:
            state = self.state[p]
            v = state.get("momentum_buffer")
            if v is None:
                # first step: the velocity starts at the gradient, undamped
                v = state["momentum_buffer"] = g.clone()  # v_1 = g_1
            else:
                # v_t = mu * v_{t-1} + (1 - tau) * g_t
                v.mul_(mu).add_(g, alpha=1 - tau)
            # the step direction. Classical momentum: d_t = v_t.
            # Nesterov looks ahead, along the gradient plus the next
            # velocity's share: d_t = g_t + mu * v_t
            g = g.add(v, alpha=mu) if group["nesterov"] else v
        p.add_(g, alpha=-lr)  # p_t = p_{t-1} - lr * d_t


class Adam(Optimizer):
    """Adam: a step of size ``lr`` along the gradient's running mean, divided per
    coordinate by the root of its running mean square, both bias-corrected.

    ``decoupled_wd=False``: weight decay is L2 regularisation added to the gradient, as in
    ``torch.optim.Adam``. ``decoupled_wd=True``: weight decay shrinks the weights directly,
    ``p = p * (1 - lr * wd)``, outside the adaptive step, as in ``torch.optim.AdamW``
    (Loshchilov & Hutter, "Decoupled Weight Decay Regularization").

    Per-parameter state: ``step`` (t, an int), ``exp_avg`` (m) and ``exp_avg_sq`` (v).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_wd: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "decoupled_wd": decoupled_wd,
        }
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_range("lr", group["lr"], 0.0)
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        _check_range("betas[0]", betas[0], 0.0, 1.0)
        _check_range("betas[1]", betas[1], 0.0, 1.0)
        _check_range("eps", group["eps"], 0.0)
        _check_range("weight_decay", group["weight_decay"], 0.0)

    def update(
        self,
        p: torch.Tensor,
        grad: torch.Tensor,
        group: dict[str, Any],
    ) -> None:
        """One Adam step for the parameter ``p``, whose gradient is
        ``grad``."""
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd = group["weight_decay"]
        state = self.state[p]
        if len(state) == 0:  # m_0 = v_0 = 0, the same shape as p
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(
                p,
                memory_format=torch.preserve_format,
            )
            state["exp_avg_sq"] = torch.zeros_like(
                p,
                memory_format=torch.preserve_format,
            )
        m, v = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        t = state["step"]

        g = grad
        if wd != 0 and group["decoupled_wd"]:
            # AdamW: decay the weights themselves, independent of the
            # gradient scale
            p.mul_(1 - lr * wd)  # p = p_{t-1} * (1 - lr * wd)
        elif wd != 0:
            # L2: the decay goes through m and v, so it is rescaled like
            # the gradient
            g = g.add(p, alpha=wd)  # g_t = g_t + wd * p_{t-1}

        # m_t = b1 * m_{t-1} + (1 - b1) * g_t
        m.mul_(beta1).add_(g, alpha=1 - beta1)
        # v_t = b2 * v_{t-1} + (1-b2) g_t^2
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)

        # Bias correction. m and v start at 0, so early on they
        # underestimate E[g] and E[g^2]: m_t = (1 - b1) * sum_i b1^(t-i)
        # g_i has weights summing to 1 - b1^t, not 1. Dividing by that
        # sum gives unbiased averages (at t = 1, m_hat = g_1):
        #   m_hat = m_t / (1 - b1^t),  v_hat = v_t / (1 - b2^t)
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        # p_t = p - lr * m_hat / (sqrt(v_hat) + eps), computed as torch
        # does: the correction of m is folded into the step size, that
        # of v into the denominator
        step_size = lr / bias_correction1  # lr / (1 - b1^t)
        # sqrt(v_hat) + eps
        denom = (v.sqrt() / math.sqrt(bias_correction2)).add_(eps)
        # p_t = p - step_size * m_t / denom
        p.addcdiv_(m, denom, value=-step_size)


class AdamW(Adam):
    """Adam with decoupled weight decay (``decoupled_wd=True``) and ``torch.optim.AdamW``'s
    default ``weight_decay=0.01``."""

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_wd=True)
