"""The numbers behind the animated figures, computed apart from the drawing:
conv_frames (the convolution explorer), sgd_frames (the SGD explorer), race_frames (the
optimiser race) and nonlinear_fit (a tiny network against a line); and the shared
drawing helpers they use (option_masks, legend_below). Shapes, and values worked out by
hand."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.viz.conv import KERNELS, conv_frames, conv_stages
from course_utils.viz.nonlinear import nonlinear_data, nonlinear_fit
from course_utils.viz.optimizers import NAMES, optimizer_paths, race_frames
from course_utils.viz.sgd import START, mse, sgd_data, sgd_frames, sgd_path
from course_utils.viz.style import legend_below, option_masks

# A 6x5 image falling from 0.4 on the left to 0 on the right: image[r, c] = (4 - c) / 10.
# The "vertical edges" kernel (left column +1, right column -1) gives, at every window,
# 3 * (image[., c] - image[., c + 2]) = 3 * 0.2 = 0.6; "horizontal edges" gives 0.
RAMP = np.tile((4 - np.arange(5)) / 10, (6, 1))  # (6, 5)


def test_conv_frames_shapes_and_order():
    data = conv_frames(RAMP, "vertical edges", others=("horizontal edges",), size=None)
    k, f = 2, len(data.positions)
    assert data.names == ("vertical edges", "horizontal edges")
    assert data.image.shape == (6, 5)
    assert data.kernels.shape == (k, 3, 3)
    np.testing.assert_array_equal(data.kernels[1], KERNELS["horizontal edges"])
    assert data.conv.shape == data.relu.shape == (k, 4, 3)  # (H - 2, W - 2)
    assert data.pool.shape == (k, 2, 1)  # (4 // 2, 3 // 2): the odd column is dropped
    assert data.patches.shape == (f, 3, 3)
    assert data.products.shape == (k, f, 3, 3)
    assert data.done.shape == (f, 4, 3) and data.pool_done.shape == (f, 2, 1)
    # 12 window positions, all shown (n_frames=26 > 12), in row-major order; then the
    # finished maps, the window on the first of the strongest responses (the ramp's are all
    # 0.6: the first, row-major)
    np.testing.assert_array_equal(data.positions, [*range(12), 0])
    assert data.done[-1].all() and data.done[0].sum() == 1


def test_conv_frames_values_by_hand():
    data = conv_frames(RAMP, "vertical edges", others=("horizontal edges",), size=None)
    np.testing.assert_allclose(data.conv[0], 0.6)
    np.testing.assert_allclose(data.relu[0], 0.6)
    np.testing.assert_allclose(data.pool[0], 0.6)
    np.testing.assert_allclose(data.conv[1], 0.0, atol=1e-15)
    # frame 4: the window's top-left corner on output pixel 4 = (row 1, column 1)
    np.testing.assert_array_equal(data.patches[4], RAMP[1:4, 1:4])
    # its products: [0.3, 0, -0.1] in each row (the kernel's columns are +1, 0, -1)
    np.testing.assert_allclose(data.products[0, 4], [[0.3, 0.0, -0.1]] * 3)
    # the nine products sum to the output pixel, for every kernel and frame
    rows, cols = np.divmod(data.positions, 3)
    np.testing.assert_allclose(data.products.sum(axis=(2, 3)), data.conv[:, rows, cols], atol=1e-15)


def test_conv_frames_fill_in_row_by_row():
    data = conv_frames(RAMP, "blur", others=(), size=None)
    # frame f has computed the output pixels 0..positions[f], row-major; the last frame,
    # the finished result, all 12
    assert [int(d.sum()) for d in data.done] == [*(data.positions[:-1] + 1), 12]
    np.testing.assert_array_equal(data.done[4], [[1, 1, 1], [1, 1, 0], [0, 0, 0], [0, 0, 0]])
    # pooled cell (0, 0) is complete once pixel (1, 1), index 4, is: from frame 4 on
    assert [bool(d[0, 0]) for d in data.pool_done] == [False] * 4 + [True] * 9
    # cell (1, 0) needs pixel (3, 1), index 10
    assert [bool(d[1, 0]) for d in data.pool_done] == [False] * 10 + [True] * 3
    assert data.done[-1].all() and data.pool_done[-1].all()


def test_conv_frames_match_conv_stages_on_a_photo():
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 3))
    data = conv_frames(kernel={"mine": kernel, "blur": "blur"}, n_frames=10)
    assert data.names == ("mine", "blur", "horizontal edges", "vertical edges", "sharpen")
    assert data.image.shape == (24, 24)  # an MNIST digit, its centre 24 px
    stages = conv_stages(data.image, kernel)
    for name in ("conv", "relu", "pool"):
        np.testing.assert_array_equal(getattr(data, name)[0], stages[name])
    assert len(data.positions) == 10 and data.positions[-2] == 22 * 22 - 1  # the last pixel
    # then the finished maps, the window where the first kernel ("mine") responds most
    assert data.positions[-1] == np.argmax(np.abs(stages["conv"]))
    assert data.done[-1].all() and data.pool_done[-1].all()
    assert data.positions[:3].tolist() == [0, 1, 2]  # the first few one by one


def test_sgd_frames_shapes():
    data = sgd_frames((0.05, 0.2, 0.7), steps=20, batch_size=5, n_frames=6)
    assert data.lrs == (0.05, 0.2, 0.7)
    assert data.initial == 1  # the second rate, by default
    assert data.x.shape == data.y.shape == (100,)
    assert data.paths.shape == (3, 21, 2)  # (L, T + 1, 2)
    np.testing.assert_array_equal(data.steps, [0, 4, 8, 12, 16, 20])
    assert data.losses.shape == (3, 6)  # (L, F)
    assert data.grid_a.shape == (41,) and data.grid_b.shape == (31,)
    assert data.surface.shape == (31, 41)  # rows are b, columns a


def test_sgd_frames_values():
    data = sgd_frames((0.05, 0.2), steps=20, batch_size=5, seed=1, n_frames=6)
    x, y = sgd_data(seed=1)
    np.testing.assert_array_equal(data.x, x)
    np.testing.assert_array_equal(data.paths[1], sgd_path(0.2, 20, 5, 1))
    # step 0 is the start, (a, b) = (-1, 1), for every rate: the MSE of y = -x + 1
    np.testing.assert_allclose(data.paths[:, 0], [START, START])
    by_hand = np.mean([(-xi + 1 - yi) ** 2 for xi, yi in zip(x, y, strict=True)])
    np.testing.assert_allclose(data.losses[:, 0], by_hand, rtol=1e-12)
    # the loss at step 12 (frame 3) of the second rate
    a, b = data.paths[1, 12]
    np.testing.assert_allclose(data.losses[1, 3], np.mean((a * x + b - y) ** 2), rtol=1e-12)
    # the surface, at a = grid_a[4], b = grid_b[7]; its minimum is the least-squares line
    assert data.surface[7, 4] == pytest.approx(mse(data.grid_a[4], data.grid_b[7], x, y))
    np.testing.assert_allclose(data.best, np.polyfit(x, y, 1))
    i, j = np.unravel_index(data.surface.argmin(), data.surface.shape)
    assert abs(data.grid_a[j] - data.best[0]) <= 0.2 and abs(data.grid_b[i] - data.best[1]) <= 0.2


def test_sgd_frames_checks_its_settings():
    with pytest.raises(ValueError, match="at least one"):
        sgd_frames(())
    with pytest.raises(ValueError, match="different"):
        sgd_frames((0.1, 0.1))
    with pytest.raises(ValueError, match="initial"):
        sgd_frames((0.1, 0.2), initial=2)


def test_race_frames_shapes_and_paths():
    data = race_frames(
        lrs=(0.02, 0.05), momentum=(0.5, 0.9), adam_lrs=(0.1, 0.3), steps=12, n_frames=5,
        max_points=5,
    )  # fmt: skip
    # every (lr pair, momentum): rates first, then momentum
    assert data.combos == ((0.02, 0.1, 0.5), (0.02, 0.1, 0.9), (0.05, 0.3, 0.5), (0.05, 0.3, 0.9))
    assert data.initial == 3  # the middle rate (index 1 of 2), the last momentum
    assert data.paths.shape == (4, 3, 13, 2)  # (C, racers, T + 1, 2)
    np.testing.assert_array_equal(data.steps, [0, 3, 6, 9, 12])
    assert data.stride == 3  # ceil(12 / 5): at most 5 points drawn per path
    assert data.losses.shape == (4, 3, 5)  # (C, racers, F)
    assert data.grid_x.shape == (81,) and data.grid_y.shape == (61,)
    assert data.levels.shape == (61, 81)
    # each setting's racers are optimizer_paths' (those are checked against torch.optim)
    for (lr, adam_lr, mom), racers in zip(data.combos, data.paths, strict=True):
        one = optimizer_paths(lr=lr, adam_lr=adam_lr, momentum=mom, steps=12)
        for name, path in zip(NAMES, racers, strict=True):
            np.testing.assert_allclose(path, one[name], rtol=1e-12)


def test_race_frames_values_by_hand():
    # f(x, y) = (x^2 + 25 y^2) / 2, gradient (x, 25 y); from (-7, 1.5)
    data = race_frames(lrs=(0.02,), momentum=(0.9,), adam_lrs=(0.1,), steps=4, n_frames=5)
    assert data.losses[0, :, 0] == pytest.approx([52.625] * 3)  # (49 + 25 * 2.25) / 2
    # one SGD step: (-7, 1.5) - 0.02 * (-7, 37.5)
    np.testing.assert_allclose(data.paths[0, 0, 1], [-6.86, 0.75])
    # the first momentum step is a plain one (the buffer starts at the gradient)
    np.testing.assert_allclose(data.paths[0, 1, 1], [-6.86, 0.75])
    # Adam's first step is lr times the gradient's sign, in each coordinate
    np.testing.assert_allclose(data.paths[0, 2, 1], [-6.9, 1.4], rtol=1e-6)
    x, y = data.paths[0, 0, 1]
    assert data.losses[0, 0, 1] == pytest.approx((x**2 + 25 * y**2) / 2)
    assert data.levels[30, 70] == pytest.approx(
        (data.grid_x[70] ** 2 + 25 * data.grid_y[30] ** 2) / 2
    )


def test_race_frames_rosenbrock_levels_are_logarithmic():
    data = race_frames("rosenbrock", lrs=(1e-3,), momentum=(0.9,), adam_lrs=(0.1,), steps=3)
    gx, gy = data.grid_x[10], data.grid_y[20]
    f = (1 - gx) ** 2 + 100 * (gy - gx**2) ** 2
    assert data.levels[20, 10] == pytest.approx(np.log10(f + 1e-3))
    assert data.losses[0, 0, 0] == pytest.approx(2.5**2 + 100 * (2.0 - 2.25) ** 2)  # at (-1.5, 2)


def test_race_frames_checks_its_settings():
    with pytest.raises(ValueError, match="one Adam learning rate per SGD one"):
        race_frames(lrs=(0.01, 0.02), adam_lrs=(0.1,))
    with pytest.raises(ValueError, match="initial"):
        race_frames(initial=(3, 0))
    with pytest.raises(ValueError, match="momentum"):
        race_frames(momentum=(1.0,))


def test_nonlinear_fit_shapes_and_values():
    data = nonlinear_fit(hidden=4, steps=40, lr=0.05, seed=2, n_frames=8)
    x, y = nonlinear_data(seed=2)
    np.testing.assert_array_equal(data.x, x)
    assert data.losses.shape == (41,)  # (T + 1,)
    assert data.steps[0] == 0 and data.steps[-1] == 40
    assert np.all(np.diff(data.steps) > 0) and len(data.steps) <= 8
    assert data.curves.shape == (len(data.steps), 80)  # (F, n)
    # the loss recorded at a step is the MSE of the curve at that step
    for f, step in enumerate(data.steps):
        assert data.losses[step] == pytest.approx(np.mean((data.curves[f] - y) ** 2))
    slope, intercept = np.polyfit(x, y, 1)
    assert (data.slope, data.intercept) == pytest.approx((slope, intercept))
    assert data.line_mse == pytest.approx(np.mean((slope * x + intercept - y) ** 2))
    assert data.losses[-1] < data.losses[0]


def test_nonlinear_fit_is_seeded():
    one, two = (nonlinear_fit(hidden=3, steps=5, seed=4, n_frames=3) for _ in range(2))
    np.testing.assert_array_equal(one.losses, two.losses)
    np.testing.assert_array_equal(one.curves, two.curves)
    with pytest.raises(ValueError, match="hidden"):
        nonlinear_fit(hidden=0)


def test_option_masks():
    assert option_masks(2, 3, 2) == [
        [True, True, True, True, False, False, False, False],
        [True, True, False, False, True, True, False, False],
        [True, True, False, False, False, False, True, True],
    ]
    assert option_masks(1, 1, 3) == [[True] * 4]


def test_legend_below():
    legend = legend_below(400)
    assert legend == dict(orientation="h", x=0.0, xanchor="left", y=-0.12, yanchor="top")
    assert legend_below(400, gap_px=20)["y"] == -0.05
