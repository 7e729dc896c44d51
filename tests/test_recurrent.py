"""The recurrent cells and layers written out against PyTorch's (course_utils.models.recurrent).

Every comparison is in float64 and asks for equality within 1e-10: outputs, final states
and the gradients of a scalar loss with respect to every parameter, the input and the
initial state.
"""

from __future__ import annotations

import math

import pytest
import torch
from helpers import load_benchmark
from torch import nn

from course_utils.models.recurrent import (
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    Recurrent,
    RNNCell,
    cell_state_dict,
)

TOL = {"atol": 1e-10, "rtol": 0.0}
B, IN, H, T = 3, 5, 4, 7  # batch, input size, hidden size, sequence length

# kind: (our cell, torch's cell, our stack, torch's stack, extra arguments)
KINDS = {
    "rnn_tanh": (RNNCell, nn.RNNCell, RNN, nn.RNN, {}),
    "rnn_relu": (RNNCell, nn.RNNCell, RNN, nn.RNN, {"nonlinearity": "relu"}),
    "gru": (GRUCell, nn.GRUCell, GRU, nn.GRU, {}),
    "lstm": (LSTMCell, nn.LSTMCell, LSTM, nn.LSTM, {}),
}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def assert_close(actual, expected):
    torch.testing.assert_close(actual, expected, **TOL)


def randn(*shape) -> torch.Tensor:
    return torch.randn(*shape, dtype=torch.float64)


def random_state(kind: str, *shape: int):
    """A random initial state: ``h``, or ``(h, c)`` for an LSTM."""
    return (randn(*shape), randn(*shape)) if kind == "lstm" else randn(*shape)


def flat(value) -> list[torch.Tensor]:
    """The tensors of a tensor, or of a (nested) tuple of tensors; [] for None."""
    if value is None:
        return []
    if isinstance(value, torch.Tensor):
        return [value]
    return [t for v in value for t in flat(v)]


def leaf_copy(value):
    """A copy of a tensor (or a tuple of them) that requires a gradient."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_()
    return None if value is None else tuple(leaf_copy(v) for v in value)


def run(module: nn.Module, x: torch.Tensor, state=None):
    """The outputs of ``module(x, state)`` and the gradients of a random weighted sum of
    them with respect to ``x``, the state and every parameter (in registration order)."""
    x, state = leaf_copy(x), leaf_copy(state)
    out = flat(module(x, state))
    g = torch.Generator().manual_seed(1)  # the same loss weights for ours and torch's
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in out)
    grads = torch.autograd.grad(loss, [x, *flat(state), *module.parameters()])
    return out, list(grads)


def assert_same_run(ours_run, ref_run) -> None:
    (ours_out, ours_grads), (ref_out, ref_grads) = ours_run, ref_run
    assert len(ours_out) == len(ref_out) and len(ours_grads) == len(ref_grads)
    for a, b in zip(ours_out + ours_grads, ref_out + ref_grads, strict=True):
        assert_close(a, b)


def cell_pair(kind: str, bias: bool = True) -> tuple[nn.Module, nn.Module]:
    """Our cell and torch's, float64, with torch's weights loaded strictly into ours."""
    ours_cls, ref_cls, _, _, kwargs = KINDS[kind]
    ref = ref_cls(IN, H, bias=bias, **kwargs).double()
    ours = ours_cls(IN, H, bias=bias, **kwargs).double()
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ours, ref


def stack_pair(kind: str, num_layers: int = 1, batch_first: bool = False):
    """Our stack and torch's, float64, with torch's weights loaded strictly into ours."""
    _, _, ours_cls, ref_cls, kwargs = KINDS[kind]
    args = (IN, H, num_layers)
    ref = ref_cls(*args, batch_first=batch_first, **kwargs).double()
    ours = ours_cls(*args, batch_first=batch_first, **kwargs).double()
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ours, ref


# ----- The cells ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_cell_matches_torch_outputs_and_gradients(kind):
    ours, ref = cell_pair(kind)
    x, state = randn(B, IN), random_state(kind, B, H)
    assert_same_run(run(ours, x, state), run(ref, x, state))


@pytest.mark.parametrize("kind", KINDS)
def test_cell_without_bias_matches_torch(kind):
    ours, ref = cell_pair(kind, bias=False)
    assert ours.bias_ih is None and ours.bias_hh is None and len(list(ours.parameters())) == 2
    x, state = randn(B, IN), random_state(kind, B, H)
    assert_same_run(run(ours, x, state), run(ref, x, state))


@pytest.mark.parametrize("kind", KINDS)
def test_cell_state_dicts_load_both_ways(kind):
    ours_cls, ref_cls, _, _, kwargs = KINDS[kind]
    ours, ref = ours_cls(IN, H, **kwargs).double(), ref_cls(IN, H, **kwargs).double()
    assert list(ours.state_dict()) == list(ref.state_dict())
    ref.load_state_dict(ours.state_dict(), strict=True)  # ours -> torch's
    x, state = randn(B, IN), random_state(kind, B, H)
    assert_same_run(run(ours, x, state), run(ref, x, state))


@pytest.mark.parametrize("kind", KINDS)
def test_cell_unbatched_input_works_like_torch(kind):
    ours, ref = cell_pair(kind)
    x, state = randn(IN), random_state(kind, H)
    out = flat(ours(x, state))
    assert all(o.shape == (H,) for o in out)
    assert_same_run(run(ours, x, state), run(ref, x, state))
    assert_same_run(run(ours, x), run(ref, x))  # and with no state


@pytest.mark.parametrize("kind", KINDS)
def test_cell_missing_state_is_zeros(kind):
    ours, ref = cell_pair(kind)
    x = randn(B, IN)
    zeros = random_state(kind, B, H)
    zeros = tuple(torch.zeros_like(z) for z in zeros) if kind == "lstm" else zeros * 0
    for a, b in zip(flat(ours(x)), flat(ours(x, zeros)), strict=True):
        assert_close(a, b)
    assert_same_run(run(ours, x), run(ref, x))


@pytest.mark.parametrize("kind", KINDS)
def test_default_init_lies_within_one_over_sqrt_hidden(kind):
    ours_cls, _, stack_cls, _, kwargs = KINDS[kind]
    hidden = 16
    bound = 1 / math.sqrt(hidden)
    for module in (ours_cls(10, hidden, **kwargs), stack_cls(10, hidden, 2, **kwargs)):
        values = torch.cat([p.detach().flatten() for p in module.parameters()])
        assert values.abs().max() <= bound
        assert values.abs().max() > 0.9 * bound and values.std() > 0.4 * bound  # spread out


def test_gru_and_lstm_stack_their_gates_like_torch():
    gru = GRUCell(IN, H)
    assert gru.weight_ih.shape == (3 * H, IN) and gru.bias_hh.shape == (3 * H,)
    assert LSTMCell(IN, H).weight_hh.shape == (4 * H, H)
    assert LSTM(IN, H, 2).weight_ih_l1.shape == (4 * H, H)  # layer 1 reads layer 0's h


# ----- Along a sequence: Recurrent(cell) against torch's one-layer RNN, GRU and LSTM ----------


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_cell_matches_torch_layer(kind, batch_first):
    ours_cell_cls, _, _, ref_cls, kwargs = KINDS[kind]
    ref = ref_cls(IN, H, batch_first=batch_first, **kwargs).double()
    cell = ours_cell_cls(IN, H, **kwargs).double()
    cell.load_state_dict(cell_state_dict(ref, 0), strict=True)
    ours = Recurrent(cell, batch_first=batch_first)
    x = randn(B, T, IN) if batch_first else randn(T, B, IN)
    # Recurrent's state is the cell's, (B, H); torch's layer's has a layer axis, (1, B, H).
    state = random_state(kind, B, H)
    ref_state = tuple(s[None] for s in state) if kind == "lstm" else state[None]
    ours_out, ours_grads = run(ours, x, state)
    ref_out, ref_grads = run(ref, x, ref_state)
    assert ours_out[0].shape == ((B, T, H) if batch_first else (T, B, H))
    # torch's final state and the gradients of its initial state: (1, B, H) -> (B, H)
    n_states = len(flat(state))
    ref_out = [ref_out[0]] + [s[0] for s in ref_out[1:]]
    ref_grads[1 : 1 + n_states] = [g[0] for g in ref_grads[1 : 1 + n_states]]
    assert_same_run((ours_out, ours_grads), (ref_out, ref_grads))
    # and from a zero state
    ours_out, _ = run(ours, x)
    ref_out, _ = run(ref, x)
    for a, b in zip(ours_out, [ref_out[0]] + [s[0] for s in ref_out[1:]], strict=True):
        assert_close(a, b)


def test_recurrent_runs_torch_cells_too():
    ref_cell = nn.LSTMCell(IN, H).double()
    ours = Recurrent(LSTMCell(IN, H).double())
    ours.cell.load_state_dict(ref_cell.state_dict(), strict=True)
    x = randn(T, B, IN)
    assert_same_run(run(ours, x), run(Recurrent(ref_cell), x))


def test_recurrent_unbatched_sequence():
    ref = nn.GRU(IN, H).double()
    cell = GRUCell(IN, H).double()
    cell.load_state_dict(cell_state_dict(ref))
    x = randn(T, IN)
    out, h = Recurrent(cell, batch_first=True)(x)  # 2-D: unbatched, whatever batch_first
    ref_out, ref_h = ref(x)
    assert out.shape == (T, H)
    assert_close(out, ref_out)
    assert_close(h, ref_h[0])


# ----- The stacks: RNN, GRU, LSTM against torch.nn's, weights loaded by name ----------------


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_stack_matches_torch(kind, batch_first, num_layers):
    ours, ref = stack_pair(kind, num_layers, batch_first)
    assert list(ours.state_dict()) == list(ref.state_dict())
    x = randn(B, T, IN) if batch_first else randn(T, B, IN)
    state = random_state(kind, num_layers, B, H)
    assert_same_run(run(ours, x, state), run(ref, x, state))
    assert_same_run(run(ours, x), run(ref, x))
    out, final = ours(x)
    assert out.shape == ((B, T, H) if batch_first else (T, B, H))
    assert all(s.shape == (num_layers, B, H) for s in flat(final))


@pytest.mark.parametrize("kind", KINDS)
def test_stack_state_dict_loads_into_torch(kind):
    _, _, ours_cls, ref_cls, kwargs = KINDS[kind]
    ours, ref = ours_cls(IN, H, 2, **kwargs).double(), ref_cls(IN, H, 2, **kwargs).double()
    ref.load_state_dict(ours.state_dict(), strict=True)
    x = randn(T, B, IN)
    assert_same_run(run(ours, x), run(ref, x))


@pytest.mark.parametrize("kind", KINDS)
def test_stack_unbatched_and_without_bias(kind):
    _, _, ours_cls, ref_cls, kwargs = KINDS[kind]
    ref = ref_cls(IN, H, 2, bias=False, **kwargs).double()
    ours = ours_cls(IN, H, 2, bias=False, **kwargs).double()
    ours.load_state_dict(ref.state_dict(), strict=True)
    x, state = randn(T, IN), random_state(kind, 2, H)
    assert_same_run(run(ours, x, state), run(ref, x, state))


def test_lstm_layers_are_cells_in_a_loop():
    """Layer by layer, a two-layer LSTM is Recurrent(LSTMCell) fed the layer below's outputs."""
    lstm = LSTM(IN, H, num_layers=2).double()
    x = randn(T, B, IN)
    out, (h_n, c_n) = lstm(x)
    layer_in = x
    for k in range(2):
        cell = LSTMCell(IN if k == 0 else H, H).double()
        cell.load_state_dict(cell_state_dict(lstm, k), strict=True)
        layer_in, (h, c) = Recurrent(cell)(layer_in)
        assert_close(h, h_n[k])
        assert_close(c, c_n[k])
    assert_close(layer_in, out)


# ----- Errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [RNNCell, GRUCell, LSTMCell, RNN, GRU, LSTM])
def test_sizes_must_be_positive_ints(cls):
    with pytest.raises(ValueError, match="input_size must be a positive int, got 0"):
        cls(0, H)
    with pytest.raises(ValueError, match="hidden_size must be a positive int, got -1"):
        cls(IN, -1)
    with pytest.raises(ValueError, match="hidden_size must be a positive int, got 2.5"):
        cls(IN, 2.5)
    with pytest.raises(ValueError, match="input_size must be a positive int, got True"):
        cls(True, H)


def test_num_layers_must_be_positive():
    with pytest.raises(ValueError, match="num_layers must be a positive int, got 0"):
        LSTM(IN, H, num_layers=0)


def test_unknown_nonlinearity():
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        RNNCell(IN, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        RNN(IN, H, nonlinearity="gelu")


@pytest.mark.parametrize("cls", [RNNCell, GRUCell, LSTMCell])
def test_cell_input_width_and_state_shape_errors(cls):
    name = cls.__name__
    cell = cls(IN, H)
    with pytest.raises(ValueError, match=rf"{name} expected an input of width input_size=5, got 7"):
        cell(torch.randn(B, 7))
    with pytest.raises(ValueError, match=rf"{name} expects an input of shape \(batch, input_size"):
        cell(torch.randn(2, B, IN))
    bad_h = torch.randn(B, H + 1)
    state = (bad_h, torch.randn(B, H)) if cls is LSTMCell else bad_h
    with pytest.raises(ValueError, match=rf"{name} expected h of shape \(3, 4\) \(batch, hidden"):
        cell(torch.randn(B, IN), state)
    # an unbatched input (IN,) wants an unbatched state (H,)
    if cls is LSTMCell:
        state, wrong = (torch.randn(H), torch.randn(B, H)), "c"
    else:
        state, wrong = torch.randn(B, H), "h"
    with pytest.raises(
        ValueError, match=rf"{name} expected {wrong} of shape \(4,\) \(hidden_size\)"
    ):
        cell(torch.randn(IN), state)
    if cls is LSTMCell:
        with pytest.raises(ValueError, match=r"LSTMCell expects state=\(h, c\)"):
            cell(torch.randn(B, IN), torch.randn(B, H))


@pytest.mark.parametrize("cls", [RNN, GRU, LSTM])
def test_stack_input_and_state_errors(cls):
    name = cls.__name__
    stack = cls(IN, H, num_layers=2)
    with pytest.raises(ValueError, match=rf"{name} expected an input of width input_size=5, got 6"):
        stack(torch.randn(T, B, 6))
    with pytest.raises(ValueError, match=rf"{name} expects a sequence of shape \(seq_len, batch"):
        stack(torch.randn(T, B, 1, IN))
    with pytest.raises(ValueError, match=rf"{name} needs a sequence of at least one step"):
        stack(torch.randn(0, B, IN))
    bad = torch.randn(1, B, H)  # one layer's state for a two-layer stack
    state = (bad, torch.randn(2, B, H)) if cls is LSTM else bad
    with pytest.raises(
        ValueError, match=rf"{name} expected h0 of shape \(2, 3, 4\) \(num_layers, batch, hidden"
    ):
        stack(torch.randn(T, B, IN), state)
    if cls is LSTM:
        with pytest.raises(ValueError, match=r"LSTM expects state=\(h0, c0\)"):
            stack(torch.randn(T, B, IN), torch.randn(2, B, H))
    else:
        with pytest.raises(TypeError, match=rf"{name} expected h0 to be a tensor, got tuple"):
            stack(torch.randn(T, B, IN), (torch.randn(2, B, H),))


def test_recurrent_errors():
    layer = Recurrent(LSTMCell(IN, H))
    with pytest.raises(ValueError, match=r"Recurrent expects a sequence of shape"):
        layer(torch.randn(B, IN, 1, 1))
    with pytest.raises(ValueError, match="Recurrent needs a sequence of at least one step"):
        Recurrent(GRUCell(IN, H), batch_first=True)(torch.randn(B, 0, IN))
    with pytest.raises(ValueError, match="LSTMCell expected an input of width input_size=5, got 2"):
        layer(torch.randn(T, B, 2))  # the cell checks each step
    with pytest.raises(ValueError, match=r"LSTM has no layer 1 \(no weight_ih_l1\)"):
        cell_state_dict(nn.LSTM(IN, H), layer=1)


# ----- The benchmark script -------------------------------------------------------------------


def test_lstm_benchmark_runs_at_a_tiny_size(capsys):
    bench = load_benchmark("bench_lstm")
    result = bench.main(["--quick"])
    assert result["forward"] > 0 and result["forward_backward"] > 0
    assert "ours / torch" in capsys.readouterr().out
