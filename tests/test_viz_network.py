"""The MLP drawn as a network (course_utils.viz.network): the layer widths read from a
PyTorch model and from the MLP chapter's ``params``, the units and edges drawn, shape
labels that are the model's own parameter shapes, and buttons that show one view each
(forward, backward, the paths of one weight)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from torch import nn

from course_utils.viz import mlp_sizes, plot_mlp
from course_utils.viz.network import HIGHLIGHT, VIEWS
from course_utils.viz.style import CARTESIAN_TRACE_TYPES


def small_model() -> nn.Sequential:
    """12 inputs (more than are drawn), 5 hidden units, 3 outputs."""
    return nn.Sequential(nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 3))


def chapter_params(n_in: int = 12, n_hidden: int = 5, n_out: int = 3) -> dict:
    """Parameters as the MLP chapter's init_params makes them: W (n_in, n_out), b (n_out,)."""
    rng = np.random.default_rng(0)
    return {
        "W1": rng.normal(size=(n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.normal(size=(n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


def shown_traces(fig, view: str) -> list:
    """The traces that ``view``'s button makes visible, by applying its restyle."""
    (menu,) = fig.layout.updatemenus
    (button,) = [b for b in menu.buttons if b.label == view]
    assert button.method == "restyle"
    visible = button.args[0]["visible"]
    assert len(visible) == len(fig.data)
    return [trace for trace, shown in zip(fig.data, visible, strict=True) if shown]


def texts(traces) -> list[str]:
    """Every text written on the figure by ``traces`` (text mode scatters)."""
    return [t for trace in traces if trace.mode == "text" for t in trace.text if t]


def units(traces):
    """The trace of units (markers with hover text) among ``traces``."""
    (trace,) = [t for t in traces if t.mode == "markers" and "L: the loss" in t.hovertext[-1]]
    return trace


def edge_points(traces):
    """The hover points on the edges among ``traces``."""
    (trace,) = [t for t in traces if t.mode == "markers" and t.marker.opacity == 0]
    return trace


def test_sizes_from_a_torch_model_and_from_the_chapters_params():
    assert mlp_sizes(small_model()) == [12, 5, 3]
    assert mlp_sizes(chapter_params()) == [12, 5, 3]
    deeper = nn.Sequential(nn.Linear(7, 6), nn.ReLU(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2))
    assert mlp_sizes(deeper) == [7, 6, 4, 2]
    assert mlp_sizes({"W1": np.zeros((3, 2))}) == [3, 2]  # biases are optional


@pytest.mark.parametrize(
    "model, error, message",
    [
        ({"W1": np.zeros((4, 3)), "W2": np.zeros((5, 2))}, ValueError, "takes 5 inputs"),
        (nn.Sequential(nn.Linear(4, 3), nn.Linear(2, 1)), ValueError, "takes 2 inputs"),
        ({"W1": np.zeros((4, 3)), "W3": np.zeros((3, 2))}, ValueError, "W1, W2, ... in order"),
        ({"W1": np.zeros(4)}, ValueError, "must be a matrix"),
        ({"W1": np.zeros((4, 3)), "b1": np.zeros(4)}, ValueError, "b1 must have shape (3,)"),
        ({"b1": np.zeros(3)}, ValueError, "no weight"),
        (nn.Sequential(nn.ReLU()), ValueError, "no nn.Linear layer"),
        ([np.zeros((4, 3))], TypeError, "torch module or a mapping"),
    ],
)
def test_sizes_reject_what_is_not_an_mlp(model, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        mlp_sizes(model)


def test_units_and_edges_drawn():
    fig = plot_mlp(small_model())
    for view in VIEWS:
        shown = shown_traces(fig, view)
        nodes = units(shown)
        columns = sorted(set(nodes.x))
        # 12 inputs: the first four and the last two, a ⋮ between; all 5 hidden, all 3 logits;
        # and the loss
        assert [list(nodes.x).count(c) for c in columns] == [6, 5, 3, 1]
        assert texts(shown).count("⋮") == 1
        # an edge (and its hover point) for each pair of drawn units in consecutive layers
        assert len(edge_points(shown).x) == 6 * 5 + 5 * 3
    hover = units(shown_traces(fig, "forward")).hovertext
    assert [h.split(":")[0] for h in hover[:6]] == [f"input {i}" for i in (0, 1, 2, 3, 10, 11)]


def test_shape_labels_are_the_models_parameter_shapes():
    """The labels quote the shapes the chapter's params have, and nn.Linear's transposed."""
    params = chapter_params()
    model = small_model()
    for source in (params, model):
        fig = plot_mlp(source)
        forward = " ".join(texts(shown_traces(fig, "forward")))
        backward = " ".join(texts(shown_traces(fig, "backward")))
        for k in (1, 2):
            weight, bias = params[f"W{k}"].shape, params[f"b{k}"].shape
            torch_weight = tuple(model[2 * (k - 1)].weight.T.shape)
            assert weight == torch_weight
            sub = "₁₂"[k - 1]
            assert f"W{sub} {weight}<br>b{sub} {bias}" in forward
            assert f"∂L/∂W{sub}<br>= " in backward and f"<br>{weight}" in backward
        assert "X<br>(B, 12)" in forward and "XW₁ + b₁<br>H = ReLU(Z₁)<br>(B, 5)" in forward
        assert "Z₂ =<br>HW₂ + b₂<br>(B, 3)" in forward
        assert "∂L/∂W₁<br>= XᵀG₁<br>(12, 5)" in backward
        assert "∂L/∂W₂<br>= HᵀG₂<br>(5, 3)" in backward
        assert "∂L/∂H = G₂W₂ᵀ" in backward and "(P − Y)/B<br>(B, 3)" in backward
        assert "∂L/∂" not in forward and "W₁ (12, 5)" not in backward


def test_buttons_show_one_view_each():
    fig = plot_mlp(small_model(), weight=(2, 4))
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == list(VIEWS) and menu.active == 0
    # the figure opens on the forward view: its traces are the ones visible
    assert [t.visible is not False for t in fig.data] == menu.buttons[0].args[0]["visible"]
    masks = [b.args[0]["visible"] for b in menu.buttons]
    assert len({tuple(m) for m in masks}) == len(VIEWS)  # three different views
    # the edges change colour: the forward pass's, the backward pass's, grey for one weight
    colors = {
        view: {t.line.color for t in shown_traces(fig, view) if t.mode == "lines"} for view in VIEWS
    }
    assert colors["forward"].isdisjoint(colors["backward"])
    # one weight: W1[2, 4] lit, then every edge from unit 4 to the 3 logits, and to the loss
    shown = shown_traces(fig, "one weight")
    (lit,) = [t for t in shown if t.mode == "lines" and t.line.color == HIGHLIGHT]
    assert list(lit.x).count(None) == 1 + 3 + 3
    nodes = units(shown)
    picked = [h for h, c in zip(nodes.hovertext, nodes.marker.color, strict=True) if c == HIGHLIGHT]
    assert [h.split(":")[0] for h in picked] == ["input 2", "hidden unit 4"]
    assert "W₁[2, 4]<br>one weight" in texts(shown)
    assert "3 paths<br>to L: add<br>their<br>products" in texts(shown)
    # hovering over an edge names its weight, and in the backward view its gradient's sum
    (forward_hover,) = [
        h for h in edge_points(shown_traces(fig, "forward")).hovertext if h.startswith("W₁[2, 4]")
    ]
    assert "input 2 → hidden unit 4" in forward_hover and "60 weights" in forward_hover
    assert any(
        h.startswith("∂L/∂W₂[4, 1] = Σ over the batch<br>of H[:, 4] · G₂[:, 1]")
        for h in edge_points(shown_traces(fig, "backward")).hovertext
    )


def test_opens_on_the_view_asked_for():
    fig = plot_mlp(small_model(), view="backward")
    (menu,) = fig.layout.updatemenus
    assert menu.active == 1
    assert [t.visible is not False for t in fig.data] == menu.buttons[1].args[0]["visible"]


def test_deeper_and_shallower_networks_name_their_arrays():
    deeper = nn.Sequential(nn.Linear(7, 6), nn.ReLU(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2))
    backward = texts(shown_traces(plot_mlp(deeper), "backward"))
    assert "∂L/∂W₂<br>= H₁ᵀG₂<br>(6, 4)" in backward and "∂L/∂W₃<br>= H₂ᵀG₃<br>(4, 2)" in backward
    assert "∂L/∂H₁ = G₂W₂ᵀ<br>G₁ = ∂L/∂H₁<br>⊙ [Z₁ > 0]<br>(B, 6)" in backward
    assert "8 paths<br>to L: add<br>their<br>products" in texts(
        shown_traces(plot_mlp(deeper), "one weight")
    )
    linear = plot_mlp({"W1": np.zeros((3, 2))})
    assert "Z₁ =<br>XW₁ + b₁<br>(B, 2)" in texts(shown_traces(linear, "forward"))
    # by default, "one weight" follows the second input and the third unit, or the last
    one_weight = texts(shown_traces(linear, "one weight"))
    assert "W₁[1, 1]<br>one weight" in one_weight and "one path<br>to L" in one_weight
    assert "W₁[1, 2]<br>one weight" in texts(shown_traces(plot_mlp(small_model()), "one weight"))


def test_classes_name_the_logits():
    fig = plot_mlp(small_model(), classes=["cat", "dog", "fish"])
    assert units(shown_traces(fig, "forward")).hovertext[-2].startswith("the logit of fish")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(weight=(5, 0)), "weight \\(5, 0\\) is not drawn"),
        (dict(weight=(0, 9)), "is not drawn"),
        (dict(view="sideways"), "view must be one of"),
        (dict(classes=["a", "b"]), "2 class names for 3 outputs"),
        (dict(max_units=5), "max_units must be at least 7"),
    ],
)
def test_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_mlp(small_model(), **kwargs)


def test_plotly_can_draw_it_in_either_theme():
    fig = plot_mlp(chapter_params(64, 64, 10), classes=list("0123456789"))
    spec = json.loads(fig.to_json())
    assert {trace["type"] for trace in spec["data"]} <= CARTESIAN_TRACE_TYPES
    assert len(fig.to_json()) < 200_000
    # nothing that the dark theme cannot recolour: no background but a transparent plot
    # area, no colour for the text the page's theme colours
    layout = spec["layout"]
    assert "paper_bgcolor" not in layout and layout["plot_bgcolor"] == "rgba(0,0,0,0)"
    assert "color" not in layout.get("font", {})
    for trace in spec["data"]:
        if trace["mode"] == "text" and trace["text"][0] not in "→←":
            assert "color" not in trace.get("textfont", {}), trace["text"]
