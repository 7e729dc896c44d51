"""The convolution explorer of lesson 3: a 3x3 kernel sliding over a photo, then ReLU and
max-pooling, as in the course's spreadsheet (``conv-example.xlsx``).

:func:`conv_stages` computes the three stages with NumPy; :func:`conv_explorer` draws
them as an animation whose slider moves the 3x3 window over the image: the window
on the input, the nine products and their sum written out, the output pixel filled in
and the feature map growing (pixels not computed yet are blank), with the ReLU and
the 2x2 max-pool filling in beside it. Buttons switch between kernels (edge detectors,
blur, sharpen, or any 3x3 array, such as a trained model's first-layer filter from
:func:`first_layer_kernels`).

The convolution is what deep learning libraries compute (``torch.nn.functional.conv2d``):
a cross-correlation, the kernel *not* flipped, with no padding and stride 1::

    out[r, c] = sum_{i, j in 0..2} image[r + i, c + j] * kernel[i, j]

so an (H, W) image gives an (H - 2, W - 2) feature map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from course_utils.viz.style import (
    PALETTE,
    compact,
    control_label,
    finish_figure,
    frame_slider,
    play_pause_buttons,
    slider_margin,
    style_figure,
    visibility_buttons,
)

__all__ = [
    "KERNELS",
    "conv_explorer",
    "conv_stages",
    "first_layer_kernels",
    "prepare_image",
]

# Preset kernels. Each responds to a pattern: "horizontal edges" is positive where the
# pixels above are brighter than those below, "vertical edges" where the left is brighter
# than the right; "blur" averages the 3x3 neighbourhood; "sharpen" adds to each pixel its
# difference from its four neighbours (the weights sum to 1, so flat areas are unchanged).
KERNELS: dict[str, np.ndarray] = {
    "horizontal edges": np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=np.float64),
    "vertical edges": np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64),
    "blur": np.full((3, 3), 1 / 9),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
}

# ITU-R BT.709 luminance: how bright a colour looks, green counting most
_LUMINANCE = np.array([0.2126, 0.7152, 0.0722])
_CHANNELS = {"red": 0, "green": 1, "blue": 2}
_DIVERGING = "RdBu_r"  # negative blue, positive red, zero white
_SEQUENTIAL = "Viridis"


def _as_kernel(kernel) -> np.ndarray:
    """A preset's name or a 3x3 array-like as a (3, 3) float64 array."""
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}: choose one of {list(KERNELS)}")
        return KERNELS[kernel]
    if hasattr(kernel, "detach"):  # a torch tensor
        kernel = kernel.detach().cpu().numpy()
    array = np.asarray(kernel, dtype=np.float64)
    if array.shape != (3, 3):
        raise ValueError(f"a kernel must be a 3x3 array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("the kernel has NaN or infinite values")
    return array


def _as_image(image) -> np.ndarray:
    """A 2-D array-like (or tensor) as float64, checked for the convolution stages."""
    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(
            f"the image must be 2-D (height, width), got shape {array.shape}; "
            "use prepare_image() for a colour image"
        )
    if min(array.shape) < 4:
        raise ValueError(f"the image must be at least 4x4 pixels, got {array.shape}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError("the image has NaN or infinite values")
    return array


def conv_stages(image, kernel) -> dict[str, np.ndarray]:
    """Convolve a 2-D ``image`` with a 3x3 ``kernel``, then ReLU, then 2x2 max-pool.

    Returns float64 arrays ``conv`` (H-2, W-2), ``relu`` (H-2, W-2) and ``pool``
    ((H-2)//2, (W-2)//2), equal to ``F.conv2d`` (no padding), ``F.relu`` and
    ``F.max_pool2d(kernel_size=2)`` (which drops an odd last row or column).
    ``kernel`` is a name from :data:`KERNELS` or a 3x3 array.
    """
    image, kernel = _as_image(image), _as_kernel(kernel)
    # windows[r, c] is the 3x3 patch whose top-left pixel is image[r, c]: (H-2, W-2, 3, 3)
    windows = np.lib.stride_tricks.sliding_window_view(image, (3, 3))
    conv = np.einsum("rcij,ij->rc", windows, kernel)  # multiply and sum each patch
    relu = np.maximum(conv, 0.0)
    h, w = relu.shape[0] // 2, relu.shape[1] // 2
    # (2h, 2w) -> (h, 2, w, 2): axes 1 and 3 run over each 2x2 block
    pool = relu[: 2 * h, : 2 * w].reshape(h, 2, w, 2).max(axis=(1, 3))
    return {"conv": conv, "relu": relu, "pool": pool}


def prepare_image(image=None, *, size: int | None = 24, channel: str | int = "luminance"):
    """The explorer's input: a 2-D float image in [0, 1], at most ``size`` px per side,
    rounded to 2 decimals (the numbers the figure shows).

    ``image`` is a 2-D greyscale array or an (H, W, 3) / (H, W, 4) colour one, uint8
    (0-255) or float (kept as is); ``None`` is a square crop of scikit-image's photo of
    Chelsea the cat. A colour image becomes its luminance, or one ``channel`` ("red",
    "green", "blue" or 0-2). Images larger than ``size`` are shrunk by area averaging
    (aspect ratio kept); ``size=None`` keeps the full size.
    """
    if image is None:
        try:
            from skimage import data
        except ImportError as error:  # pragma: no cover - scikit-image is in requirements.txt
            raise ImportError("the default image needs scikit-image; pass an image") from error
        image = data.chelsea()[:, 80:380]  # (300, 451, 3) -> the 300x300 square of the face
    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ValueError(
            f"the image must be 2-D (H, W) or colour (H, W, 3), got shape {array.shape}"
        )
    array = array / 255.0 if array.dtype == np.uint8 else array.astype(np.float64)
    if array.ndim == 3:
        array = _to_grey(array[..., :3], channel)
    if size is not None and max(array.shape) > size:
        from PIL import Image

        scale = size / max(array.shape)
        height, width = (max(4, round(n * scale)) for n in array.shape)
        # BOX: each output pixel is the mean of the input pixels it covers
        shrunk = Image.fromarray(array.astype(np.float32)).resize(  # mode "F": 32-bit float
            (width, height), Image.Resampling.BOX
        )
        array = np.asarray(shrunk, dtype=np.float64)
    return np.round(_as_image(array), 2)


def _to_grey(rgb: np.ndarray, channel: str | int) -> np.ndarray:
    if channel == "luminance":
        return rgb @ _LUMINANCE  # (H, W, 3) @ (3,) -> (H, W)
    index = _CHANNELS.get(channel, channel) if isinstance(channel, str) else channel
    if isinstance(index, bool) or index not in (0, 1, 2):
        raise ValueError(
            f"channel must be 'luminance', 'red', 'green', 'blue' or 0-2, got {channel!r}"
        )
    return rgb[..., index]


def first_layer_kernels(model) -> np.ndarray:
    """The 3x3 filters of the first ``nn.Conv2d`` in ``model``, as an (out_channels, 3, 3)
    float64 array.

    Larger filters (a ResNet's 7x7) are cropped to their centre 3x3. The input channels
    are summed: that is the filter a greyscale image sees when it is fed as identical R, G
    and B channels, since sum_c (image * w_c) = image * sum_c w_c.
    """
    import torch.nn as nn

    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise ValueError(f"{type(model).__name__} has no nn.Conv2d layer")
    weight = conv.weight.detach().double().cpu().numpy()  # (out, in / groups, kh, kw)
    kh, kw = weight.shape[-2:]
    if kh < 3 or kw < 3:
        raise ValueError(f"the first Conv2d has {kh}x{kw} filters; need at least 3x3")
    top, left = (kh - 3) // 2, (kw - 3) // 2  # the centre 3x3
    return weight[:, :, top : top + 3, left : left + 3].sum(axis=1)


def _kernel_dict(kernel, others: Sequence) -> dict[str, np.ndarray]:
    """The kernels the buttons offer, the initial one first."""
    if isinstance(kernel, str):
        chosen = {kernel: _as_kernel(kernel)}
    elif isinstance(kernel, Mapping):
        if not kernel:
            raise ValueError("kernel is an empty mapping")
        chosen = {str(name): _as_kernel(k) for name, k in kernel.items()}
    else:
        chosen = {"custom": _as_kernel(kernel)}
    for name in others:
        chosen.setdefault(name, _as_kernel(name))
    return chosen


def _frame_positions(n_positions: int, n_frames: int) -> np.ndarray:
    """Row-major indices of the window positions shown: the first few one by one (to see
    the window slide), then evenly spaced to the last, so the last frame is complete."""
    n_frames = max(2, min(n_frames, n_positions))
    n_detail = min(6, n_frames // 3)
    rest = np.linspace(n_detail, n_positions - 1, n_frames - n_detail)
    return np.unique(np.concatenate([np.arange(n_detail), np.round(rest)]).astype(int))


def _fmt_weight(w: float) -> str:
    return f"{w:.3g}".replace("-", "−")  # a real minus sign: easier to read


def conv_explorer(
    image=None,
    kernel="horizontal edges",
    *,
    others: Sequence[str] = tuple(KERNELS),
    channel: str | int = "luminance",
    size: int | None = 24,
    n_frames: int = 26,
    title: str | None = None,
) -> go.Figure:
    """The convolution explorer: a slider moves the 3x3 window over the image.

    ``image`` as in :func:`prepare_image` (default: Chelsea the cat, 24x24 px).
    ``kernel`` is a preset's name, a 3x3 array (shown as "custom") or a mapping of
    names to 3x3 arrays; buttons switch between it and the presets named in ``others``
    (``others=()`` for one kernel). ``n_frames`` window positions are shown, in row-major
    order; the last frame holds the complete feature map, ReLU and max-pool, and the
    figure opens on it, so that a reader (or a printed page) sees the whole result first;
    the slider and the play button then show it being computed.
    """
    img = prepare_image(image, size=size, channel=channel)
    kernels = _kernel_dict(kernel, others)
    names = list(kernels)
    stages = {name: conv_stages(img, k) for name, k in kernels.items()}
    out_h, out_w = img.shape[0] - 2, img.shape[1] - 2
    pool_h, pool_w = out_h // 2, out_w // 2
    positions = _frame_positions(out_h * out_w, n_frames)

    # Row-major index of every output pixel, and the index at which each pooled cell is
    # complete (its bottom-right conv pixel, (2i+1, 2j+1), is the last of its 2x2 block).
    order = np.arange(out_h * out_w).reshape(out_h, out_w)
    pool_ready = order[1 : 2 * pool_h : 2, 1 : 2 * pool_w : 2]  # (pool_h, pool_w)

    fig = go.Figure()
    # Two rows, for a column about 700 px wide: the input and the arithmetic of the current
    # window, large; below them the three stages side by side. Panel k (1-5) draws on the
    # axes x{k}, y{k} ("x", "y" for the first).
    panels = (
        ("input", f"input ({img.shape[0]}×{img.shape[1]} px)"),
        ("table", "window × kernel"),
        ("conv", f"convolution ({out_h}×{out_w})"),
        ("relu", "ReLU: max(0, x)"),
        ("pool", f"2×2 max-pool ({pool_h}×{pool_w})"),
    )
    axis_ref = {name: "" if k == 1 else str(k) for k, (name, _) in enumerate(panels, start=1)}

    def on(name: str) -> dict:
        """The axes of panel ``name``, as a trace's xaxis and yaxis."""
        return dict(xaxis="x" + axis_ref[name], yaxis="y" + axis_ref[name])

    def frame_traces(p: int) -> list[dict]:
        """The traces that change, for the window whose top-left corner is position p.

        Plain dicts, not graph objects: plotly validates them once, when the frames are
        set, instead of twice (that halves the build time).
        """
        r, c = divmod(int(p), out_w)
        traces = [
            # the 3x3 window on the input, and the output pixel it fills in
            _outline(c - 0.5, r - 0.5, 3, "window"),
            _outline(c - 0.5, r - 0.5, 1, "output pixel"),
        ]
        done = order <= p  # (out_h, out_w): pixels computed so far
        patch = img[r : r + 3, c : c + 3]
        for name in names:
            k, s = kernels[name], stages[name]
            products = patch * k  # (3, 3); their sum is s["conv"][r, c]
            text = [
                [f"{patch[i, j]:.2f}<br>×{_fmt_weight(k[i, j])}" for j in range(3)]
                for i in range(3)
            ]
            total = s["conv"][r, c]
            traces += [
                dict(type="heatmap", z=compact(products, 4), text=text),
                dict(type="scatter", text=[f"sum = {total:.2f}", f"ReLU → {max(total, 0):.2f}"]),
                dict(type="heatmap", z=_partial(s["conv"], done)),
                dict(type="heatmap", z=_partial(s["relu"], done)),
                dict(type="heatmap", z=_partial(s["pool"], pool_ready <= p)),
            ]
        return traces

    # Static traces: the input image, then per kernel the styling of its five traces. The
    # frames send only the data that changes (z, text, outline coordinates).
    fig.add_trace(
        go.Heatmap(
            z=compact(img, 2),
            colorscale="gray",
            zmin=0,
            zmax=1,
            showscale=False,
            hovertemplate="row %{y}, column %{x}<br>pixel %{z:.2f}<extra></extra>",
            **on("input"),
        )
    )
    first = frame_traces(positions[-1])  # the figure opens on the complete result
    window_style = dict(mode="lines", line=dict(color=PALETTE[0], width=3), hoverinfo="skip")
    fig.add_trace(go.Scatter(**first[0], **on("input")).update(window_style, showlegend=False))
    fig.add_trace(go.Scatter(**first[1], **on("conv")).update(window_style, showlegend=False))
    for n, name in enumerate(names):
        s = stages[name]
        bound = float(np.abs(s["conv"]).max()) or 1.0  # a fixed colour range per kernel
        table, sums, conv, relu, pool = (
            go.Heatmap(**t) if t["type"] == "heatmap" else go.Scatter(**t)
            for t in first[2 + 5 * n : 7 + 5 * n]
        )
        visible = n == 0
        fig.add_trace(
            table.update(
                x=[0, 1, 2],
                y=[0, 1, 2],
                texttemplate="%{text}",
                textfont=dict(size=13),
                colorscale=_DIVERGING,
                zmid=0,
                showscale=False,
                hovertemplate="%{text} = %{z:.3f}<extra></extra>",
                visible=visible,
                name=name,
                **on("table"),
            )
        )
        fig.add_trace(
            sums.update(
                x=[1, 1],
                y=[2.95, 3.45],  # below the table's bottom row (rows -0.5 to 2.5)
                mode="text",
                textfont=dict(size=14),
                hoverinfo="skip",
                showlegend=False,
                visible=visible,
                **on("table"),
            )
        )
        for trace, panel, zmin, scale, label in (
            (conv, "conv", -bound, _DIVERGING, "output"),
            (relu, "relu", 0.0, _SEQUENTIAL, "ReLU"),
            (pool, "pool", 0.0, _SEQUENTIAL, "max"),
        ):
            fig.add_trace(
                trace.update(
                    zmin=zmin,
                    zmax=bound,
                    colorscale=scale,
                    showscale=False,
                    hovertemplate=f"row %{{y}}, column %{{x}}<br>{label} %{{z:.2f}}<extra></extra>",
                    visible=visible,
                    name=name,
                    **on(panel),
                )
            )

    n_traces = len(fig.data)
    changing = list(range(1, n_traces))  # everything but the input image
    frame_names = [f"position {int(p)}" for p in positions]
    labels = ["row {}, column {}".format(*divmod(int(p), out_w)) for p in positions]
    fig.frames = [
        dict(name=fname, data=frame_traces(p), traces=changing)
        for fname, p in zip(frame_names, positions, strict=True)
    ]

    # Pixels, at the column's width of about 700: the title and the kernel buttons above
    # the plots; the top row's panels 295 px high, the bottom row's 185; the slider below.
    height, top, bottom = 820, 115, slider_margin()
    plot_px = height - top - bottom  # 575
    top_row, bottom_row = [1 - 295 / plot_px, 1.0], [0.0, 185 / plot_px]
    domains = {
        "input": ([0.0, 0.46], top_row),
        "table": ([0.56, 1.0], top_row),
        "conv": ([0.0, 0.29], bottom_row),
        "relu": ([0.355, 0.645], bottom_row),
        "pool": ([0.71, 1.0], bottom_row),
    }
    shapes = {
        "input": img.shape,
        "conv": (out_h, out_w),
        "relu": (out_h, out_w),
        "pool": (pool_h, pool_w),
    }
    # axis titles where they are needed: the input's, and the convolution's, which serve
    # the ReLU and max-pool beside it; the table's cells say what they hold
    titles = {
        "input": ("column (px)", "row (px)"),
        "conv": ("column", "row"),
        "table": (None, None),
        "relu": (None, None),
        "pool": (None, None),
    }
    annotations = []
    for (name, panel_title), ref in zip(panels, axis_ref.values(), strict=True):
        (x0, x1), (y0, y1) = domains[name]
        common = dict(showgrid=False, zeroline=False, constrain="domain")
        if name == "table":
            # cells 3 wide; 3 rows, then the sum and its ReLU below them
            x_axis = dict(range=[-0.5, 2.5], showticklabels=False, ticks="")
            y_axis = dict(range=[3.75, -0.5], showticklabels=False, ticks="")
        else:
            # square pixels, row 0 at the top, as an image is read
            h, w = shapes[name]
            x_axis = dict(range=[-0.5, w - 0.5])
            y_axis = dict(range=[h - 0.5, -0.5], scaleanchor="x" + ref, constraintoward="top")
        x_title, y_title = titles[name]
        fig.update_layout(
            {
                "xaxis" + ref: dict(
                    common, domain=[x0, x1], anchor="y" + ref, title_text=x_title, **x_axis
                ),
                "yaxis" + ref: dict(
                    common, domain=[y0, y1], anchor="x" + ref, title_text=y_title, **y_axis
                ),
            }
        )
        annotations.append(
            dict(
                text=panel_title,
                x=(x0 + x1) / 2,
                y=y1,
                xref="paper",
                yref="paper",
                xanchor="center",
                yanchor="bottom",
                yshift=4,
                showarrow=False,
                font=dict(size=14),
            )
        )

    masks = [
        [True] * 3 + [m == n for m in range(len(names)) for _ in range(5)]
        for n in range(len(names))
    ]
    menus = [play_pause_buttons(frame_ms=300)]
    if len(names) > 1:
        above = 1 + 34 / plot_px  # the buttons' bottom, clear of the panel titles
        menus.append(visibility_buttons(names, masks, x=0.1, y=above))
        annotations.append(control_label("kernel:", x=0.095, y=above))
    style_figure(
        fig,
        title or "A 3×3 convolution, then ReLU and 2×2 max-pooling",
        height=height,
        margin=dict(l=55, r=15, t=top, b=bottom),
    )
    fig.update_layout(
        updatemenus=menus,
        annotations=annotations,
        sliders=[
            frame_slider(
                frame_names, labels, "window's top-left pixel: ", active=len(frame_names) - 1
            )
        ],
        showlegend=False,
    )
    return finish_figure(fig)


def _partial(values: np.ndarray, done: np.ndarray) -> list:
    """The rows of a map that hold computed values, the others blank (None).

    Rows after the last computed one are left out: with the axis range fixed, plotly.js
    leaves them blank too, and the frame is that much smaller.
    """
    rows = np.flatnonzero(done.any(axis=1))
    if len(rows) == 0:
        return [[None]]  # nothing computed yet: one blank cell
    shown = np.where(done, values, np.nan)[: rows[-1] + 1]
    return compact(shown, 2)


def _outline(x0: float, y0: float, side: float, name: str) -> dict:
    """A closed square outline, top-left corner (x0, y0), as a scatter trace's points."""
    return dict(
        type="scatter",
        x=[x0, x0 + side, x0 + side, x0, x0],
        y=[y0, y0, y0 + side, y0 + side, y0],
        name=name,
    )
