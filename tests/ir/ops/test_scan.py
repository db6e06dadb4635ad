"""The loop op ``scan`` and the ``scan()`` builder: directions, masking, several states,
hoisting of weights out of the body, gradients (first and second order), shape errors."""
import numpy as np
import pytest

from graphc.ir import Graph, ShapeError, TensorType, Variable, apply, constant, evaluate, source
from graphc.ir.ops.control import scan
from graphc.ir.verify import verify
from graphc.ir.autodiff import gradients
from graphc.passes.manager import optimize

rng = np.random.default_rng(0)
T, B, D, H = 4, 2, 3, 5


def ph(shape, name, dtype="float64"):
    return source("input", TensorType(dtype, shape), name=name)


def tanh(x):
    return apply("tanh", x)


def sigmoid(x):
    return apply("sigmoid", x)


def numeric_grad(f, arr, eps=1e-6):
    """Central finite differences of the scalar f(arr) (float64)."""
    g = np.zeros_like(arr)
    for k in range(arr.size):
        p, m = arr.copy(), arr.copy()
        p.flat[k] += eps
        m.flat[k] -= eps
        g.flat[k] = (f(p) - f(m)) / (2 * eps)
    return g


def check_grads(loss, feeds, wrt, rtol=1e-5, atol=1e-7):
    """Autodiff gradients of ``loss`` w.r.t. placeholders ``wrt`` against finite differences."""
    got = evaluate(gradients(loss, wrt), feeds)
    for p, g in zip(wrt, got):
        def f(a, p=p):
            return float(evaluate([loss], {**feeds, p: a})[0])
        np.testing.assert_allclose(g, numeric_grad(f, feeds[p]), rtol=rtol, atol=atol,
                                   err_msg=f"gradient w.r.t. {p.name}")


def weighted_sum(*values):
    """A scalar loss in which every element of every value counts differently."""
    total = None
    for v in values:
        w = constant(np.random.default_rng(7).uniform(0.5, 1.5, size=_static(v)))
        term = apply("sum", apply("mul", v, w))
        total = term if total is None else apply("add", total, term)
    return total


def _static(v):
    return tuple(B if d == "B" else d for d in v.shape)


@pytest.fixture
def rnn():
    xs, h0 = ph((T, "B", D), "xs"), ph(("B", H), "h0")
    w, u, b = ph((D, H), "W"), ph((H, H), "U"), ph((H,), "b")
    feeds = {xs: rng.normal(size=(T, B, D)), h0: rng.normal(size=(B, H)),
             w: rng.normal(size=(D, H)), u: rng.normal(size=(H, H)) * 0.5,
             b: rng.normal(size=H)}

    def step(x, h, w_, u_, b_):
        y = tanh(x @ w_ + h @ u_ + b_)
        return [y], [y]
    return xs, h0, (w, u, b), feeds, step


def numpy_rnn(X, H0, W, U, b, order, mask=None):
    ys, h, prev = np.zeros(X.shape[:2] + (H,)), H0, np.zeros_like(H0)
    for t in order:
        new = np.tanh(X[t] @ W + h @ U + b)
        if mask is not None:
            m = mask[t][:, None]
            new = np.where(m, new, h)
            out = np.where(m, new, prev)
        else:
            out = new
        ys[t], h, prev = out, new, out
    return ys, h


# -- forward -----------------------------------------------------------------------------------

def test_rnn_forward_matches_numpy_loop(rnn):
    xs, h0, consts, feeds, step = rnn
    res = scan(step, [xs], [h0], list(consts))
    ys, hT, entering = evaluate(res.outputs + res.final_states + res.entering_states, feeds)
    exp_ys, exp_h = numpy_rnn(*feeds.values(), order=range(T))
    np.testing.assert_allclose(ys, exp_ys, rtol=1e-12)
    np.testing.assert_allclose(hT, exp_h, rtol=1e-12)
    np.testing.assert_allclose(entering[0], feeds[h0])
    np.testing.assert_allclose(entering[1:], exp_ys[:-1], rtol=1e-12)


def test_go_backwards_runs_from_the_end_and_keeps_outputs_time_aligned(rnn):
    xs, h0, consts, feeds, step = rnn
    res = scan(step, [xs], [h0], list(consts), go_backwards=True)
    ys, hT, entering = evaluate(res.outputs + res.final_states + res.entering_states, feeds)
    exp_ys, exp_h = numpy_rnn(*feeds.values(), order=reversed(range(T)))
    np.testing.assert_allclose(ys, exp_ys, rtol=1e-12)
    np.testing.assert_allclose(hT, exp_h, rtol=1e-12)
    np.testing.assert_allclose(entering[T - 1], feeds[h0])    # the first step is at time T-1


def test_cumulative_sum_scan_equals_np_cumsum():
    xs = ph((6, 3), "xs")
    s0 = ph((3,), "s0")
    data = rng.normal(size=(6, 3))
    feeds = {xs: data, s0: np.zeros(3)}

    def step(x, s):
        new = x + s
        return [new], [new]
    fwd = scan(step, [xs], [s0])
    bwd = scan(step, [xs], [s0], go_backwards=True)
    got_f, got_b, total = evaluate([fwd.outputs[0], bwd.outputs[0], fwd.final_states[0]], feeds)
    np.testing.assert_allclose(got_f, np.cumsum(data, axis=0))
    np.testing.assert_allclose(got_b, np.cumsum(data[::-1], axis=0)[::-1])
    np.testing.assert_allclose(total, data.sum(axis=0))


def test_lstm_like_step_with_two_states(rnn):
    xs, h0, _, feeds, _ = rnn
    c0 = ph(("B", H), "c0")
    kernel, rec = ph((D, 4 * H), "kernel"), ph((H, 4 * H), "recurrent")
    X, Hh = feeds[xs], feeds[h0]
    Cc, K_, R = rng.normal(size=(B, H)), rng.normal(size=(D, 4 * H)), rng.normal(size=(H, 4 * H))
    feeds = {xs: X, h0: Hh, c0: Cc, kernel: K_, rec: R * 0.5}

    def step(x, h, c, k, r):
        z = x @ k + h @ r
        i, f = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H])
        g, o = tanh(z[:, 2 * H:3 * H]), sigmoid(z[:, 3 * H:])
        c_new = f * c + i * g
        h_new = o * tanh(c_new)
        return [h_new], [h_new, c_new]
    res = scan(step, [xs], [h0, c0], [kernel, rec])
    ys, hT, cT = evaluate(res.outputs + res.final_states, feeds)

    def sig(v):
        return 1 / (1 + np.exp(-v))
    h, c = Hh, Cc
    for t in range(T):
        z = X[t] @ K_ + h @ (R * 0.5)
        c = sig(z[:, H:2 * H]) * c + sig(z[:, :H]) * np.tanh(z[:, 2 * H:3 * H])
        h = sig(z[:, 3 * H:]) * np.tanh(c)
        np.testing.assert_allclose(ys[t], h, rtol=1e-12)
    np.testing.assert_allclose(hT, h, rtol=1e-12)
    np.testing.assert_allclose(cT, c, rtol=1e-12)
    loss = weighted_sum(res.outputs[0], res.final_states[1])
    check_grads(loss, feeds, [xs, h0, c0, kernel, rec])


@pytest.mark.parametrize("go_backwards", [False, True])
def test_mask_carries_states_and_repeats_the_previous_output(rnn, go_backwards):
    xs, h0, consts, feeds, step = rnn
    m = ph((T, "B"), "mask", dtype="float64")
    mask = np.array([[1, 1], [0, 1], [1, 0], [0, 0]], dtype=np.float64)
    feeds = {**feeds, m: mask}
    res = scan(step, [xs], [h0], list(consts), mask=m, go_backwards=go_backwards)
    ys, hT = evaluate(res.outputs + res.final_states, feeds)
    order = reversed(range(T)) if go_backwards else range(T)
    exp_ys, exp_h = numpy_rnn(*[feeds[v] for v in (xs, h0) + consts], order=order,
                              mask=mask.astype(bool))
    np.testing.assert_allclose(ys, exp_ys, rtol=1e-12)
    np.testing.assert_allclose(hT, exp_h, rtol=1e-12)
    if not go_backwards:    # example 1 is masked from t=2 on: it keeps its t=1 output
        np.testing.assert_allclose(ys[3, 1], ys[1, 1])
        assert np.all(ys[3, 0] == ys[2, 0])
    check_grads(weighted_sum(res.outputs[0], res.final_states[0]), feeds,
                [xs, h0, consts[0], consts[1]])


# -- hoisting and gradients ----------------------------------------------------------------------

def test_weights_read_by_the_step_become_inputs_and_get_gradients(rnn):
    xs, h0, _, feeds, _ = rnn
    w = Variable(rng.normal(size=(D, H)), "kernel")
    wv = source("variable", TensorType("float64", (D, H)), name="kernel", var=w)
    bias = constant(np.full(H, 0.1))

    def step(x, h):
        y = tanh(x @ wv + h + bias * 2.0)      # bias * 2.0 is loop-invariant: hoisted
        return [y], [y]
    res = scan(step, [xs], [h0])
    node = res.outputs[0].node
    assert wv in node.inputs                  # the variable is a constant input of the loop
    body_ops = [n.op for n in node.attrs["body"].nodes()]
    assert "variable" not in body_ops and body_ops.count("mul") == 0
    y, = evaluate(res.outputs, feeds)
    h = feeds[h0]
    for t in range(T):
        h = np.tanh(feeds[xs][t] @ w.value + h + 0.2)
        np.testing.assert_allclose(y[t], h, rtol=1e-12)
    loss = weighted_sum(res.outputs[0])
    gw, = evaluate(gradients(loss, [wv]), feeds)

    def f(a):
        old, w.value = w.value, a
        try:
            return float(evaluate([loss], feeds)[0])
        finally:
            w.value = old
    np.testing.assert_allclose(gw, numeric_grad(f, w.value.copy()), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_gradient_through_all_outputs_matches_finite_differences(rnn, go_backwards):
    xs, h0, consts, feeds, step = rnn
    res = scan(step, [xs], [h0], list(consts), go_backwards=go_backwards)
    loss = weighted_sum(res.outputs[0], res.final_states[0], res.entering_states[0])
    check_grads(loss, feeds, [xs, h0, *consts])


def test_gradient_is_a_reversed_scan_and_product_weights_get_one_product_after_it(rnn):
    xs, h0, consts, feeds, step = rnn
    w, u, b = consts
    res = scan(step, [xs], [h0], list(consts))
    gw, gu, gb = gradients(apply("sum", res.outputs[0]), [w, u, b])
    # b is added, so its cotangent is a running sum carried by the reversed scan
    back = gb.node
    assert back.op == "scan" and back.attrs["go_backwards"] is True
    # it saves only the carried state cotangent, not T copies of the weights' running sums
    assert back.attrs["saved_states"] == (0,)
    assert all(o.shape[0] == T for o in back.outputs[:1])
    # W and U enter only through x @ W and h @ U: each cotangent is ONE product after the
    # loop, of the stacked operands (the sequence itself; the saved entering states) and the
    # stacked cotangents of the products (step outputs of the reversed scan)
    for g, operand in ((gw, xs), (gu, res.entering_states[0])):
        assert g.node.op == "matmul" and g.type == TensorType("float64", (
            operand.shape[-1], H))
        ops = {n.op for n in Graph([], [g]).nodes()}
        assert "scan" in ops and "add" not in ops
        lhs = g.node.inputs[0].node.inputs[0].node       # transpose(reshape(operand))
        assert lhs.op == "reshape" and lhs.inputs[0] is operand
        rhs = g.node.inputs[1].node.inputs[0]
        assert rhs.node is back and rhs.shape[0] == T
    assert back.attrs["n_consts"] == 3 and back.attrs["n_states"] == 2   # dh and the sum of db


def test_a_weight_used_also_outside_a_product_keeps_the_running_sum():
    xs, h0 = ph((T, "B", D), "xs"), ph(("B", D), "h0")
    w = ph((D, D), "W")
    feeds = {xs: rng.normal(size=(T, B, D)), h0: rng.normal(size=(B, D)),
             w: rng.normal(size=(D, D)) * 0.5}

    def step(x, h, w_):
        y = tanh(h @ w_ + x * apply("sum", w_, axes=(0,)))     # w also enters elementwise
        return [y], [y]
    res = scan(step, [xs], [h0], [w])
    loss = weighted_sum(res.outputs[0])
    gw, = gradients(loss, [w])
    assert gw.node.op == "scan"          # the general path: a carried accumulator
    check_grads(loss, feeds, [w, xs, h0])


def test_a_product_of_an_intermediate_is_stacked_and_matches_finite_differences():
    xs, h0 = ph((T, "B", D), "xs"), ph(("B", H), "h0")
    u, v = ph((H, H), "U"), ph((D, H), "V")
    feeds = {xs: rng.normal(size=(T, B, D)), h0: rng.normal(size=(B, H)),
             u: rng.normal(size=(H, H)) * 0.5, v: rng.normal(size=(D, H))}

    def step(x, h, u_, v_):
        a = tanh(h) * 2.0                        # the product's operand is computed in the step
        y = tanh(a @ u_ + x @ v_ + (a @ u_) * 0.5)   # and U is used twice
        return [y], [y]
    for go_backwards in (False, True):
        res = scan(step, [xs], [h0], [u, v], go_backwards=go_backwards)
        loss = weighted_sum(res.outputs[0], res.final_states[0])
        gu, = gradients(loss, [u])
        assert gu.node.op in ("matmul", "add")
        check_grads(loss, feeds, [u, v, xs, h0])


def test_second_order_gradient_matches_finite_differences_of_the_first(rnn):
    xs, h0, consts, feeds, step = rnn
    w = consts[0]
    res = scan(step, [xs], [h0], list(consts))
    gw = gradients(weighted_sum(res.outputs[0]), [w])[0]
    loss2 = weighted_sum(gw)
    check_grads(loss2, feeds, [w, xs], rtol=1e-4, atol=1e-6)


def test_graph_with_scan_and_its_gradient_verifies_prints_and_optimizes(rnn):
    xs, h0, consts, feeds, step = rnn
    res = scan(step, [xs], [h0], list(consts), name="rnn_step")
    loss = weighted_sum(res.outputs[0])
    grads = gradients(loss, [xs, *consts])
    g = Graph([xs, h0, *consts], [loss] + grads, name="rnn_train")
    verify(g)
    text = str(g)
    assert "body = graph rnn_step(" in text and "body = graph rnn_step_grad(" in text
    opt, _ = optimize(g, verify=True)
    want = evaluate(g.outputs, feeds)
    got = evaluate(opt.outputs, {v: feeds[v] for v in opt.inputs})
    for a, b_ in zip(want, got):
        np.testing.assert_allclose(b_, a, rtol=1e-12)


def test_zero_steps_give_empty_stacks_and_the_initial_state(rnn):
    xs, h0, consts, feeds, step = rnn
    res = scan(step, [xs], [h0], list(consts))
    ys, hT = evaluate(res.outputs + res.final_states, {**feeds, xs: np.zeros((0, B, D))})
    assert ys.shape == (0, B, H)
    np.testing.assert_allclose(hT, feeds[h0])


# -- errors ---------------------------------------------------------------------------------------

def _cumsum_body(dtype="float64"):
    x, s = ph((3,), "x", dtype), ph((3,), "s", dtype)
    new = x + s
    return Graph([x, s], [new, new])


def test_shape_errors_name_the_problem():
    xs, s0 = ph((6, 3), "xs"), ph((3,), "s0")
    body = _cumsum_body()
    attrs = dict(body=body, n_seq=1, n_states=1, n_consts=0, n_outputs=1)
    with pytest.raises(ShapeError, match=r"one step of sequence 0 .* is f32\[3\] but the "
                                         r"body's placeholder for it is f64\[3\]"):
        apply("scan", ph((6, 3), "xs32", "float32"), s0, **attrs)
    with pytest.raises(ShapeError, match=r"state 0 is f64\[4\] but .*axis 0: 4 vs 3"):
        apply("scan", xs, ph((4,), "s4"), **attrs)
    with pytest.raises(ShapeError, match="body returns 2 values but n_outputs \\+ n_states"):
        apply("scan", xs, s0, **dict(attrs, n_outputs=2))
    with pytest.raises(ShapeError, match="got 3 inputs but n_seq \\+ n_states"):
        apply("scan", xs, s0, s0, **attrs)
    with pytest.raises(ShapeError, match="must be a graphc.ir.Graph"):
        apply("scan", xs, s0, **dict(attrs, body=None))
    with pytest.raises(ShapeError, match="different lengths"):
        x2, s2 = ph((3,), "x2"), ph((3,), "s2")
        two = Graph([x2, ph((3,), "y"), s2], [x2 + s2, x2 + s2])
        apply("scan", xs, ph((5, 3), "ys"), s0, body=two, n_seq=2, n_states=1)


def test_a_state_must_keep_its_shape():
    x, s = ph((3,), "x"), ph((3,), "s")
    grow = Graph([x, s], [x, apply("sum", s * x)])          # new state: f64[] instead of [3]
    with pytest.raises(ShapeError, match=r"returns f64\[\] as the new value of state 0"):
        apply("scan", ph((6, 3), "xs"), ph((3,), "s0"), body=grow, n_states=1)


def test_random_ops_and_foreign_placeholders_in_a_body_are_refused():
    x, s = ph((3,), "x"), ph((3,), "s")
    noise = apply("random_uniform", x, minval=0.0, maxval=1.0, seed=1)
    with pytest.raises(ShapeError, match="random op 'random_uniform'.*not supported"):
        apply("scan", ph((6, 3), "xs"), ph((3,), "s0"),
              body=Graph([x, s], [noise, s + noise]), n_states=1)
    other = ph((3,), "other")
    with pytest.raises(ShapeError, match="reads the placeholder 'other'.*not one of its "
                                         "inputs"):
        apply("scan", ph((6, 3), "xs"), ph((3,), "s0"),
              body=Graph([x, s], [x, s + other]), n_states=1)
    with pytest.raises(ShapeError, match="random op 'random_uniform'.*draw the random tensor "
                                         "outside"):
        scan(lambda xt, st: ([xt], [st + apply("random_uniform", xt, seed=2)]),
             [ph((6, 3), "xs")], [ph((3,), "s0")])


def test_builder_errors():
    xs, s0 = ph((6, 3), "xs"), ph((3,), "s0")
    with pytest.raises(ValueError, match="returned 2 new states for 1 initial states"):
        scan(lambda x, s: ([x], [s, s]), [xs], [s0])
    with pytest.raises(TypeError, match="must return \\(outputs, new_states\\)"):
        scan(lambda x, s: x + s, [xs], [s0])
    with pytest.raises(ValueError, match="at least one sequence"):
        scan(lambda s: ([s], [s]), [], [s0])
