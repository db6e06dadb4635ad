"""Elementwise family: scalar templates against the references, dtype rules, operators on
Values, shape errors, gradient conventions, and broadcasting properties (hypothesis)."""
from __future__ import annotations

import ast

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from graphc.ir import REGISTRY, ShapeError, TensorType, apply, as_value, evaluate, source
from graphc.ir.autodiff import gradients

from ..op_cases import elementwise as ew_cases

FAMILY_OPS = sorted(
    "sub mul div neg exp floordiv mod pow square sqrt rsqrt abs sign round floor ceil log log1p "
    "expm1 sin cos tanh sigmoid hard_sigmoid relu elu selu softplus softsign clip maximum "
    "minimum equal not_equal less less_equal greater greater_equal logical_and logical_or "
    "logical_xor logical_not where reciprocal".split())
BOOL_OPS = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
            "logical_and", "logical_or", "logical_xor", "logical_not"}
CASES = [c for c in ew_cases.CASES if c.op in FAMILY_OPS]

_BINARY = {"sub", "mul", "div", "floordiv", "mod", "pow", "maximum", "minimum", "equal",
           "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
           "logical_or", "logical_xor"}


def inp(shape, dtype="float32", name="x"):
    return source("input", TensorType(dtype, shape), name=name)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# The template vocabulary of graphc/ir/ops/elementwise.py, mapped to numpy; nothing else is in
# scope (no builtins), so a template that uses another name fails with NameError.
NAMESPACE = {
    "__builtins__": {}, "f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64,
    "b1": np.bool_, "min": min, "max": max, "abs": abs, "exp": np.exp, "log": np.log,
    "tanh": np.tanh, "sigmoid": _sigmoid, "log1p": np.log1p, "expm1": np.expm1,
    "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "floor": np.floor, "ceil": np.ceil,
    "rint": np.rint, "sign": np.sign, "pow": np.power,
}


def _node_for(case):
    xs = [inp(np.shape(a), np.asarray(a).dtype.name, f"x{i}") for i, a in enumerate(case.inputs)]
    return apply(case.op, *xs, **case.attrs).node


def test_family_ops_are_registered_as_elementwise():
    for op in FAMILY_OPS:
        assert op in REGISTRY, f"missing op {op}"
        assert REGISTRY[op].kind == "elementwise"
        assert REGISTRY[op].scalar is not None


# -- scalar templates --------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_scalar_template_matches_reference(case):
    node = _node_for(case)
    opdef = REGISTRY[case.op]
    names = [f"a{i}" for i in range(len(case.inputs))]
    template = opdef.scalar(names, **node.attrs)
    code = compile(template, f"<{case.op} template>", "eval")
    arrays = [np.asarray(a) for a in case.inputs]
    expected = opdef.reference(*arrays, **node.attrs)
    out_dtype = node.outputs[0].dtype
    all_f32 = all(a.dtype == np.float32 for a in arrays)
    elems = np.broadcast_arrays(*arrays)
    with np.errstate(all="ignore"):
        for idx in np.ndindex(expected.shape):
            scalars = {n: e[idx] for n, e in zip(names, elems)}   # numpy scalars
            got = eval(code, NAMESPACE, scalars)
            if all_f32:   # no float64 creep inside the template itself
                assert np.asarray(got).dtype.name == out_dtype, \
                    f"{case.op}: template {template!r} gives {np.asarray(got).dtype}"
            got = np.asarray(got).astype(out_dtype)
            np.testing.assert_allclose(got, expected[idx], rtol=1e-5, atol=1e-6,
                                       err_msg=f"{case.op} template {template!r} at {scalars}")


def _self_delimited(t: str) -> bool:
    """``(...)`` or ``name(...)`` where the first '(' is closed by the last character."""
    i = t.find("(")
    if i < 0 or not t.endswith(")") or not (i == 0 or t[:i].isidentifier()):
        return False
    depth = 0
    for k, ch in enumerate(t[i:], start=i):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return k == len(t) - 1
    return False


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_scalar_template_nests_by_substitution(case):
    node = _node_for(case)
    template = REGISTRY[case.op].scalar([f"a{i}" for i in range(len(case.inputs))],
                                        **node.attrs)
    assert _self_delimited(template), f"{case.op}: {template!r} is not parenthesised"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_scalar_template_constants_are_wrapped_in_casts(case):
    # numpy keeps float32 * 0.5 in float32 (NEP 50) but numba widens it to float64, so the
    # evaluation test above cannot see a bare literal: check the syntax instead.
    node = _node_for(case)
    template = REGISTRY[case.op].scalar([f"a{i}" for i in range(len(case.inputs))],
                                        **node.attrs)
    tree = ast.parse(template, mode="eval")
    wrapped = {id(n.args[0]) for n in ast.walk(tree)
               if isinstance(n, ast.Call) and getattr(n.func, "id", "") in ("f32", "f64")
               and n.args and isinstance(n.args[0], (ast.Constant, ast.UnaryOp))}
    wrapped |= {id(n.args[0].operand) for n in ast.walk(tree)
                if isinstance(n, ast.Call) and id(n.args[0]) in wrapped
                and isinstance(n.args[0], ast.UnaryOp)}
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)):
            assert id(n) in wrapped, f"{case.op}: bare constant {n.value!r} in {template!r}"


def test_template_substitution_of_a_compound_argument():
    # neg(sub(a, b)) as text: must be -(a - b), not -a - b
    inner = REGISTRY["sub"].scalar(["a0", "a1"])
    outer = REGISTRY["neg"].scalar([inner])
    assert eval(outer, NAMESPACE, {"a0": np.float32(3), "a1": np.float32(1)}) == -2
    relu = REGISTRY["relu"].scalar([inner], alpha=0.5, max_value=None, threshold=0.0)
    assert eval(relu, NAMESPACE, {"a0": np.float32(1), "a1": np.float32(3)}) == -1


# -- dtype rules -------------------------------------------------------------------------------

@pytest.mark.parametrize("op", FAMILY_OPS)
def test_float32_inputs_and_python_constants_stay_float32(op):
    x = inp((2, 3))
    nin = {"where": 3}.get(op, 2 if op in _BINARY else 1)
    if op == "where":
        args = [x > 0.5, x, as_value(0.25, like=x)]
    elif nin == 2:
        args = [x, as_value(1.5, like=x)]
    else:
        args = [x]
    y = apply(op, *args)
    want = "bool" if op in BOOL_OPS else "float32"
    assert y.dtype == want
    feed = {x: np.linspace(0.1, 2.0, 6, dtype=np.float32).reshape(2, 3)}
    (val,) = evaluate([y], feed)
    assert val.dtype.name == want
    # the reference alone (no interpreter cast) already returns the stated dtype
    arrays = [feed[x] if a is x else evaluate([a], feed)[0] for a in args]
    assert np.asarray(REGISTRY[op].reference(*arrays, **y.node.attrs)).dtype.name == want


@pytest.mark.parametrize("op,dtype", [
    ("sub", "int32"), ("mul", "int32"), ("floordiv", "int32"), ("mod", "int32"),
    ("pow", "int32"), ("maximum", "int32"), ("minimum", "int32"), ("div", "float32"),
])
def test_integer_binary_dtype_rules(op, dtype):
    a, b = inp((4,), "int32", "a"), inp((4,), "int32", "b")
    y = apply(op, a, b)
    assert y.dtype == dtype
    (val,) = evaluate([y], {a: np.array([7, -7, 3, 9], np.int32),
                            b: np.array([2, 2, 3, 1], np.int32)})
    assert val.dtype.name == dtype
    want = {"div": np.array([3.5, -3.5, 1, 9]), "floordiv": np.array([3, -4, 1, 9]),
            "mod": np.array([1, 1, 0, 0])}.get(op)
    if want is not None:
        np.testing.assert_array_equal(val, want)


@pytest.mark.parametrize("op", ["sqrt", "rsqrt", "exp", "log", "log1p", "expm1", "sin", "cos",
                                "tanh", "sigmoid", "hard_sigmoid", "relu", "elu", "selu",
                                "softplus", "softsign", "reciprocal"])
def test_float_valued_ops_give_float32_for_int32(op):
    x = inp((3,), "int32")
    y = apply(op, x)
    assert y.dtype == "float32"
    (val,) = evaluate([y], {x: np.array([1, 2, 3], np.int32)})
    assert val.dtype == np.float32
    f = inp((3,), "float32", "f")
    (want,) = evaluate([apply(op, f)], {f: np.array([1, 2, 3], np.float32)})
    np.testing.assert_allclose(val, want, rtol=1e-6)


@pytest.mark.parametrize("op", ["neg", "abs", "square", "sign", "round", "floor", "ceil"])
def test_integer_unary_ops_keep_integer_dtype(op):
    x = inp((3,), "int32")
    y = apply(op, x)
    (val,) = evaluate([y], {x: np.array([-2, 0, 5], np.int32)})
    assert y.dtype == "int32" and val.dtype == np.int32


def test_float64_is_kept_and_mixed_floats_widen():
    a, b = inp((2,), "float64", "a"), inp((2,), "float32", "b")
    assert apply("mul", a, b).dtype == "float64"
    assert apply("relu", a).dtype == "float64"
    assert apply("div", inp((2,), "float16", "h"), b).dtype == "float32"


# -- operators on Values -----------------------------------------------------------------------

def test_python_operators_build_the_right_ops_and_keep_dtypes():
    x, y = inp((3, 4), name="x"), inp((4,), name="y")
    expect = {
        "x + 1": ("add", "float32"), "2 * x": ("mul", "float32"), "x * 2.5": ("mul", "float32"),
        "x ** 2": ("pow", "float32"), "2 ** x": ("pow", "float32"), "-x": ("neg", "float32"),
        "x / y": ("div", "float32"), "1 / x": ("div", "float32"), "x - y": ("sub", "float32"),
        "1.5 - x": ("sub", "float32"), "x // 2": ("floordiv", "float32"),
        "x % 2": ("mod", "float32"), "abs(x)": ("abs", "float32"), "x < y": ("less", "bool"),
        "x <= 0.5": ("less_equal", "bool"), "x > y": ("greater", "bool"),
        "x >= y": ("greater_equal", "bool"), "(x > 0) & (y < 0)": ("logical_and", "bool"),
        "(x > 0) | (y < 0)": ("logical_or", "bool"), "(x > 0) ^ (y < 0)": ("logical_xor", "bool"),
        "~(x > 0)": ("logical_not", "bool"),
    }
    for expr, (op, dtype) in expect.items():
        v = eval(expr, {"x": x, "y": y})
        assert (v.op, v.dtype) == (op, dtype), expr
        assert v.shape == (3, 4), expr
        for i in v.node.inputs:
            if i.op == "constant" and i.dtype.startswith("float"):
                assert i.dtype == "float32", f"{expr}: constant {i.type}"
    # reversed operands keep their order
    assert (1.5 - x).node.inputs[1] is x and (2 ** x).node.inputs[1] is x


def test_python_operators_compute_like_numpy():
    x, y = inp((3, 4), name="x"), inp((4,), name="y")
    xv = ew_cases.pos(3, 4)
    yv = ew_cases.rand(4, seed=1)
    exprs = ["x + 1", "2 * x", "x ** 2", "-x", "x / y", "1 / x", "x // 0.5", "x % 0.5",
             "(x > 1) & (y < 0)", "~(x > 1)", "(x > 1) | (y > 0)"]
    outs = [eval(e, {"x": x, "y": y}) for e in exprs]
    got = evaluate(outs, {x: xv, y: yv})
    for e, g in zip(exprs, got):
        want = eval(e, {"x": xv, "y": yv})
        assert g.dtype == want.dtype, e
        np.testing.assert_allclose(g, want, rtol=1e-6, err_msg=e)


def test_integer_value_operators():
    i = inp((3,), "int32", "i")
    assert (i / 2).dtype == "float32"
    assert (i // 2).dtype == "int32" and (i % 2).dtype == "int32"
    assert (i * 2).dtype == "int32" and (i ** 2).dtype == "int32"
    assert (i * 1.5).dtype == "float32"
    (v,) = evaluate([i / 2], {i: np.array([1, 2, 3], np.int32)})
    np.testing.assert_array_equal(v, np.array([0.5, 1, 1.5], np.float32))


# -- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", sorted(_BINARY))
def test_shape_error_names_the_op_and_both_shapes(op):
    a, b = inp((3, 4), name="a"), inp((5,), name="b")
    with pytest.raises(ShapeError) as err:
        apply(op, a, b)
    msg = str(err.value)
    assert op in msg and "[3,4]" in msg and "[5]" in msg


def test_where_shape_error_names_all_three_shapes():
    with pytest.raises(ShapeError, match=r"where: .*\[2\].*\[3\].*\[4\]"):
        apply("where", inp((2,), "bool", "c"), inp((3,), name="a"), inp((4,), name="b"))


def test_symbolic_batch_broadcasts_against_known_dims():
    a, b = inp(("B", 1, 4), name="a"), inp((3, 1), name="b")
    assert apply("mul", a, b).shape == ("B", 3, 4)
    assert apply("where", inp(("B", 1), "bool", "c"), a, b).shape == ("B", 3, 4)


def test_bad_attributes_are_clear_errors():
    x = inp((3,))
    with pytest.raises(TypeError, match="relu: attribute 'alpha' must be a number"):
        apply("relu", x, alpha="0.1")
    with pytest.raises(TypeError, match="clip: attribute 'max'"):
        apply("clip", x, min=0.0, max=[1.0])
    with pytest.raises(TypeError, match="unknown attribute"):
        apply("elu", x, beta=1.0)


def test_arithmetic_on_bool_is_a_build_time_error():
    b = inp((3,), "bool", "b")
    with pytest.raises(ShapeError, match="neg: got a bool input"):
        -b
    with pytest.raises(ShapeError, match="sub: got a bool input"):
        b - b


# -- attribute normalisation -------------------------------------------------------------------

def test_relu_attributes_are_canonical_floats():
    x = inp((3,))
    assert apply("relu", x, max_value=6).node.attrs == \
        apply("relu", x, max_value=6.0).node.attrs == \
        {"alpha": 0.0, "max_value": 6.0, "threshold": 0.0}


def test_clip_with_max_below_min_clips_to_min_like_keras():
    x = inp((3,))
    y = apply("clip", x, min=2, max=1)
    assert y.node.attrs == {"min": 2.0, "max": 2.0}
    (v,) = evaluate([y], {x: np.array([0, 2, 5], np.float32)})
    np.testing.assert_array_equal(v, [2, 2, 2])


def test_round_is_half_to_even_like_np_round():
    x = inp((8,))
    data = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4999, 2.5001], np.float32)
    (v,) = evaluate([apply("round", x)], {x: data})
    np.testing.assert_array_equal(v, np.round(data))


# -- gradient conventions ----------------------------------------------------------------------

def _grads(y, xs, feed, weights=None):
    loss = apply("sum", y if weights is None else y * weights)
    return evaluate(gradients(loss, xs), feed)


def test_maximum_and_minimum_give_ties_to_the_first_input():
    a, b = inp((3,), "float64", "a"), inp((3,), "float64", "b")
    feed = {a: np.array([1.0, 2.0, 3.0]), b: np.array([1.0, 5.0, 0.0])}
    ga, gb = _grads(apply("maximum", a, b), [a, b], feed)
    np.testing.assert_array_equal(ga, [1, 0, 1])
    np.testing.assert_array_equal(gb, [0, 1, 0])
    ga, gb = _grads(apply("minimum", a, b), [a, b], feed)
    np.testing.assert_array_equal(ga, [1, 1, 0])
    np.testing.assert_array_equal(gb, [0, 0, 1])


@pytest.mark.parametrize("op", ["sign", "round", "floor", "ceil"])
def test_step_functions_have_zero_not_missing_gradients(op):
    x = inp((3,), "float64")
    g = gradients(apply("sum", apply(op, x)), [x], unconnected="none")[0]
    assert g is not None
    np.testing.assert_array_equal(evaluate([g], {x: np.array([0.3, -1.7, 2.2])})[0], 0)


def test_floordiv_has_zero_gradient_for_both_float_inputs():
    a, b = inp((3,), "float64", "a"), inp((1,), "float64", "b")
    ga, gb = _grads(apply("floordiv", a, b), [a, b],
                    {a: np.array([1.3, -2.2, 5.1]), b: np.array([0.7])})
    assert ga.shape == (3,) and gb.shape == (1,)
    assert not ga.any() and not gb.any()


def test_comparisons_and_logic_have_no_gradient():
    a, b = inp((3,), name="a"), inp((3,), name="b")
    for op in ("less", "equal", "greater_equal", "logical_and"):
        node = apply(op, a, b).node
        assert REGISTRY[op].grad(node, [inp((3,), name="g")]) == [None, None]


def test_pow_b_gradient_is_zero_for_non_positive_bases():
    a, b = inp((3,), "float64", "a"), inp((3,), "float64", "b")
    feed = {a: np.array([-2.0, 0.0, 2.0]), b: np.array([2.0, 2.0, 3.0])}
    ga, gb = _grads(apply("pow", a, b), [a, b], feed)
    np.testing.assert_allclose(ga, [-4.0, 0.0, 12.0])
    np.testing.assert_allclose(gb, [0.0, 0.0, 8.0 * np.log(2.0)])
    assert np.isfinite(gb).all()


def test_clip_gradient_passes_inside_inclusive():
    x = inp((5,), "float64")
    feed = {x: np.array([-2.0, -1.0, 0.3, 1.0, 4.0])}
    (g,) = _grads(apply("clip", x, min=-1.0, max=1.0), [x], feed)
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 0])


def test_stable_activations_have_finite_gradients_at_large_inputs():
    x = inp((4,), "float32")
    feed = {x: np.array([-500.0, -90.0, 90.0, 500.0], np.float32)}
    for op in ("sigmoid", "softplus", "tanh", "elu", "selu", "softsign"):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            (y,) = evaluate([apply(op, x)], feed)
        (g,) = _grads(apply(op, x), [x], feed)
        assert np.isfinite(y).all() and np.isfinite(g).all(), op
        assert g.dtype == np.float32


@pytest.mark.parametrize("op,attrs", [("tanh", {}), ("sigmoid", {}), ("softplus", {}),
                                      ("elu", {"alpha": 0.7}), ("selu", {}), ("softsign", {}),
                                      ("sin", {}), ("rsqrt", {}), ("log1p", {}),
                                      ("relu", {"alpha": 0.3, "max_value": 2.0})])
def test_second_order_gradient_matches_finite_differences(op, attrs):
    x = inp((5,), "float64")
    xv = np.array([0.3, 0.9, 1.7, 0.45, 1.2])
    if op not in ("rsqrt", "log1p", "relu"):
        xv = xv - 0.85   # include negative inputs where the op is defined there
    w = np.linspace(0.5, 1.5, 5)
    (g,) = gradients(apply("sum", apply(op, x, **attrs)), [x])
    (gg,) = gradients(apply("sum", g * w), [x])
    got = evaluate([gg], {x: xv})[0]
    eps = 1e-6
    num = np.zeros_like(xv)
    for k in range(xv.size):
        p, m = xv.copy(), xv.copy()
        p[k] += eps
        m[k] -= eps
        num[k] = np.sum((evaluate([g], {x: p})[0] - evaluate([g], {x: m})[0]) * w) / (2 * eps)
    np.testing.assert_allclose(got, num, rtol=1e-4, atol=1e-6)


# -- broadcasting properties -------------------------------------------------------------------

PROPERTY_OPS = {"sub": np.subtract, "mul": np.multiply, "maximum": np.maximum,
                "greater": np.greater, "pow": np.power}


@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3),
       op=st.sampled_from(sorted(PROPERTY_OPS)), seed=st.integers(0, 2 ** 16))
def test_broadcasting_matches_numpy_and_gradients_unbroadcast(shapes, op, seed):
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(seed)
    av = rng.uniform(0.5, 2.0, size=sa)
    bv = rng.uniform(-1.5, 1.5, size=sb)
    a, b = inp(sa, "float64", "a"), inp(sb, "float64", "b")
    y = apply(op, a, b)
    assert y.shape == shapes.result_shape
    (val,) = evaluate([y], {a: av, b: bv})
    np.testing.assert_allclose(val, PROPERTY_OPS[op](av, bv), rtol=1e-12)
    if op != "greater":
        ga, gb = _grads(y, [a, b], {a: av, b: bv})
        assert ga.shape == sa and gb.shape == sb
        if op == "sub":   # d/da sum(a - b) = number of broadcast copies of each a element
            np.testing.assert_allclose(ga, np.full(sa, val.size / max(av.size, 1)))
            np.testing.assert_allclose(gb, np.full(sb, -val.size / max(bv.size, 1)))


@settings(max_examples=40, deadline=None)
@given(sa=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3),
       sb=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3),
       op=st.sampled_from(["sub", "minimum", "less", "logical_or", "mod"]))
def test_shape_inference_agrees_with_numpy_on_random_shape_pairs(sa, sb, op):
    a, b = inp(sa, name="a"), inp(sb, name="b")
    try:
        want = np.broadcast_shapes(sa, sb)
    except ValueError:
        with pytest.raises(ShapeError, match=op):
            apply(op, a, b)
    else:
        assert apply(op, a, b).shape == want
