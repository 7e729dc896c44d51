"""Recurrent cells written out to be read: a plain RNN, a GRU and an LSTM (lessons 6 and 7).

A recurrent network reads a sequence one step at a time and keeps a *hidden state* ``h``,
a vector that summarises everything it has read so far. A *cell* is what happens at one
step: it takes the input of the step ``x`` and the previous state ``h`` and returns the
new state ``h'``. The same cell, with the same weights, is applied at every step, so the
network can read a sequence of any length. :class:`Recurrent` is that loop.

* :class:`RNNCell` (lesson 6, "RNNs from scratch"): ``h' = tanh(x W_ih^T + h W_hh^T + b)``.
  The hidden state carries the past, but badly over long sequences: going back ``T`` steps
  multiplies the gradient by ``W_hh`` (and the derivative of tanh) ``T`` times, so it
  shrinks to nothing (*vanishes*: the network can not learn from far back) or blows up
  (*explodes*: training diverges).
* :class:`GRUCell` and :class:`LSTMCell` (lesson 7): *gates*, vectors of numbers between 0
  and 1 computed from ``x`` and ``h``, decide how much of the old state to keep and how much
  new information to write. The new state is mostly a gated *sum* of the old one and a new
  candidate, not the old one squashed through a matrix and a tanh, so the gradient can flow
  back many steps through the "keep" path without vanishing. The LSTM keeps a second vector,
  the *cell state* ``c``, as its long-term memory, and shows ``h = o * tanh(c)`` to the
  next layer.

Each cell's maths is a plain function (:func:`rnn_cell`, :func:`gru_cell`, :func:`lstm_cell`),
as the 2018 notebook ``lesson6-rnn`` quotes PyTorch's own GRU cell function ("from the
pytorch source code - for reference"), the GRU of lesson 7. The modules hold the weights,
check the shapes and call the function. Parameter names, layout (the gates stacked in one
matrix in PyTorch's order), initialisation and numbers are those of :class:`torch.nn.RNNCell`,
:class:`torch.nn.GRUCell` and :class:`torch.nn.LSTMCell`, so state dicts load both ways.

Two ways to run a cell over a sequence:

* :class:`Recurrent` wraps any cell (ours or PyTorch's): ``Recurrent(LSTMCell(400, 1150))``
  is a one-layer LSTM, and reads like lesson 6's ``for`` loop.
  :func:`cell_state_dict` takes one layer's weights out of an ``nn.LSTM`` (or ``nn.GRU``,
  ``nn.RNN``) under a cell's names, to load them into a cell.
* :class:`RNN`, :class:`GRU` and :class:`LSTM` stack ``num_layers`` layers like their
  ``torch.nn`` namesakes and store the weights as those do (``weight_ih_l0``,
  ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ``weight_ih_l1``, ...), so an
  ``nn.LSTM``'s state dict loads into :class:`LSTM` and back. No dropout between layers,
  no bidirectional layers, no projections.

Shapes: ``B`` the batch size, ``T`` the sequence length, ``I`` the input size, ``H`` the
hidden size, ``L`` the number of layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks import positive_int

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "GRUCell",
    "LSTMCell",
    "RNNCell",
    "Recurrent",
    "cell_state_dict",
    "gru_cell",
    "lstm_cell",
    "rnn_cell",
]

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}
_WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

# ----- The maths of one step: x (B, I) and the state (B, H) -> the new state (B, H) -----------
# No checks here: the modules below check the shapes, then call these at every step.


def rnn_cell(
    x: torch.Tensor,
    h: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
    nonlinearity: str = "tanh",
) -> torch.Tensor:
    """One step of a plain RNN: ``h' = act(x W_ih^T + b_ih + h W_hh^T +
    b_hh)``.

    ``x`` (B, I), ``h`` (B, H), ``weight_ih`` (H, I), ``weight_hh`` (H,
    H), biases (H,) or None; returns ``h'`` (B, H). ``act`` is tanh or
    relu."""
    # F.linear(x, W, b) is x @ W.T + b: (B, I) @ (I, H) + (H,) -> (B, H)
    from_input = F.linear(x, weight_ih, bias_ih)  # (B, H)
    from_state = F.linear(h, weight_hh, bias_hh)  # (B, H)
    pre = from_input + from_state
    return _activation(nonlinearity)(pre)  # (B, H)


def gru_cell(
    x: torch.Tensor,
    h: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
) -> torch.Tensor:
    """One step of a GRU: a reset gate ``r``, an update gate ``z``, a
    candidate ``n``.

    ``x`` (B, I), ``h`` (B, H), ``weight_ih`` (3H, I), ``weight_hh``
    (3H, H), biases (3H,) or None, the three blocks of H rows in
    PyTorch's order r, z, n; returns ``h'`` (B, H)."""
    # One matrix product for the three gates' input parts, one for their
    # state parts.
    # 3 x (B, H): W_i* x + b_i*
    x_r, x_z, x_n = F.linear(x, weight_ih, bias_ih).chunk(3, dim=1)
    # 3 x (B, H): W_h* h + b_h*
    h_r, h_z, h_n = F.linear(h, weight_hh, bias_hh).chunk(3, dim=1)
    # Reset gate, in (0, 1): how much of the old state the candidate may
    # look at.
    r = torch.sigmoid(x_r + h_r)  # (B, H)
    # Update gate, in (0, 1): how much of the old state to keep (1 =
    # keep it all).
    z = torch.sigmoid(x_z + h_z)  # (B, H)
    # Candidate state, in (-1, 1): new information from the input and
    # the (reset) old state.
    n = torch.tanh(x_n + r * h_n)  # (B, H)
    # A gated average of the candidate and the old state: with z = 1, h
    # passes unchanged, and so does its gradient, which is why a GRU
    # remembers over long sequences.
    return (1 - z) * n + z * h  # (B, H)


def lstm_cell(
    x: torch.Tensor,
    state: tuple[torch.Tensor, torch.Tensor],
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor | None = None,
    bias_hh: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of an LSTM: input, forget and output gates ``i, f, o``
    and a candidate ``g``.

    ``x`` (B, I), ``state`` = ``(h, c)`` each (B, H), ``weight_ih`` (4H,
    I), ``weight_hh`` (4H, H), biases (4H,) or None, the four blocks of
    H rows in PyTorch's order i, f, g, o; returns ``(h', c')`` each (B,
    H)."""
    # (B, H) each: the output of the last step, and the cell's memory
    h, c = state
    # All four gates at once: (B, 4H), then cut into four (B, H) blocks.
    from_input = F.linear(x, weight_ih, bias_ih)  # (B, 4H)
    from_state = F.linear(h, weight_hh, bias_hh)  # (B, 4H)
    gates = from_input + from_state
    i, f, g, o = gates.chunk(4, dim=1)  # 4 x (B, H)
    # input gate, in (0, 1): how much of the candidate to write
    i = torch.sigmoid(i)
    # forget gate, in (0, 1): how much of the memory to keep
    f = torch.sigmoid(f)
    g = torch.tanh(g)  # candidate, in (-1, 1): what could be written
    # output gate, in (0, 1): how much of the memory to show
    o = torch.sigmoid(o)
    # The memory is updated by a sum, not a matrix product: with f = 1
    # the gradient flows back through c unchanged, step after step.
    c_new = f * c + i * g  # (B, H)
    h_new = o * torch.tanh(c_new)  # (B, H)
    return h_new, c_new


def _activation(nonlinearity: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if nonlinearity not in _ACTIVATIONS:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return _ACTIVATIONS[nonlinearity]


def _init_uniform(module: nn.Module, hidden_size: int) -> None:
    """PyTorch's initialisation of recurrent layers: every parameter U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        nn.init.uniform_(p, -bound, bound)


def _check_width(who: str, x: torch.Tensor, input_size: int) -> None:
    """ValueError unless the last dimension of ``x`` is ``input_size``."""
    if x.shape[-1] != input_size:
        raise ValueError(
            f"{who} expected an input of width input_size={input_size}, "
            f"got {x.shape[-1]} (an input of shape {tuple(x.shape)})"
        )


def _check_shape(who: str, name: str, t: torch.Tensor, expected: tuple, meaning: str) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{who} expected {name} to be a tensor, got {type(t).__name__}")
    if tuple(t.shape) != expected:
        raise ValueError(
            f"{who} expected {name} of shape {expected} ({meaning}), got {tuple(t.shape)}"
        )


# ----- The cells: weights, shape checks, then the maths above --------------------------------


class _Cell(nn.Module):
    """What the three cells share: sizes, PyTorch's parameter layout and initialisation.

    ``gates`` blocks of ``hidden_size`` rows are stacked in each weight matrix: one product
    ``x @ weight_ih.T`` computes the input's part of every gate at once.
    """

    gates = 1  # blocks of H rows in each weight: 1 (RNN), 3 (GRU), 4 (LSTM)
    state_names: tuple[str, ...] = ("h",)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = positive_int("input_size", input_size)
        self.hidden_size = positive_int("hidden_size", hidden_size)
        self.bias = bias
        rows = self.gates * self.hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, self.input_size))  # (gates*H, I)
        self.weight_hh = nn.Parameter(torch.empty(rows, self.hidden_size))  # (gates*H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows))  # (gates*H,)
            self.bias_hh = nn.Parameter(torch.empty(rows))  # (gates*H,)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: every parameter uniform in +-1/sqrt(hidden_size)."""
        _init_uniform(self, self.hidden_size)

    def _prepare(
        self, x: torch.Tensor, states: tuple[torch.Tensor | None, ...]
    ) -> tuple[torch.Tensor, list[torch.Tensor], bool]:
        """Check ``x`` and the state tensors; make them a batch (zeros for a missing state).

        Like PyTorch, ``x`` is (B, I) with each state (B, H), or *unbatched*: ``x`` (I,) with
        each state (H,). Returns ``x`` (B, I), the states (B, H) each, and whether the
        input was unbatched.
        """
        who = type(self).__name__
        if x.ndim not in (1, 2):
            raise ValueError(
                f"{who} expects an input of shape (batch, input_size) or (input_size,), "
                f"got a {x.ndim}-D tensor of shape {tuple(x.shape)}"
            )
        _check_width(who, x, self.input_size)
        unbatched = x.ndim == 1
        if unbatched:
            x = x[None]  # (I,) -> (1, I): a batch of one
        batch = x.shape[0]
        expected = (self.hidden_size,) if unbatched else (batch, self.hidden_size)
        meaning = "hidden_size" if unbatched else "batch, hidden_size"
        out = []
        for name, s in zip(self.state_names, states, strict=True):
            if s is None:
                s = x.new_zeros(batch, self.hidden_size)  # no past yet: a state of zeros
            else:
                _check_shape(who, name, s, expected, meaning)
                s = s[None] if unbatched else s  # (H,) -> (1, H)
            out.append(s)
        return x, out, unbatched

    def _weights(self) -> dict[str, torch.Tensor | None]:
        return {
            "weight_ih": self.weight_ih,
            "weight_hh": self.weight_hh,
            "bias_ih": self.bias_ih,
            "bias_hh": self.bias_hh,
        }

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"


class RNNCell(_Cell):
    """A plain RNN cell: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu).

    Parameters as :class:`torch.nn.RNNCell`'s: ``weight_ih`` (H, I), ``weight_hh`` (H, H),
    ``bias_ih`` and ``bias_hh`` (H,). ``cell(x, h=None)``: ``x`` (B, I) or (I,), ``h`` of
    the same batchedness (zeros when None); returns ``h'`` (B, H) or (H,).
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"
    ):
        _activation(nonlinearity)  # raises for anything but tanh or relu
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        x, (h,), unbatched = self._prepare(x, (h,))  # (B, I), (B, H)
        h = rnn_cell(x, h, **self._weights(), nonlinearity=self.nonlinearity)  # (B, H)
        return h[0] if unbatched else h

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, nonlinearity={self.nonlinearity!r}"


class GRUCell(_Cell):
    """A GRU cell (:func:`gru_cell`): reset and update gates around a tanh candidate.

    Parameters as :class:`torch.nn.GRUCell`'s: ``weight_ih`` (3H, I) and ``weight_hh``
    (3H, H), the gates r, z, n stacked in that order, ``bias_ih`` and ``bias_hh`` (3H,).
    ``cell(x, h=None)`` -> ``h'``, shapes as :class:`RNNCell`.
    """

    gates = 3

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        x, (h,), unbatched = self._prepare(x, (h,))  # (B, I), (B, H)
        h = gru_cell(x, h, **self._weights())  # (B, H)
        return h[0] if unbatched else h


class LSTMCell(_Cell):
    """An LSTM cell (:func:`lstm_cell`): input, forget and output gates, and a memory ``c``.

    Parameters as :class:`torch.nn.LSTMCell`'s: ``weight_ih`` (4H, I) and ``weight_hh``
    (4H, H), the gates i, f, g, o stacked in that order, ``bias_ih`` and ``bias_hh`` (4H,).
    ``cell(x, state=None)`` -> ``(h', c')``: ``state`` is ``(h, c)`` (zeros when None),
    each (B, H), or (H,) with an unbatched ``x`` (I,).
    """

    gates = 4
    state_names = ("h", "c")

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if state is None:
            state = (None, None)
        elif not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ValueError("LSTMCell expects state=(h, c), two tensors, or None")
        x, (h, c), unbatched = self._prepare(x, tuple(state))  # (B, I), (B, H), (B, H)
        h, c = lstm_cell(x, (h, c), **self._weights())  # (B, H) each
        return (h[0], c[0]) if unbatched else (h, c)


# ----- Over a sequence ----------------------------------------------------------------------


def _unroll(step: Callable, xs: torch.Tensor, state):
    """Apply ``step`` along the first axis of ``xs`` (T, ...): the recurrence itself.

    ``state = step(x_t, state)`` at each step t; returns the ``h`` of every step stacked,
    (T, ..., H), and the last state.
    """
    outputs = []
    for x in xs:  # x (B, I): the inputs at step t, for every sequence of the batch
        state = step(x, state)  # h (B, H), or (h, c) for an LSTM
        outputs.append(state[0] if isinstance(state, tuple) else state)  # h (B, H)
    return torch.stack(outputs), state  # (T, B, H), the state after the last step


def _time_first(who: str, x: torch.Tensor, batch_first: bool) -> tuple[torch.Tensor, bool]:
    """Check a sequence's shape and put time first: (B, T, I) -> (T, B, I) with ``batch_first``.

    Returns the sequence and whether it was transposed. A 2-D ``x`` is one unbatched
    sequence (T, I), as in PyTorch, whatever ``batch_first``.
    """
    if x.ndim not in (2, 3):
        raise ValueError(
            f"{who} expects a sequence of shape (seq_len, batch, input_size) (or "
            f"(batch, seq_len, input_size) with batch_first, or (seq_len, input_size) "
            f"unbatched), got a {x.ndim}-D tensor of shape {tuple(x.shape)}"
        )
    swap = batch_first and x.ndim == 3
    if swap:
        x = x.transpose(0, 1)  # (B, T, I) -> (T, B, I): one slice of inputs per step
    if x.shape[0] == 0:
        raise ValueError(f"{who} needs a sequence of at least one step, got {tuple(x.shape)}")
    return x, swap


class Recurrent(nn.Module):
    """Run a cell along a sequence: the cell is applied at each step with the same weights.

    ``cell`` is any cell called as ``cell(x, state) -> state``: ours or PyTorch's
    (``nn.RNNCell``, ``nn.GRUCell``, ``nn.LSTMCell``). ``forward(x, state=None)``: ``x``
    (T, B, I), or (B, T, I) with ``batch_first``, or unbatched (T, I); ``state`` the cell's
    initial state (``h`` (B, H), ``(h, c)`` for an LSTM; zeros when None). Returns the
    outputs, the ``h`` of every step, (T, B, H) (or (B, T, H)), and the final state.
    """

    def __init__(self, cell: nn.Module, batch_first: bool = False):
        super().__init__()
        self.cell = cell
        self.batch_first = batch_first

    def forward(self, x: torch.Tensor, state=None):
        x, swap = _time_first(type(self).__name__, x, self.batch_first)  # (T, B, I)
        outputs, state = _unroll(self.cell, x, state)  # (T, B, H)
        if swap:
            outputs = outputs.transpose(0, 1)  # (T, B, H) -> (B, T, H)
        return outputs, state

    def extra_repr(self) -> str:
        return f"batch_first={self.batch_first}"


def cell_state_dict(rnn: nn.Module, layer: int = 0) -> dict[str, torch.Tensor]:
    """Layer ``layer``'s weights of an ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM`` (or of ours),
    under a cell's names: ``weight_ih_l{layer}`` becomes ``weight_ih``, and so on.

    ``cell.load_state_dict(cell_state_dict(lstm, 0))`` gives an :class:`LSTMCell` layer 0's
    weights, so that ``Recurrent(cell)`` computes that layer.
    """
    weights = {}
    for name in _WEIGHT_NAMES:
        p = getattr(rnn, f"{name}_l{layer}", None)
        if p is not None:
            weights[name] = p.detach()
    if "weight_ih" not in weights:
        raise ValueError(f"{type(rnn).__name__} has no layer {layer} (no weight_ih_l{layer})")
    return weights


class _Stack(nn.Module):
    """``num_layers`` recurrent layers, each reading the outputs of the one before.

    The weights are stored as ``torch.nn.RNN``, ``GRU`` and ``LSTM`` store them: layer k's
    are ``weight_ih_l{k}`` (gates*H, I for k = 0, H above), ``weight_hh_l{k}`` (gates*H, H),
    ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (gates*H,). Each layer is the cell's function
    run along the sequence by the same loop as :class:`Recurrent`.
    """

    cell_fn: Callable  # the maths of one step: rnn_cell, gru_cell or lstm_cell
    gates = 1
    state_names: tuple[str, ...] = ("h",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
    ):
        super().__init__()
        self.input_size = positive_int("input_size", input_size)
        self.hidden_size = positive_int("hidden_size", hidden_size)
        self.num_layers = positive_int("num_layers", num_layers)
        self.bias, self.batch_first = bias, batch_first
        rows = self.gates * self.hidden_size
        for k in range(self.num_layers):
            layer_input = self.input_size if k == 0 else self.hidden_size  # layer k reads k-1's h
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(rows, layer_input)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(rows, hidden_size)))
            if bias:
                self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(rows)))
                self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(rows)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: every parameter uniform in +-1/sqrt(hidden_size)."""
        _init_uniform(self, self.hidden_size)

    def _step(self, k: int) -> Callable:
        """Layer k's step: the cell's function with layer k's weights."""
        weights = {name: getattr(self, f"{name}_l{k}", None) for name in _WEIGHT_NAMES}
        return partial(self.cell_fn, **weights)  # step(x, state) -> state

    def forward(self, x: torch.Tensor, state=None):
        """``x`` (T, B, I), or (B, T, I) with ``batch_first``, or unbatched (T, I).

        ``state``: ``h0`` (L, B, H) (``(h0, c0)`` for an LSTM), (L, H) unbatched, zeros
        when None. Returns the last layer's ``h`` at every step, (T, B, H) (or (B, T, H)),
        and the final state of every layer, ``h_n`` (L, B, H) (``(h_n, c_n)`` for an LSTM).
        """
        who = type(self).__name__
        x, swap = _time_first(who, x, self.batch_first)  # (T, B, I), or (T, I) unbatched
        _check_width(who, x, self.input_size)
        unbatched = x.ndim == 2
        if unbatched:
            x = x[:, None]  # (T, I) -> (T, 1, I): a batch of one
        states = self._initial_states(state, x, unbatched)  # [h0] or [h0, c0], each (L, B, H)
        finals = []
        for k in range(self.num_layers):
            layer_state = [s[k] for s in states]  # each (B, H): layer k's initial state
            x, final = _unroll(self._step(k), x, self._pack(layer_state))  # x: (T, B, H)
            finals.append(final if isinstance(final, tuple) else (final,))
        # Each kind of state, every layer's together: [h_n] or [h_n, c_n], each (L, B, H)
        finals = [torch.stack(layer_states) for layer_states in zip(*finals, strict=True)]
        if unbatched:
            x, finals = x[:, 0], [s[:, 0] for s in finals]  # (T, H), and (L, H) each
        elif swap:
            x = x.transpose(0, 1)  # (T, B, H) -> (B, T, H)
        return x, self._pack(finals)

    def _pack(self, states: list[torch.Tensor]):
        """A tuple ``(h, c)`` for an LSTM, the tensor ``h`` otherwise."""
        return tuple(states) if len(self.state_names) == 2 else states[0]

    def _initial_states(self, state, x: torch.Tensor, unbatched: bool) -> list[torch.Tensor]:
        who, batch = type(self).__name__, x.shape[1]
        shape = (self.num_layers, batch, self.hidden_size)
        if state is None:
            return [x.new_zeros(shape) for _ in self.state_names]
        if len(self.state_names) == 2:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise ValueError(f"{who} expects state=(h0, c0), two tensors, or None")
            states = list(state)
        else:
            states = [state]
        expected = (self.num_layers, self.hidden_size) if unbatched else shape
        meaning = "num_layers, hidden_size" if unbatched else "num_layers, batch, hidden_size"
        for name, s in zip(self.state_names, states, strict=True):
            _check_shape(who, f"{name}0", s, expected, meaning)
        return [s[:, None] for s in states] if unbatched else states  # (L, B, H) each

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"bias={self.bias}, batch_first={self.batch_first}"
        )


class RNN(_Stack):
    """A stack of plain RNN layers, like :class:`torch.nn.RNN` (tanh or relu).

    Arguments, parameter names and numbers as ``nn.RNN`` (no dropout, not bidirectional).
    ``forward(x, h0=None)`` -> ``(output, h_n)``: ``x`` (T, B, I), or (B, T, I) with
    ``batch_first``, or unbatched (T, I); ``h0`` and ``h_n`` (L, B, H), or (L, H)
    unbatched; ``output`` the last layer's ``h`` at every step, (T, B, H) or (B, T, H).
    """

    cell_fn = staticmethod(rnn_cell)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
    ):
        _activation(nonlinearity)  # raises for anything but tanh or relu
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first)
        self.nonlinearity = nonlinearity

    def _step(self, k: int) -> Callable:
        return partial(super()._step(k), nonlinearity=self.nonlinearity)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, nonlinearity={self.nonlinearity!r}"


class GRU(_Stack):
    """A stack of GRU layers, like :class:`torch.nn.GRU` (no dropout, not bidirectional).

    ``forward(x, h0=None)`` -> ``(output, h_n)``, shapes as :class:`RNN`.
    """

    cell_fn = staticmethod(gru_cell)
    gates = 3


class LSTM(_Stack):
    """A stack of LSTM layers, like :class:`torch.nn.LSTM` (no dropout, bidirectional or
    projection).

    ``forward(x, (h0, c0)=None)`` -> ``(output, (h_n, c_n))``, shapes as :class:`RNN`
    (each state (L, B, H)).
    """

    cell_fn = staticmethod(lstm_cell)
    gates = 4
    state_names = ("h", "c")
