"""Cases for the loop op ``scan``: a small RNN step ``tanh(x_t W + h U + b)``, 3 steps, batch 2,
checked against an independent numpy loop (forward) and finite differences (gradient w.r.t. the
sequence, the initial state and the weights)."""
import numpy as np

from graphc.ir import Graph, TensorType, apply, source

from . import Case, rand

T, B, D, H = 3, 2, 4, 5


def _rnn_body(dtype="float64"):
    x = source("input", TensorType(dtype, ("B", D)), name="x_t")
    h = source("input", TensorType(dtype, ("B", H)), name="h")
    w = source("input", TensorType(dtype, (D, H)), name="W")
    u = source("input", TensorType(dtype, (H, H)), name="U")
    b = source("input", TensorType(dtype, (H,)), name="b")
    y = apply("tanh", apply("add", apply("add", apply("matmul", x, w),
                                         apply("matmul", h, u)), b))
    return Graph([x, h, w, u, b], [y, y], name="rnn_step")


def _numpy_rnn(xs, h0, w, u, b, backwards=False):
    ys = np.zeros(xs.shape[:2] + (H,))
    entering = np.zeros_like(ys)
    h = h0
    for t in (reversed(range(len(xs))) if backwards else range(len(xs))):
        entering[t] = h
        h = np.tanh(xs[t] @ w + h @ u + b)
        ys[t] = h
    return [ys, h, entering]


def _inputs():
    # float64 data: the body's placeholders are float64, and the gradient check runs in float64.
    return [rand(T, B, D, dtype="float64"), rand(B, H, seed=1, dtype="float64"),
            rand(D, H, seed=2, dtype="float64"), rand(H, H, seed=3, dtype="float64") * 0.5,
            rand(H, seed=4, dtype="float64")]


_ATTRS = {"n_seq": 1, "n_states": 1, "n_consts": 3, "n_outputs": 1}

CASES = [
    Case("scan", _inputs(), _numpy_rnn, attrs=dict(_ATTRS, body=_rnn_body()), name="rnn"),
    Case("scan", _inputs(), lambda *a: _numpy_rnn(*a, backwards=True),
         attrs=dict(_ATTRS, body=_rnn_body(), go_backwards=True), name="rnn-backwards"),
    # batch=True marks axis 0 of the sequence symbolic: here that is time (a length only
    # known at run time); the body's own batch dim "B" binds to the states' 2.
    Case("scan", _inputs(), _numpy_rnn, attrs=dict(_ATTRS, body=_rnn_body()), batch=True,
         name="rnn-symbolic-length"),
]
