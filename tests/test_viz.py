"""course_utils.viz: every figure's numbers against a reference computation (PyTorch,
NumPy, scikit-learn, the schedule functions), and the structure plotly.js needs (frames
named by the slider steps, buttons that restyle every trace, cartesian trace types only,
a title and axis titles, JSON within the page budget)."""

from __future__ import annotations

import base64
import io
import json
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from course_book.plotly_figures import COURSE_BUNDLE_JS, VENDOR_DIR, registered_trace_types
from course_utils import schedules
from course_utils.lr_finder import LRFinderResult
from course_utils.viz import (
    FigureTooLargeError,
    activations_figure,
    check_figure_size,
    conv_explorer,
    conv_stages,
    example_titles,
    first_layer_kernels,
    fit_nonlinear,
    optimizer_paths,
    optimizer_race,
    plot_confusion_matrix,
    plot_embeddings_pca,
    plot_image_grid,
    plot_lm_batches,
    plot_losses,
    plot_lr_find,
    plot_one_cycle,
    plot_rating_block,
    plot_runs,
    plot_schedule,
    plot_sgdr,
    plot_vocab_sizes,
    prepare_image,
    sgd_explorer,
    sgd_path,
)

# The reference for "cartesian": the trace modules the vendored bundle registers, not the
# library's list of them.
CARTESIAN = set(registered_trace_types((VENDOR_DIR / COURSE_BUNDLE_JS).read_text(encoding="utf-8")))

# The preset kernels, written out here as the course's spreadsheet has them.
KERNELS = {
    "horizontal edges": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "vertical edges": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "blur": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}
DISPLAY_ROUNDING = 0.005 + 1e-9  # the maps are shown with 2 decimals


def array(values) -> np.ndarray:
    """A figure's (nested) list or array, None as NaN."""
    if isinstance(values, np.ndarray):
        return values.astype(np.float64)
    return np.array(
        [[np.nan if v is None else v for v in row] for row in values]
        if values and isinstance(values[0], (list, tuple))
        else [np.nan if v is None else v for v in values],
        dtype=np.float64,
    )


def lr_finder_result(diverged: bool = True) -> LRFinderResult:
    rng = np.random.default_rng(1)
    lrs = np.geomspace(1e-6, 10, 80)
    losses = 2.3 - 1.6 / (1 + np.exp(-2 * (np.log10(lrs) + 3))) + 0.05 * rng.normal(size=80)
    losses += np.where(lrs > 0.1, np.exp(3 * (np.log10(lrs) + 1)) - 1, 0)  # blows up at the end
    smoothed, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = 0.98 * avg + 0.02 * loss
        smoothed.append(avg / (1 - 0.98 ** (i + 1)))
    return LRFinderResult(list(lrs), list(losses), smoothed, diverged)


def recorder() -> SimpleNamespace:
    rng = np.random.default_rng(2)
    return SimpleNamespace(
        losses=list(1 / np.sqrt(np.arange(1, 121)) + 0.05 * rng.random(120)),
        valid_losses=[0.6, 0.4, 0.35, 0.33],
        train_losses=[0.7, 0.45, 0.38, 0.34],
        metrics={"accuracy": [0.7, 0.8, 0.85, 0.86], "error_rate": [0.3, 0.2, 0.15, 0.14]},
    )


def photos() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [
        rng.integers(0, 256, (128, 96, 3), dtype=np.uint8),
        rng.integers(0, 256, (40, 40), dtype=np.uint8),
        rng.random((70, 70, 3)),
        rng.integers(0, 256, (64, 200, 3), dtype=np.uint8),
    ]


BUILDERS = {
    "conv": lambda: conv_explorer(),
    "sgd": lambda: sgd_explorer(),
    "race ill-conditioned": lambda: optimizer_race("ill-conditioned"),
    "race rosenbrock": lambda: optimizer_race("rosenbrock"),
    "activations": activations_figure,
    "fit_nonlinear": lambda: fit_nonlinear(),
    "lr_find": lambda: plot_lr_find(lr_finder_result()),
    "one-cycle": lambda: plot_one_cycle(n_iter=120, max_lr=0.01),
    "sgdr": lambda: plot_sgdr(0.05, 3, 1, 2, iters_per_epoch=20),
    "losses": lambda: plot_losses(recorder()),
    "confusion": lambda: plot_confusion_matrix(np.array([[5, 1], [2, 7]]), ["cat", "dog"]),
    "images": lambda: plot_image_grid(photos(), ["a", "b", "c", "d"]),
    "pca": lambda: plot_embeddings_pca(np.random.default_rng(4).normal(size=(50, 6)), ["x"] * 50),
    "vocab sizes": lambda: plot_vocab_sizes([1, 3, 10], [900, 400, 100], [0.01, 0.05, 0.2]),
    "lm batches": lambda: plot_lm_batches([list("abcdefgh"), list("ijklmnop")], [(0, 3), (3, 4)]),
    "rating block": lambda: plot_rating_block(
        [[5.0, np.nan], [1.0, 3.0]], [[4.6, 2.2], [1.4, 3.1]], [7, 9], ["Alien", "Emma"]
    ),
    "runs": lambda: plot_runs({"a": recorder(), "b": recorder()}, sqrt=True),
}
_built: dict[str, go.Figure] = {}
# Axes left untitled on purpose: the conv explorer's 3x3 table (its cells say what they
# hold), and its ReLU and max-pool panels, beside the convolution panel whose "row" and
# "column" serve all three.
UNTITLED = {"conv": {"xaxis2", "yaxis2", "xaxis4", "yaxis4", "xaxis5", "yaxis5"}}


def figure(name: str) -> go.Figure:
    """Each figure is built once per test session."""
    if name not in _built:
        _built[name] = BUILDERS[name]()
    return _built[name]


# --------------------------------------------------------------------------- every figure
@pytest.mark.parametrize("name", list(BUILDERS))
def test_figure_structure(name):
    fig = figure(name)
    types = {t.type for t in fig.data} | {t.type for f in fig.frames for t in f.data}
    assert types <= CARTESIAN, f"{name}: {types - CARTESIAN} would load the full plotly.js"
    assert fig.layout.title.text, f"{name} has no title"
    # colours of the background and the text are the template's (dark mode swaps them)
    assert fig.layout.paper_bgcolor is None and fig.layout.plot_bgcolor is None
    assert fig.layout.font.color is None
    text = fig.to_json()
    assert len(text) < 1_000_000
    json.dumps(json.loads(text), allow_nan=False)  # strict JSON, as the book embeds it
    if name != "images":  # an image grid's axes have nothing to name
        used = {(t.xaxis or "x", t.yaxis or "y") for t in fig.data}
        for xaxis, yaxis in used:
            for axis in ("xaxis" + xaxis[1:], "yaxis" + yaxis[1:]):
                if axis in UNTITLED.get(name, ()):
                    continue
                # a shared axis (one panel above another) is titled once, under the bottom one
                shared = fig.layout[axis].matches
                titled = fig.layout[axis[:5] + shared[1:]] if shared else fig.layout[axis]
                assert titled.title.text, f"{name}: {axis} has no title"


@pytest.mark.parametrize("name", [n for n in BUILDERS if n not in ("activations",)])
def test_animation_and_controls(name):
    fig = figure(name)
    names = [f.name for f in fig.frames]
    assert len(set(names)) == len(names)
    for frame in fig.frames:  # frames update existing traces of the same type
        assert len(frame.traces) == len(frame.data)
        for index, trace in zip(frame.traces, frame.data, strict=True):
            assert 0 <= index < len(fig.data)
            assert fig.data[index].type == trace.type
    for slider in fig.layout.sliders:
        assert len(slider.steps) == len(fig.frames) > 1
        assert slider.currentvalue.prefix.endswith(": ")
        for step in slider.steps:
            assert step.method == "animate" and step.args[0][0] in names
    for menu in fig.layout.updatemenus:
        for button in menu.buttons:
            if button.method == "restyle":
                assert len(button.args[0]["visible"]) == len(fig.data)


@pytest.mark.parametrize("name", ["conv", "sgd", "race ill-conditioned", "fit_nonlinear"])
def test_play_pause_beside_the_slider(name):
    """The play/pause pair sits at the slider's left end, level with its rail; the rail and
    the current value ("step: 3") start right of the pair (about 150 px wide)."""
    fig = figure(name)
    slider = fig.layout.sliders[0]
    (play,) = [m for m in fig.layout.updatemenus if all(b.method == "animate" for b in m.buttons)]
    assert (play.direction, play.xanchor, play.yanchor) == ("left", "left", "top")
    assert (slider.xanchor, slider.yanchor) == ("left", "top")
    assert slider.currentvalue.xanchor == "left"
    assert play.x == slider.x and play.y == slider.y == 0
    assert slider.pad.l >= 150 and play.pad.t > slider.pad.t
    assert fig.layout.margin.b >= slider.pad.t + 80  # room for the rail and its labels


def test_check_figure_size_names_the_figure():
    fig = go.Figure(go.Scatter(y=list(range(50_000))), layout=dict(title="Too many points"))
    with pytest.raises(FigureTooLargeError, match=r"'Too many points' is [\d,]+ bytes"):
        check_figure_size(fig, limit=100_000)
    assert check_figure_size(fig) == len(fig.to_json())


# --------------------------------------------------------------------------- convolution
def torch_stages(image: np.ndarray, kernel) -> dict[str, np.ndarray]:
    x = torch.tensor(image, dtype=torch.float64)[None, None]  # (1, 1, H, W)
    w = torch.tensor(kernel, dtype=torch.float64)[None, None]  # (1, 1, 3, 3)
    conv = F.conv2d(x, w)
    relu = F.relu(conv)
    pool = F.max_pool2d(relu, 2)
    return {k: v[0, 0].numpy() for k, v in (("conv", conv), ("relu", relu), ("pool", pool))}


@pytest.mark.parametrize("kernel", [*KERNELS, "random"])
def test_conv_stages_match_torch(kernel):
    rng = np.random.default_rng(5)
    image = rng.random((9, 12))  # odd conv height (7): max-pool drops the last row
    weights = rng.normal(size=(3, 3)) if kernel == "random" else KERNELS[kernel]
    ours = conv_stages(image, weights if kernel == "random" else kernel)
    reference = torch_stages(image, weights)
    for stage in ("conv", "relu", "pool"):
        assert ours[stage].shape == reference[stage].shape
        np.testing.assert_allclose(ours[stage], reference[stage], atol=1e-12)


def test_conv_explorer_numbers_match_torch():
    fig = figure("conv")
    image = array(fig.data[0].z)  # the input as the figure shows it
    assert image.shape == (24, 24) and image.min() >= 0 and image.max() <= 1
    buttons = fig.layout.updatemenus[1].buttons
    assert [b.label for b in buttons] == list(KERNELS)
    last = fig.frames[-1]
    by_index = dict(zip(last.traces, last.data, strict=True))
    first_conv = torch_stages(image, KERNELS[buttons[0].label])["conv"]
    r, c = np.unravel_index(np.argmax(np.abs(first_conv)), first_conv.shape)
    assert abs(first_conv[r, c]) > 1  # the window sits on a stroke's edge, not on zeros
    assert fig.layout.sliders[0].active == len(fig.frames) - 1
    assert fig.layout.sliders[0].steps[-1].label == f"row {r}, column {c} (all done)"
    for n, name in enumerate(KERNELS):
        reference = torch_stages(image, KERNELS[name])
        table, sums, conv, relu, pool = (by_index[3 + 5 * n + k] for k in range(5))
        for trace, stage in ((conv, "conv"), (relu, "relu"), (pool, "pool")):
            np.testing.assert_allclose(array(trace.z), reference[stage], atol=DISPLAY_ROUNDING)
        # the last window (the figure opens on it) is where the first kernel's response is
        # strongest: its products and their sum
        patch = image[r : r + 3, c : c + 3]
        np.testing.assert_allclose(array(table.z), patch * np.array(KERNELS[name]), atol=1e-4)
        assert sums.text[0] == f"sum = {reference['conv'][r, c]:.2f}"
        # button n shows the input, the two outlines and kernel n's five traces
        visible = buttons[n].args[0]["visible"]
        assert visible == [True] * 3 + [m == n for m in range(4) for _ in range(5)]


def test_conv_explorer_feature_map_grows():
    fig = figure("conv")
    image = array(fig.data[0].z)
    positions = [int(f.name.split()[-1]) for f in fig.frames]  # row-major window index
    sliding = positions[:-1]  # the last frame is the finished result (see the test above)
    assert sliding == sorted(sliding) and sliding[0] == 0 and sliding[-1] == 22 * 22 - 1
    assert 20 <= len(fig.frames) <= 40
    reference = torch_stages(image, KERNELS["horizontal edges"])["conv"]
    for frame in fig.frames[: -1 : len(fig.frames) // 5]:
        p = int(frame.name.split()[-1])
        r, c = divmod(p, 22)
        data = dict(zip(frame.traces, frame.data, strict=True))
        conv = array(data[5].z)  # kernel 0's convolution: computed pixels up to the window
        assert np.isfinite(conv).sum() == p + 1
        np.testing.assert_allclose(conv[r, c], reference[r, c], atol=DISPLAY_ROUNDING)
        # the window outline surrounds pixels r..r+2, c..c+2
        window = data[1]
        assert (min(window.x), max(window.x), min(window.y), max(window.y)) == (
            c - 0.5,
            c + 2.5,
            r - 0.5,
            r + 2.5,
        )


def test_conv_explorer_custom_kernel_and_bad_input():
    learned = np.array([[0.1, -0.2, 0.05], [0.3, 0.0, -0.1], [0.0, 0.2, -0.3]])
    image = np.random.default_rng(6).random((10, 10))
    fig = conv_explorer(image, learned, others=(), n_frames=12)
    assert not fig.layout.updatemenus[1:]  # one kernel: no kernel buttons
    shown = array(fig.data[0].z)
    np.testing.assert_allclose(shown, image, atol=0.005 + 1e-12)
    by_index = dict(zip(fig.frames[-1].traces, fig.frames[-1].data, strict=True))
    np.testing.assert_allclose(
        array(by_index[5].z), torch_stages(shown, learned)["conv"], atol=DISPLAY_ROUNDING
    )
    with pytest.raises(ValueError, match="3x3"):
        conv_stages(image, np.ones((2, 2)))
    with pytest.raises(ValueError, match="3x3"):
        conv_explorer(image, np.ones((5, 5)))
    with pytest.raises(ValueError, match="2-D"):
        conv_stages(np.ones((8, 8, 3)), "blur")
    with pytest.raises(ValueError, match="2-D"):
        prepare_image(np.ones(30))
    with pytest.raises(ValueError, match="unknown kernel"):
        conv_stages(image, "emboss")
    with pytest.raises(ValueError, match="channel"):
        prepare_image(np.ones((8, 8, 3)), channel="purple")


def test_prepare_image_colour_and_downsampling():
    rgb = np.zeros((40, 80, 3), dtype=np.uint8)
    rgb[..., 1] = 255  # pure green
    grey = prepare_image(rgb, size=20)
    assert grey.shape == (10, 20)  # longer side 20, aspect ratio kept
    np.testing.assert_allclose(grey, 0.72, atol=0.005)  # BT.709: 0.7152 of the luminance
    np.testing.assert_allclose(prepare_image(rgb, size=20, channel="red"), 0.0)


def test_first_layer_kernels():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 7), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 3))
    kernels = first_layer_kernels(model)
    expected = model[0].weight.detach().double()[:, :, 2:5, 2:5].sum(dim=1).numpy()
    assert kernels.shape == (4, 3, 3)
    np.testing.assert_allclose(kernels, expected, atol=1e-12)
    # summing the channels is exact for a grey image fed as three identical channels
    conv3 = torch.nn.Conv2d(3, 2, 3, bias=False).double()
    grey = np.random.default_rng(7).random((8, 8))
    rgb = torch.tensor(grey)[None, None].repeat(1, 3, 1, 1)
    out = conv3(rgb)[0].detach().numpy()
    for k, kernel in enumerate(first_layer_kernels(conv3)):
        np.testing.assert_allclose(conv_stages(grey, kernel)["conv"], out[k], atol=1e-12)
    with pytest.raises(ValueError, match="no nn.Conv2d"):
        first_layer_kernels(torch.nn.Linear(3, 3))
    with pytest.raises(ValueError, match="1x1"):
        first_layer_kernels(torch.nn.Conv2d(3, 3, 1))


# --------------------------------------------------------------------------- SGD
def reference_sgd(lr, steps, batch_size, seed, n=100, noise=0.5):
    """The documented data and batches, and the updates by torch's autograd."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    y = 3 * x + 2 + rng.normal(0.0, noise, n)
    batches = np.random.default_rng(seed + 1)
    xt, yt = torch.tensor(x), torch.tensor(y)
    a = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    path = [(a.item(), b.item())]
    for _ in range(steps):
        idx = torch.from_numpy(batches.choice(n, batch_size, replace=False))
        loss = ((a * xt[idx] + b - yt[idx]) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            a -= lr * a.grad
            b -= lr * b.grad
        a.grad = b.grad = None
        path.append((a.item(), b.item()))
    return np.array(path), x, y


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.5])
def test_sgd_path_matches_autograd(lr):
    ours = sgd_path(lr, steps=40, batch_size=8, seed=3)
    reference, _, _ = reference_sgd(lr, 40, 8, 3)
    np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-12)


def test_sgd_explorer_runs():
    fig = figure("sgd")
    reference = {lr: reference_sgd(lr, 60, 10, 0) for lr in (0.01, 0.1, 0.5, 1.02)}
    _, x, y = reference[0.1]
    np.testing.assert_allclose(array(fig.data[0].x), x, atol=5e-4)
    buttons = fig.layout.updatemenus[1].buttons
    assert [b.label for b in buttons] == ["0.01", "0.1", "0.5", "1.02"]
    assert fig.layout.updatemenus[1].active == 1 and fig.data[6].visible  # lr 0.1 first
    assert len(fig.frames) == 31 and fig.frames[-1].name == "step 60"

    def mse(a, b):
        return float(np.mean((a * x + b - y) ** 2))

    last = dict(zip(fig.frames[-1].traces, fig.frames[-1].data, strict=True))
    for n, (path, _, _) in enumerate(reference.values()):
        shown = np.stack([array(last[4 + 3 * n].x), array(last[4 + 3 * n].y)], axis=1)
        finite = np.isfinite(path).all(axis=1)
        np.testing.assert_allclose(shown[finite], path[finite], rtol=1e-3, atol=1e-3)
        assert buttons[n].args[0]["visible"] == [True] * 3 + [
            m == n for m in range(4) for _ in range(3)
        ]
    start = mse(-1, 1)
    slow, good, diverged = (mse(*reference[lr][0][-1]) for lr in (0.01, 0.1, 1.02))
    assert good < 0.3 < slow < start < diverged  # noise variance 0.25 is the floor


def test_sgd_bad_input():
    with pytest.raises(ValueError, match="positive"):
        sgd_path(0.0)
    with pytest.raises(ValueError, match="batch_size"):
        sgd_path(0.1, batch_size=500)
    with pytest.raises(ValueError, match="different"):
        sgd_explorer(lrs=(0.1, 0.1))


# --------------------------------------------------------------------------- optimisers
def ill_conditioned(x, y):
    return 0.5 * (x**2 + 25 * y**2)


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def torch_optim_path(f, make, start, steps):
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make([p])
    path = [p.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        f(p[0], p[1]).backward()
        opt.step()
        path.append(p.detach().clone())
    return torch.stack(path).numpy()


@pytest.mark.parametrize(
    "surface, f, start, lr, adam_lr, momentum, steps",
    [
        ("ill-conditioned", ill_conditioned, (-7.0, 1.5), 0.05, 0.3, 0.9, 60),
        ("ill-conditioned", ill_conditioned, (-7.0, 1.5), 0.085, 1.0, 0.5, 40),
        ("rosenbrock", rosenbrock, (-1.5, 2.0), 1e-3, 0.1, 0.9, 150),
    ],
)
def test_optimizer_paths_match_torch_optim(surface, f, start, lr, adam_lr, momentum, steps):
    paths = optimizer_paths(surface, lr=lr, adam_lr=adam_lr, momentum=momentum, steps=steps)
    reference = {
        "SGD": torch_optim_path(f, lambda ps: torch.optim.SGD(ps, lr=lr), start, steps),
        "SGD + momentum": torch_optim_path(
            f, lambda ps: torch.optim.SGD(ps, lr=lr, momentum=momentum), start, steps
        ),
        "Adam": torch_optim_path(
            f, lambda ps: torch.optim.Adam(ps, lr=adam_lr, betas=(momentum, 0.999)), start, steps
        ),
    }
    assert list(paths) == list(reference)
    for name, path in paths.items():
        assert path.shape == (steps + 1, 2)
        np.testing.assert_allclose(path, reference[name], rtol=1e-6, atol=1e-8)


def test_optimizer_race_figure():
    from course_utils.viz import OPTIMIZERS_FROM

    assert OPTIMIZERS_FROM == "course_utils.optim"
    fig = figure("race ill-conditioned")
    menu = fig.layout.updatemenus[1]
    assert len(menu.buttons) == 6 and menu.active == 3  # lr 0.05 / 0.3 with momentum 0.9
    assert "0.05" in menu.buttons[3].label and "0.9" in menu.buttons[3].label
    assert len(fig.frames) == 31
    last = dict(zip(fig.frames[-1].traces, fig.frames[-1].data, strict=True))
    reference = {
        "SGD": torch_optim_path(
            ill_conditioned, lambda ps: torch.optim.SGD(ps, lr=0.05), (-7.0, 1.5), 60
        ),
        "Adam": torch_optim_path(
            ill_conditioned,
            lambda ps: torch.optim.Adam(ps, lr=0.3, betas=(0.9, 0.999)),
            (-7.0, 1.5),
            60,
        ),
    }
    combo = 3
    for o, name in ((0, "SGD"), (2, "Adam")):
        point = last[2 + 6 * combo + 2 * o + 1]
        np.testing.assert_allclose([point.x[0], point.y[0]], reference[name][-1], atol=1e-4)
    rosen = figure("race rosenbrock")
    assert rosen.data[0].contours.start < 0  # log10 levels
    # the (lr, momentum) buttons in one row above the plot, the legend in a row below it
    assert (menu.direction, menu.yanchor) == ("right", "bottom") and menu.y >= 1
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0


def test_optimizer_bad_input():
    with pytest.raises(ValueError, match="unknown surface"):
        optimizer_paths("himmelblau")
    with pytest.raises(ValueError, match="one Adam learning rate"):
        optimizer_race(lrs=(0.01, 0.02), adam_lrs=(0.1,))
    with pytest.raises(ValueError, match="momentum"):
        optimizer_paths(momentum=1.0)


# --------------------------------------------------------------------------- non-linearity
def test_activations_match_torch():
    fig = figure("activations")
    functions = {"ReLU": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}
    by_name = {t.name: t for t in fig.data}
    for name, function in functions.items():
        x = torch.tensor(array(by_name[name].x), requires_grad=True)
        y = function(x)
        (slope,) = torch.autograd.grad(y.sum(), x)
        np.testing.assert_allclose(array(by_name[name].y), y.detach().numpy(), atol=1e-4)
        derivative = by_name[f"{name}′ (derivative)"]
        np.testing.assert_allclose(array(derivative.y), slope.numpy(), atol=1e-4)
    labels = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert labels == ["both", "functions", "derivatives"]
    assert fig.layout.updatemenus[0].buttons[2].args[0]["visible"] == [False, True] * 3


def test_network_beats_the_line():
    fig = figure("fit_nonlinear")
    x, y = array(fig.data[0].x), array(fig.data[0].y)
    assert np.abs(y - np.sin(x)).max() < 0.4  # the data are a noisy sine
    line_mse = np.mean((np.polyval(np.polyfit(x, y, 1), x) - y) ** 2)
    curve = array(fig.frames[-1].data[0].y)  # the network's final fit, at the data's x
    first = array(fig.frames[0].data[0].y)
    net_mse, start_mse = np.mean((curve - y) ** 2), np.mean((first - y) ** 2)
    assert net_mse < 0.2 * line_mse < start_mse
    assert fig.frames[-1].data[1].y[0] == pytest.approx(net_mse, abs=2e-4)  # the loss panel


# --------------------------------------------------------------------------- training plots
def test_lr_find_plot():
    result = lr_finder_result()
    fig = figure("lr_find")
    i = int(np.argmin(result.smoothed_losses))
    suggestion = result.lrs[i] / 10
    line = next(t for t in fig.data if t.name.startswith("suggestion"))
    assert list(line.x) == [pytest.approx(suggestion)] * 2
    assert f"{suggestion:.1e}" in line.text[1]
    marker = next(t for t in fig.data if t.name.startswith("minimum"))
    assert marker.x[0] == pytest.approx(result.lrs[i])
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.xaxis.title.text == "learning rate (log scale)"
    smoothed = next(t for t in fig.data if t.name == "smoothed loss")
    np.testing.assert_allclose(array(smoothed.y), result.smoothed_losses, atol=1e-4)
    with pytest.raises(ValueError, match="lr_find"):
        plot_lr_find(LRFinderResult())


def test_schedule_plots_follow_the_schedule_functions():
    fig = figure("one-cycle")
    lr = schedules.one_cycle_lr(0.01)
    mom = schedules.one_cycle_mom()
    positions = [i / 120 for i in range(120)]
    # 6 significant digits are shown
    np.testing.assert_allclose(array(fig.data[0].y), [lr(p) for p in positions], rtol=1e-5)
    np.testing.assert_allclose(array(fig.data[1].y), [mom(p) for p in positions], atol=1e-5)

    fig = figure("sgdr")
    total = (1 + 2 + 4) * 20
    sgdr = schedules.sgdr_lr(0.05, 3, 1, 2)
    y = array(fig.data[0].y)
    assert len(y) == total
    np.testing.assert_allclose(y, [sgdr(i / total) for i in range(total)], rtol=1e-5, atol=1e-12)
    assert y[20] == pytest.approx(0.05) and y[60] == pytest.approx(0.05)  # the restarts
    assert sorted({s.x0 for s in fig.layout.shapes}) == [20, 60]
    # SGDR's momentum is constant: a note, not a flat panel
    assert len(fig.data) == 1 and "constant at 0.9" in fig.layout.annotations[0].text
    one_cycle = figure("one-cycle")
    assert one_cycle.layout.xaxis.matches == "x2"  # one x axis, titled under the bottom panel
    assert plot_schedule("sgdr", iters_per_epoch=5).layout.title.text.startswith("SGDR")
    with pytest.raises(ValueError, match="unknown schedule"):
        plot_schedule("triangular")


def test_losses_plot():
    rec = recorder()
    fig = figure("losses")
    by_name = {t.name: t for t in fig.data}
    beta = 1 - 1 / (0.1 * len(rec.losses))  # the default: a window of a tenth of the run
    smoothed, avg = [], 0.0
    for i, loss in enumerate(rec.losses):
        avg = beta * avg + (1 - beta) * loss
        smoothed.append(avg / (1 - beta ** (i + 1)))
    np.testing.assert_allclose(array(by_name["training loss (smoothed)"].y), smoothed, atol=1e-4)
    valid = by_name["validation loss (each epoch)"]
    assert list(valid.x) == [29, 59, 89, 119] and list(valid.y) == rec.valid_losses
    assert list(by_name["accuracy"].y) == rec.metrics["accuracy"]
    assert by_name["accuracy"].xaxis == "x2"  # the metrics' own panel
    with pytest.raises(ValueError, match="no losses"):
        plot_losses(SimpleNamespace(losses=[], valid_losses=[], metrics={}))
    with pytest.raises(ValueError, match="accuracy"):
        plot_losses(SimpleNamespace(losses=[1.0], valid_losses=[1.0], metrics={"accuracy": []}))


def test_confusion_matrix_plot():
    cm = torch.tensor([[50, 3, 0], [4, 40, 6], [1, 7, 45]])
    fig = plot_confusion_matrix(cm, ["3", "5", "8"])
    heatmap = fig.data[0]
    assert [[int(t) for t in row] for row in heatmap.text] == cm.tolist()
    assert heatmap.hovertext[1][2] == "actual 5, predicted 8: 6"
    assert heatmap.colorscale[0][1] == go.Heatmap(colorscale="Viridis").colorscale[0][1]
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.xaxis.type == "category"  # "3", "5", "8" stay names
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("predicted", "actual")
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.ones((2, 3)))
    with pytest.raises(ValueError, match="class names"):
        plot_confusion_matrix(np.ones((2, 2)), ["a", "b", "c"])
    with pytest.raises(ValueError, match="counts"):
        plot_confusion_matrix(np.array([[1, -1], [0, 2]]))


def decode(source: str) -> np.ndarray:
    assert source.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))))


def test_image_grid():
    images = photos()
    fig = figure("images")
    assert [t.type for t in fig.data] == ["image"] * 4
    assert [a.text for a in fig.layout.annotations] == ["a", "b", "c", "d"]
    first = decode(fig.data[0].source)
    assert first.shape == (64, 48, 3)  # 128x96 halved: at most 64 px
    block_means = images[0].reshape(64, 2, 48, 2, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(first, block_means, atol=1.0)
    np.testing.assert_array_equal(decode(fig.data[1].source), images[1])  # small: kept
    assert decode(fig.data[2].source).max() > 200  # floats in [0, 1] scaled to 0..255
    assert max(decode(fig.data[3].source).shape[:2]) == 64
    with pytest.raises(ValueError, match="titles"):
        plot_image_grid(images, ["only one"])
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        plot_image_grid([np.zeros((2, 8, 8, 3), dtype=np.uint8)])


def test_image_grid_titles_fit():
    """Two-line titles at a readable size: 8 images whose titles are too wide for 8 columns
    of a 700 px column go in 2 rows of 4."""
    examples = SimpleNamespace(
        actual=np.arange(8), predicted=(np.arange(8) + 3) % 10, probs=np.linspace(0.5, 0.99, 8)
    )
    titles = example_titles(examples, [str(i) for i in range(10)])
    fig = plot_image_grid([np.zeros((28, 28), dtype=np.uint8)] * 8, titles, cols=8)
    assert [a.text for a in fig.layout.annotations] == titles
    assert all(a.font.size >= 11 for a in fig.layout.annotations)
    columns = {round(a.x, 3) for a in fig.layout.annotations}
    rows = {round(a.y, 3) for a in fig.layout.annotations}
    assert (len(columns), len(rows)) == (4, 2)
    assert fig.layout.title.text == "Examples"
    # short titles fit: as many columns as asked
    short = plot_image_grid([np.zeros((8, 8), dtype=np.uint8)] * 6, list("abcdef"), cols=6)
    assert len({round(a.x, 3) for a in short.layout.annotations}) == 6


def test_example_titles():
    examples = SimpleNamespace(
        actual=np.array([0, 1]), predicted=np.array([1, 0]), probs=np.array([0.97, 0.8])
    )
    assert example_titles(examples, ["cat", "dog"]) == [
        "actual cat<br>predicted dog (0.97)",
        "actual dog<br>predicted cat (0.80)",
    ]


def test_embeddings_pca_matches_sklearn():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(8)
    embeddings = rng.normal(size=(120, 10)) @ np.diag(np.linspace(4, 0.2, 10))
    labels = ["drama", "comedy", "action"] * 40
    hover = [f"movie {i}" for i in range(120)]
    fig = plot_embeddings_pca(embeddings, labels, hover)
    pca = PCA(n_components=2).fit(embeddings)
    reference = pca.transform(embeddings)
    coords = np.full((120, 2), np.nan)
    for trace in fig.data:
        coords[list(trace.customdata)] = np.stack([array(trace.x), array(trace.y)], axis=1)
        assert all(text.startswith("movie ") for text in trace.text)
    assert [t.name for t in fig.data] == ["drama", "comedy", "action"]
    for k in range(2):  # equal up to the sign of each component
        sign = np.sign(coords[:, k] @ reference[:, k])
        np.testing.assert_allclose(coords[:, k], sign * reference[:, k], atol=1e-4)
    share = 100 * pca.explained_variance_ratio_
    assert fig.layout.xaxis.title.text == f"PC1 ({share[0]:.1f}% of the variance)"
    assert fig.layout.yaxis.title.text == f"PC2 ({share[1]:.1f}% of the variance)"
    with pytest.raises(ValueError, match="labels"):
        plot_embeddings_pca(embeddings, labels[:-1])
    with pytest.raises(ValueError, match="2-D"):
        plot_embeddings_pca(np.ones(10), None)


def test_embeddings_pca_labels_its_points_and_joins_them_in_order():
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)  # 24 hours round a circle, in 3-D
    embeddings = np.stack([np.cos(angles), np.sin(angles), 0.01 * np.ones(24)], axis=1)
    hours = [f"{h}:00" for h in range(24)]
    kind = ["night" if h < 6 else "day" for h in range(24)]
    fig = plot_embeddings_pca(embeddings, kind, hours, show_text=True, path=True)
    line, *points = fig.data
    assert line.mode == "lines" and line.hoverinfo == "skip" and line.showlegend is False
    path = np.stack([array(line.x), array(line.y)], axis=1)  # (24, 2), in row order
    for trace in points:  # each point sits on the path at its own row, labelled with its hour
        assert trace.mode == "markers+text"
        rows = list(trace.customdata)
        np.testing.assert_allclose(np.stack([array(trace.x), array(trace.y)], 1), path[rows])
        assert list(trace.text) == [hours[i] for i in rows]
    radii = np.linalg.norm(path, axis=1)  # the circle survives the projection
    np.testing.assert_allclose(radii, 1.0, atol=1e-3)
    plain = plot_embeddings_pca(embeddings, kind, hours)
    assert [t.mode for t in plain.data] == ["markers", "markers"]


def test_plot_losses_smoothed_curve_follows_a_short_run():
    """30 batches of a loss falling from 2.0 to 0.5: the smoothed curve must end near the
    last losses, not near their average over the whole run (what beta=0.98 gives)."""
    losses = np.linspace(2.0, 0.5, 30)
    rec = SimpleNamespace(losses=list(losses), valid_losses=[0.6], metrics={})
    smoothed = plot_losses(rec).data[1]
    assert smoothed.name == "training loss (smoothed)"
    assert abs(smoothed.y[-1] - 0.5) < 0.2
    lagging = plot_losses(rec, beta=0.98).data[1]
    assert lagging.y[-1] > 1.0  # the old default trails by most of the run


def test_conv_explorer_opens_on_the_complete_feature_map():
    fig = figure("conv")
    assert fig.layout.sliders[0].active == len(fig.frames) - 1
    last = fig.frames[-1]
    shown = {i: fig.data[i] for i in last.traces}
    for index, frame_trace in zip(last.traces, last.data, strict=True):
        if getattr(frame_trace, "z", None) is not None:
            np.testing.assert_array_equal(array(shown[index].z), array(frame_trace.z))
    conv = array(fig.data[5].z)  # kernel 0's convolution, as the page first shows it
    assert np.isfinite(conv).all()  # every pixel computed


def test_frame_slider_checks_its_active_step():
    from course_utils.viz.style import frame_slider

    assert frame_slider(["a", "b"], ["a", "b"], "x: ", active=1)["active"] == 1
    with pytest.raises(ValueError, match="active"):
        frame_slider(["a", "b"], ["a", "b"], "x: ", active=2)


def test_plot_losses_uses_a_log_axis_when_losses_span_orders_of_magnitude():
    calm = SimpleNamespace(losses=[2.0, 1.5, 1.0, 0.8], valid_losses=[0.9, 0.7], metrics={})
    assert plot_losses(calm).layout.yaxis.type == "linear"
    spiky = SimpleNamespace(losses=[2.0, 1.5, 1.0, 0.8], valid_losses=[410.0, 0.7], metrics={})
    fig = plot_losses(spiky)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.title.text == "loss (log scale)"
    assert plot_losses(spiky, log_y=False).layout.yaxis.type == "linear"


def test_image_grid_shows_one_large_image_at_its_size():
    mosaic = np.zeros((368, 368, 3))  # floats in [0, 1]
    fig = plot_image_grid([mosaic], ["a mosaic"], size=368, title="one image")
    assert fig.layout.height > 368  # shown at its own size, not capped at 200 px
    with pytest.raises(ValueError, match="size must be 1..512"):
        plot_image_grid([mosaic], size=600)
