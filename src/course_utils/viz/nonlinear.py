"""Non-linearity, for lessons 1 and 2's "why a neural network is more than a linear model".

:func:`activations_figure` draws ReLU, sigmoid and tanh with their derivatives (the
factor by which each passes gradients back); :func:`fit_nonlinear` draws a tiny
network, one input, 16 ReLU units, one output, trained (by :func:`nonlinear_fit`) on a
curve that no straight line can follow (a noisy sine), next to the least-squares line,
with a frame per stage of training. A stack of linear layers is still a line
(``W2 (W1 x + b1) + b2 = W x + b``); the ReLU between them lets the network bend, one
kink per hidden unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from course_utils.viz.style import (
    NEUTRAL,
    PALETTE,
    compact,
    control_label,
    finish_figure,
    frame_slider,
    legend_below,
    play_pause_buttons,
    slider_margin,
    style_figure,
    visibility_buttons,
)

try:
    from course_utils.optim import Adam
except ImportError:  # pragma: no cover - the from-scratch module is part of the package
    from torch.optim import Adam

__all__ = [
    "NonlinearFit",
    "activations",
    "activations_figure",
    "fit_nonlinear",
    "nonlinear_data",
    "nonlinear_fit",
]


def activations(x: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """ReLU, sigmoid and tanh of ``x`` and their derivatives: name -> (f(x), f'(x)).

    relu'(x) = [x > 0] (0 at x = 0, as PyTorch takes it); sigmoid' = s (1 - s);
    tanh' = 1 - tanh^2.
    """
    x = np.asarray(x, dtype=np.float64)
    sigmoid = 1 / (1 + np.exp(-x))
    tanh = np.tanh(x)
    return {
        "ReLU": (np.maximum(x, 0.0), (x > 0).astype(np.float64)),
        "sigmoid": (sigmoid, sigmoid * (1 - sigmoid)),
        "tanh": (tanh, 1 - tanh**2),
    }


def activations_figure(title: str | None = None) -> go.Figure:
    """ReLU, sigmoid and tanh on [-4, 4], and their derivatives; buttons show the
    functions, the derivatives or both."""
    x = np.arange(-80, 81) / 20  # [-4, 4] in steps of 0.05, with 0 exactly on the grid
    fig = go.Figure()
    for n, (name, (value, slope)) in enumerate(activations(x).items()):
        color = PALETTE[n]
        fig.add_trace(
            go.Scatter(
                x=compact(x, 2),
                y=compact(value, 4),
                mode="lines",
                line=dict(color=color, width=3),
                name=name,
                hovertemplate=f"{name}(%{{x:.2f}}) = %{{y:.3f}}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=compact(x, 2),
                y=compact(slope, 4),
                mode="lines",
                line=dict(color=color, width=2, dash="dash"),
                name=f"{name}′ (derivative)",
                hovertemplate=f"{name}′(%{{x:.2f}}) = %{{y:.3f}}<extra></extra>",
            )
        )
    functions = [True, False] * 3
    derivatives = [False, True] * 3
    style_figure(fig, title or "Activation functions and their derivatives", height=450)
    fig.update_xaxes(title_text="input x", range=[-4, 4], zeroline=True)
    fig.update_yaxes(title_text="output", range=[-1.2, 2.2], zeroline=True)
    fig.update_layout(
        updatemenus=[
            visibility_buttons(
                ["both", "functions", "derivatives"],
                [[True] * 6, functions, derivatives],
                x=0.1,
                y=1.02,
            )
        ],
        annotations=[control_label("show:", x=0.095, y=1.02)],
        margin=dict(t=110),
    )
    return finish_figure(fig)


def nonlinear_data(n: int = 80, noise: float = 0.1, seed: int = 0):
    """``n`` points on [-3, 3] (evenly spaced) with ``y = sin(x) + N(0, noise^2)``, the
    noise from ``np.random.default_rng(seed)``."""
    x = np.linspace(-3.0, 3.0, n)
    y = np.sin(x) + np.random.default_rng(seed).normal(0.0, noise, n)
    return x, y


@dataclass(frozen=True)
class NonlinearFit:
    """The numbers of :func:`fit_nonlinear`: a 1 -> ``hidden`` -> 1 ReLU network trained for
    T steps on n points, shown at F steps, and the least-squares line."""

    hidden: int
    x: np.ndarray  # (n,): the data, a noisy sine
    y: np.ndarray  # (n,)
    slope: float  # the least-squares line, y = slope x + intercept
    intercept: float
    line_mse: float  # the line's MSE: the best any straight line does
    losses: np.ndarray  # (T + 1,): the network's MSE after t updates, t = 0..T
    steps: np.ndarray  # (F,): the steps shown, spaced geometrically from 0 to T
    curves: np.ndarray  # (F, n): the network's output at x, after steps[f] updates


def nonlinear_fit(
    *,
    hidden: int = 16,
    steps: int = 1500,
    lr: float = 0.02,
    seed: int = 0,
    n_frames: int = 30,
) -> NonlinearFit:
    """Train :func:`fit_nonlinear`'s network (same arguments): full-batch Adam on the MSE,
    from ``torch.manual_seed(seed)``; record the loss at every step and the fitted curve
    at the ``n_frames`` steps shown."""
    if hidden < 1 or steps < 1:
        raise ValueError(f"need hidden >= 1 and steps >= 1, got {hidden} and {steps}")
    x, y = nonlinear_data(seed=seed)
    slope, intercept = np.polyfit(x, y, 1)
    line_mse = float(np.mean((slope * x + intercept - y) ** 2))

    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(1, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
    ).double()
    opt = Adam(model.parameters(), lr=lr)
    xt = torch.from_numpy(x)[:, None]  # (n, 1): a batch of n one-number inputs
    yt = torch.from_numpy(y)[:, None]
    # frames at steps spaced geometrically: the fit changes fastest early on
    shown = np.unique(np.round(np.geomspace(1, steps + 1, n_frames) - 1).astype(int))
    curves, losses = [], []
    for step in range(steps + 1):
        pred = model(xt)  # (n, 1)
        loss = torch.mean((pred - yt) ** 2)
        losses.append(loss.item())
        if step in shown:
            curves.append(pred.detach().numpy()[:, 0])  # the fit after `step` updates
        if step == steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return NonlinearFit(
        hidden=hidden,
        x=x,
        y=y,
        slope=slope,
        intercept=intercept,
        line_mse=line_mse,
        losses=np.array(losses),
        steps=shown,
        curves=np.stack(curves),
    )


def fit_nonlinear(
    *,
    hidden: int = 16,
    steps: int = 1500,
    lr: float = 0.02,
    seed: int = 0,
    n_frames: int = 30,
    title: str | None = None,
) -> go.Figure:
    """A 1 -> ``hidden`` -> 1 ReLU network fitting a noisy sine (full-batch Adam, MSE,
    ``steps`` steps, seeded), against the least-squares straight line; frames show the
    network's curve during training, and the right panel its loss against the line's.
    The numbers are those of :func:`nonlinear_fit`."""
    data = nonlinear_fit(hidden=hidden, steps=steps, lr=lr, seed=seed, n_frames=n_frames)
    return _draw_fit_nonlinear(data, title)


def _draw_fit_nonlinear(data: NonlinearFit, title: str | None) -> go.Figure:
    """The figure: the data, the line and the network's curve (left); the network's loss
    at every step against the line's, and the current step (right)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.6, 0.4],
        horizontal_spacing=0.12,
        subplot_titles=("the data, a straight line and the network", "mean squared error"),
    )
    _add_fit_background(fig, data)
    curve, point = _fit_frame_traces(data, 0)
    fig.add_trace(
        go.Scatter(
            **curve,
            mode="lines",
            line=dict(color=PALETTE[0], width=3),
            name=f"network 1 → {data.hidden} ReLU → 1",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            **point,
            mode="markers",
            marker=dict(color=PALETTE[0], size=11),
            showlegend=False,
            hovertemplate="step %{x}: MSE %{y:.4f}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    names = [f"step {s}" for s in data.steps]
    fig.frames = [
        dict(name=name, data=_fit_frame_traces(data, f), traces=[4, 5])
        for f, name in enumerate(names)
    ]
    # Pixels: below the plots, the x axes' titles, the legend in a row (clear of the
    # data), then the slider with the play/pause buttons.
    height, top, legend_px = 580, 80, 30
    slider_top = 50 + legend_px
    bottom = slider_margin(slider_top)
    style_figure(
        fig,
        title or "A straight line cannot bend; a small ReLU network can",
        height=height,
        margin=dict(l=60, r=20, t=top, b=bottom),
    )
    fig.update_xaxes(title_text="x", row=1, col=1)
    fig.update_yaxes(title_text="y", range=[-1.6, 1.6], row=1, col=1)
    fig.update_xaxes(title_text="training step", row=1, col=2)
    # labels at 1, 2 and 5 times the powers of ten only
    fig.update_yaxes(title_text="MSE (log scale)", type="log", dtick=1, row=1, col=2)  # decades
    fig.update_layout(
        updatemenus=[play_pause_buttons(frame_ms=200, top=slider_top)],
        sliders=[
            frame_slider(names, [str(s) for s in data.steps], "training step: ", top=slider_top)
        ],
        legend=legend_below(height - top - bottom),
    )
    return finish_figure(fig)


def _add_fit_background(fig: go.Figure, data: NonlinearFit) -> None:
    """The traces every frame keeps: the data and the least-squares line (left); the
    network's loss at every step, and the line's (right)."""
    slope, intercept, line_mse = data.slope, data.intercept, data.line_mse
    steps = len(data.losses) - 1
    fig.add_trace(
        go.Scatter(
            x=compact(data.x, 3),
            y=compact(data.y, 3),
            mode="markers",
            marker=dict(color=NEUTRAL, size=6),
            name="data: sin(x) + noise",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=[-3, 3],  # the line across the data's x range, [-3, 3]
            y=compact([intercept - 3 * slope, intercept + 3 * slope], 4),
            mode="lines",
            line=dict(color=PALETTE[1], width=3, dash="dash"),
            name=f"least-squares line (MSE {line_mse:.3f})",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=list(range(steps + 1)),
            y=compact(data.losses, 4),
            mode="lines",
            line=dict(color=PALETTE[0], width=2),
            name="network's MSE",
            showlegend=False,  # the colours of the left panel's legend
            hovertemplate="step %{x}: MSE %{y:.4f}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Scatter(
            x=[0, steps],
            y=[round(line_mse, 4)] * 2,
            mode="lines",
            line=dict(color=PALETTE[1], width=2, dash="dash"),
            name="the line's MSE",
            showlegend=False,
        ),
        row=1,
        col=2,
    )


def _fit_frame_traces(data: NonlinearFit, f: int) -> list[dict]:
    """Frame ``f``'s data: the network's curve, and its loss at that step (plain dicts:
    plotly validates them once, when the frames are set)."""
    step = int(data.steps[f])
    return [
        dict(type="scatter", x=compact(data.x, 3), y=compact(data.curves[f], 4)),
        # a Python float: its round() is exact in decimal, unlike NumPy's
        dict(type="scatter", x=[step], y=[round(float(data.losses[step]), 4)]),
    ]
