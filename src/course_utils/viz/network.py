"""A multi-layer perceptron drawn as a network, with the shape of every array (Section 1,
the MLP chapter).

:func:`plot_mlp` draws an MLP read from the model itself (:func:`mlp_sizes`): a column
of units per layer, inputs on the left, the logits on the right and the loss beyond
them, an edge for every weight drawn. A layer too wide to draw shows its first units, a
``⋮`` and its last two. Under the columns and between them, the arrays of a batch of
``B`` examples with their shapes. Three buttons:

* **forward**: what each layer computes, ``Z₁ = X W₁ + b₁`` ``(B, 64)``, left to right;
* **backward**: the gradients, right to left, from ``G₂ = (P − Y) / B`` to
  ``∂L/∂W₁ = Xᵀ G₁``, each with the shape of the array it differentiates;
* **one weight**: every path from one weight of the first layer to the loss. The chain
  rule multiplies the derivatives along each path and adds up the paths.

Hovering over a unit or an edge names it (``W₁[1, 2]: input 1 → hidden unit 2``) and,
in the backward view, says which sum gives its gradient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from course_utils.viz.style import (
    NEUTRAL,
    PALETTE,
    finish_figure,
    style_figure,
    visibility_buttons,
)

__all__ = ["VIEWS", "mlp_sizes", "plot_mlp"]

VIEWS = ("forward", "backward", "one weight")  # the buttons, in order
FORWARD, BACKWARD, HIGHLIGHT = PALETTE[1], PALETTE[3], PALETTE[0]
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
LOSS_GAP = 0.75  # the loss's column, this far right of the logits' (in column widths)


def _sub(n: int) -> str:
    return str(n).translate(SUB)


def mlp_sizes(model) -> list[int]:
    """The widths of an MLP's layers, inputs first: ``[64, 64, 10]`` for 64 inputs, 64
    hidden units and 10 outputs.

    ``model`` is a PyTorch module (its ``nn.Linear`` layers, in order) or a mapping of
    parameters ``"W1"``, ``"W2"``, ... of shapes ``(n_in, n_out)`` (with optional biases
    ``"b1"``, ...), like the MLP chapter's ``params``. Each layer must take as many inputs
    as the one before gives outputs.
    """
    if hasattr(model, "modules"):
        from torch import nn

        shapes = [
            (m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)
        ]
        where = "nn.Linear layer"
    elif isinstance(model, Mapping):
        names = sorted(
            (k for k in model if k[:1] == "W" and k[1:].isdigit()), key=lambda k: int(k[1:])
        )
        if [int(k[1:]) for k in names] != list(range(1, len(names) + 1)):
            raise ValueError(f"weights must be named W1, W2, ... in order, got {names}")
        shapes = []
        for k, name in enumerate(names, start=1):
            shape = np.shape(model[name])
            if len(shape) != 2:
                raise ValueError(f"{name} must be a matrix (n_in, n_out), got shape {shape}")
            bias = model.get(f"b{k}")
            if bias is not None and np.shape(bias) != (shape[1],):
                raise ValueError(
                    f"b{k} must have shape ({shape[1]},) to match {name} {shape}, "
                    f"got {np.shape(bias)}"
                )
            shapes.append(tuple(int(n) for n in shape))
        where = "weight"
    else:
        raise TypeError(
            "model must be a torch module or a mapping of weights W1, W2, ..., "
            f"got {type(model).__name__}"
        )
    if not shapes:
        raise ValueError(f"the model has no {where}: nothing to draw")
    for k in range(1, len(shapes)):
        if shapes[k][0] != shapes[k - 1][1]:
            raise ValueError(
                f"{where} {k + 1} takes {shapes[k][0]} inputs but {where} {k} gives "
                f"{shapes[k - 1][1]} outputs"
            )
    return [shapes[0][0]] + [shape[1] for shape in shapes]


def _shown(n: int, max_units: int) -> list[int | None]:
    """The units of a layer of ``n`` drawn, top to bottom: all of them if there are at most
    ``max_units``, else the first four, ``None`` (the ⋮) and the last two."""
    if n <= max_units:
        return list(range(n))
    return [0, 1, 2, 3, None, n - 2, n - 1]


class _Names:
    """The chapter's names for the arrays of an MLP of ``n_layers`` linear layers."""

    def __init__(self, n_layers: int) -> None:
        self.n = n_layers

    def w(self, k: int) -> str:
        return f"W{_sub(k)}"

    def b(self, k: int) -> str:
        return f"b{_sub(k)}"

    def z(self, k: int) -> str:
        return f"Z{_sub(k)}"

    def g(self, k: int) -> str:
        return f"G{_sub(k)}"

    def a(self, k: int) -> str:
        """The input of layer ``k + 1``: X, then the hidden layers' H (H₁, H₂, ... if
        there are several)."""
        if k == 0:
            return "X"
        return "H" if self.n == 2 else f"H{_sub(k)}"


def _shape(*dims) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def _unit_name(column: int, n_columns: int, unit: int, classes) -> str:
    if column == 0:
        return f"input {unit}"
    if column == n_columns - 1:
        return f"logit {unit}" if classes is None else f"the logit of {classes[unit]}"
    return f"hidden unit {unit}" if n_columns == 3 else f"unit {unit} of hidden layer {column}"


def plot_mlp(
    model,
    *,
    classes: Sequence | None = None,
    max_units: int = 10,
    weight: tuple[int, int] | None = None,
    view: str = "forward",
    title: str | None = None,
) -> go.Figure:
    """The MLP ``model`` (a torch module or the chapter's ``params``, see
    :func:`mlp_sizes`) as a network, with the shapes of its arrays for a batch of ``B``
    examples, and buttons for the forward pass, the backward pass and the paths from one
    weight to the loss.

    ``classes``: names of the outputs, for the hover text (the logits' indices if None);
    ``max_units``: the most units drawn per layer (wider layers show their first four, a
    ⋮ and their last two); ``weight``: the ``(input, unit)`` of the first layer's weight
    that "one weight" follows, among the units drawn (if None, the second input drawn and
    the third unit, or the last where there are fewer); ``view``: the button pressed when
    the figure opens, one of :data:`VIEWS`. Made for one or two hidden layers: more
    crowd the labels on a phone's screen.
    """
    sizes = mlp_sizes(model)
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    if max_units < 7:
        raise ValueError(f"max_units must be at least 7, got {max_units}")
    if classes is not None and len(classes) != sizes[-1]:
        raise ValueError(f"{len(classes)} class names for {sizes[-1]} outputs")
    shown = [_shown(n, max_units) for n in sizes]
    drawn = [[u for u in s if u is not None] for s in shown]
    if weight is None:
        weight = (drawn[0][min(1, len(drawn[0]) - 1)], drawn[1][min(2, len(drawn[1]) - 1)])
    i, j = weight
    if i not in shown[0] or j not in shown[1]:
        raise ValueError(
            f"weight {weight} is not drawn: its input must be one of {drawn[0]} "
            f"and its unit one of {drawn[1]}"
        )
    layers = len(sizes) - 1
    names = _Names(layers)
    if title is None:
        title = "An MLP, " + " → ".join(str(n) for n in sizes)
    return _draw(sizes, shown, names, classes, (i, j), view, title)


def _positions(shown: list[list[int | None]]) -> list[list[float]]:
    """The height of every drawn slot (unit or ⋮), each column centred on 0.5, the tallest
    filling [0, 1]."""
    step = 1 / max(max(len(s) for s in shown) - 1, 1)
    return [[0.5 + (len(s) - 1) / 2 * step - r * step for r in range(len(s))] for s in shown]


def _edges(shown, ys, keep=lambda layer, a, b: True):
    """The drawn edges, as one line trace's x and y (None between edges), and the middle of
    each with its (layer, from, to)."""
    xs, yss, mids = [], [], []
    for layer in range(len(shown) - 1):
        for a, ya in zip(shown[layer], ys[layer], strict=True):
            for b, yb in zip(shown[layer + 1], ys[layer + 1], strict=True):
                if a is None or b is None or not keep(layer, a, b):
                    continue
                xs += [layer, layer + 1, None]
                yss += [ya, yb, None]
                # hover point a third of the way along: apart from the edges' crossings
                mids.append((layer + 1 / 3, ya + (yb - ya) / 3, layer + 1, a, b))
    return xs, yss, mids


def _loss_edges(shown, ys):
    """The edges from the drawn logits to the loss, as :func:`_edges` draws them."""
    last, x_loss = len(shown) - 1, len(shown) - 1 + LOSS_GAP
    xs, yss = [], []
    for b, yb in zip(shown[last], ys[last], strict=True):
        if b is not None:
            xs += [last, x_loss, None]
            yss += [yb, 0.5, None]
    return xs, yss


def _line(xs, ys, color, width, opacity) -> go.Scatter:
    return go.Scatter(
        x=xs,
        y=[None if y is None else round(y, 4) for y in ys],
        mode="lines",
        line=dict(color=color, width=width),
        opacity=opacity,
        hoverinfo="skip",
        showlegend=False,
    )


def _text(xs, ys, texts, position="bottom center") -> go.Scatter:
    return go.Scatter(
        x=xs,
        y=ys,
        text=texts,
        mode="text",
        textposition=position,
        hoverinfo="skip",
        showlegend=False,
    )


def _labels(sizes, names: _Names, view: str, weight) -> tuple[list[str], list[str]]:
    """The text under each column (inputs, hidden layers, logits, loss) and under each
    layer of weights, for ``view``."""
    n = len(sizes) - 1
    a, z, g, w, b = names.a, names.z, names.g, names.w, names.b
    columns, between = [], []
    if view == "forward":
        columns.append(f"{a(0)}<br>{_shape('B', sizes[0])}")
        for k in range(1, n + 1):
            lines = [f"{z(k)} =", f"{a(k - 1)}{w(k)} + {b(k)}"]
            if k < n:
                lines.append(f"{a(k)} = ReLU({z(k)})")
            columns.append("<br>".join([*lines, _shape("B", sizes[k])]))
        columns.append("L<br>one<br>number")
        between = [
            f"{w(k)} {_shape(sizes[k - 1], sizes[k])}<br>{b(k)} {_shape(sizes[k])}"
            for k in range(1, n + 1)
        ]
    elif view == "backward":
        columns.append(f"{a(0)}<br>{_shape('B', sizes[0])}<br>(data: no<br>gradient)")
        for k in range(1, n + 1):
            if k == n:
                lines = [f"{g(k)} =", "(P − Y)/B"]
            else:
                lines = [
                    f"∂L/∂{a(k)} = {g(k + 1)}{w(k + 1)}ᵀ",
                    f"{g(k)} = ∂L/∂{a(k)}",
                    f"⊙ [{z(k)} > 0]",
                ]
            columns.append("<br>".join([*lines, _shape("B", sizes[k])]))
        columns.append("∂L/∂L<br>= 1")
        between = [
            f"∂L/∂{w(k)}<br>= {a(k - 1)}ᵀ{g(k)}<br>{_shape(sizes[k - 1], sizes[k])}"
            for k in range(1, n + 1)
        ]
    else:  # one weight
        i, j = weight
        paths = int(np.prod(sizes[2:])) if n > 1 else 1
        columns.append(f"input {i}")
        if n == 1:
            columns.append(f"logit {j}")
        else:
            fed = "logits" if n == 2 else "units"
            columns.append(f"unit {j}<br>feeds {sizes[2]}<br>{fed}")
        columns += [""] * (n - 1)
        if paths == 1:
            columns.append("one path<br>to L")
        else:
            columns.append(f"{paths} paths<br>to L: add<br>their<br>products")
        between = [f"{w(1)}[{i}, {j}]<br>one weight"] + [""] * (n - 1)
    return columns, between


def _hover(sizes, names: _Names, view: str, classes):
    """Hover text for a unit (column, unit) and for a weight (layer, from, to)."""
    n_columns = len(sizes)
    a, z, g, w = names.a, names.z, names.g, names.w

    def unit(column: int, u: int) -> str:
        name = _unit_name(column, n_columns, u, classes)
        if column == 0:
            what = f"column {u} of {a(0)}, the input's number {u}"
            grad = "data: no gradient needed"
        elif column < n_columns - 1:
            what = f"{a(column)}[:, {u}] = ReLU({z(column)}[:, {u}])"
            grad = (
                f"{g(column)}[:, {u}] = ∂L/∂{a(column)}[:, {u}] where {z(column)}[:, {u}] > 0, "
                "0 elsewhere"
            )
        else:
            what = f"{z(column)}[:, {u}]"
            grad = f"{g(column)}[:, {u}] = (P[:, {u}] − Y[:, {u}]) / B"
        return f"{name}: " + (grad if view == "backward" else what)

    def edge(layer: int, u: int, v: int) -> str:
        where = (
            f"{_unit_name(layer - 1, n_columns, u, classes)} → "
            f"{_unit_name(layer, n_columns, v, classes)}"
        )
        if view == "backward":
            return (
                f"∂L/∂{w(layer)}[{u}, {v}] = Σ over the batch<br>of "
                f"{a(layer - 1)}[:, {u}] · {g(layer)}[:, {v}]<br>({where})"
            )
        count = sizes[layer - 1] * sizes[layer]
        return (
            f"{w(layer)}[{u}, {v}]: {where}<br>one of the {count:,} weights of "
            f"{w(layer)} {_shape(sizes[layer - 1], sizes[layer])}"
        )

    return unit, edge


def _draw(sizes, shown, names: _Names, classes, weight, opened: str, title: str) -> go.Figure:
    n_columns = len(sizes)
    ys = _positions(shown)
    x_loss = n_columns - 1 + LOSS_GAP
    traces: list[tuple[go.Scatter, set[str]]] = []  # each trace, and the views that show it
    every = set(VIEWS)

    # edges: the colour of the pass in forward and backward; for one weight, grey edges
    # under the paths from the weight to the loss
    xs, yss, mids = _edges(shown, ys)
    lx, ly = _loss_edges(shown, ys)
    for view, color in (("forward", FORWARD), ("backward", BACKWARD)):
        traces.append((_line(xs + lx, yss + ly, color, 1.2, 0.6), {view}))
    traces.append((_line(xs + lx, yss + ly, NEUTRAL, 1, 0.3), {"one weight"}))
    i, j = weight

    def on_path(layer, a, b):
        return (layer == 0 and (a, b) == (i, j)) or (layer == 1 and a == j) or layer > 1

    px, py, _ = _edges(shown, ys, on_path)
    traces.append((_line(px + lx, py + ly, HIGHLIGHT, 3, 1.0), {"one weight"}))

    # hover points on the edges, and the units; their text depends on the view
    for view in VIEWS:
        unit, edge = _hover(sizes, names, "backward" if view == "backward" else "forward", classes)
        traces.append(
            (
                go.Scatter(
                    x=[round(m[0], 4) for m in mids],
                    y=[round(m[1], 4) for m in mids],
                    mode="markers",
                    marker=dict(size=10, color=NEUTRAL, opacity=0),
                    hovertext=[edge(*m[2:]) for m in mids],
                    hoverinfo="text",
                    showlegend=False,
                ),
                {view},
            )
        )
        nx, ny, texts, colors = [], [], [], []
        for column, (units, heights) in enumerate(zip(shown, ys, strict=True)):
            for u, y in zip(units, heights, strict=True):
                if u is None:
                    continue
                nx.append(column)
                ny.append(round(y, 4))
                texts.append(unit(column, u))
                picked = view == "one weight" and (column, u) in {(0, i), (1, j)}
                colors.append(HIGHLIGHT if picked else NEUTRAL)
        nx.append(x_loss)
        ny.append(0.5)
        texts.append(
            "L: the loss, one number"
            + ("; ∂L/∂L = 1, where the backward pass starts" if view == "backward" else "")
        )
        colors.append(PALETTE[4])
        traces.append(
            (
                go.Scatter(
                    x=nx,
                    y=ny,
                    mode="markers",
                    marker=dict(size=13, color=colors),
                    hovertext=texts,
                    hoverinfo="text",
                    showlegend=False,
                ),
                {view},
            )
        )

    # the ⋮ of the layers too wide to draw, and the columns' names above them
    dots = [
        (column, y)
        for column, (units, heights) in enumerate(zip(shown, ys, strict=True))
        for u, y in zip(units, heights, strict=True)
        if u is None
    ]
    traces.append(
        (
            _text([d[0] for d in dots], [d[1] for d in dots], ["⋮"] * len(dots), "middle center"),
            every,
        )
    )
    heads = ["input"] + ["hidden"] * (n_columns - 2) + ["logits", "loss"]
    counts = [f"{n}" for n in sizes] + ["1"]
    top = max(max(y) for y in ys) + 0.08
    traces.append(
        (
            _text(
                [*range(n_columns), x_loss],
                [top] * (n_columns + 1),
                [f"{head}<br>{count}" for head, count in zip(heads, counts, strict=True)],
                "top center",
            ),
            every,
        )
    )

    # arrows between the columns' names: the direction of the pass
    gaps = [k + 0.5 for k in range(n_columns - 1)] + [n_columns - 1 + LOSS_GAP / 2]
    for view, arrow, color in (("forward", "→", FORWARD), ("backward", "←", BACKWARD)):
        traces.append(
            (
                go.Scatter(
                    x=gaps,
                    y=[top + 0.07] * len(gaps),
                    text=[arrow] * len(gaps),
                    mode="text",
                    textfont=dict(size=24, color=color),
                    hoverinfo="skip",
                    showlegend=False,
                ),
                {view},
            )
        )

    # under the columns, the arrays; under the gaps between them, lower down, the weights
    bottom = min(min(y) for y in ys) - 0.06
    for view in VIEWS:
        columns, between = _labels(sizes, names, view, weight)
        traces.append(
            (_text([*range(n_columns), x_loss], [bottom] * (n_columns + 1), columns), {view})
        )
        traces.append(
            (
                _text(
                    [k + 0.5 for k in range(n_columns - 1)],
                    [bottom - 0.32] * (n_columns - 1),
                    between,
                ),
                {view},
            )
        )

    for trace, views in traces:
        trace.visible = opened in views
    fig = go.Figure([trace for trace, _ in traces])
    masks = [[view in views for _, views in traces] for view in VIEWS]
    menu = visibility_buttons(VIEWS, masks, active=VIEWS.index(opened))
    menu["pad"] = dict(t=0, b=6, r=4)  # clear of the layer labels below
    style_figure(fig, title, height=560, margin=dict(l=10, r=10, t=90, b=10))
    # a transparent plot area: the page's background, light or dark, shows through
    fig.update_layout(updatemenus=[menu], dragmode=False, plot_bgcolor="rgba(0,0,0,0)")
    fig.update_xaxes(range=[-0.4, x_loss + 0.3], visible=False, fixedrange=True)
    fig.update_yaxes(range=[bottom - 0.55, top + 0.2], visible=False, fixedrange=True)
    return finish_figure(fig)
