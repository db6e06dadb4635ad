"""The IR text form: a golden dump, determinism, and parse() round trips."""
import numpy as np
import pytest

from graphc import backend as K
from graphc.ir import Graph, TensorType, apply, source
from graphc.ir.node import name_scope
from graphc.ir.printer import ParseError, constant_values, format_graph, parse
from graphc.ir.verify import verify


def mlp_loss_graph():
    x = K.placeholder(shape=(None, 784), name="x")
    y = K.placeholder(shape=(None, 10), name="y")
    rng = np.random.default_rng(0)
    with name_scope("dense_1"):
        w1 = K.variable(rng.normal(size=(784, 32)) * 0.01, name="W1")
        b1 = K.variable(np.zeros(32), name="b1")
        h = K.relu(K.dot(x, w1) + b1)
    with name_scope("dense_2"):
        w2 = K.variable(rng.normal(size=(32, 10)) * 0.1, name="W2")
        b2 = K.variable(np.zeros(10), name="b2")
        out = K.dot(h, w2) + b2
    with name_scope("loss"):
        loss = K.mean(K.categorical_crossentropy(y, out, from_logits=True))
    return Graph([x, y], [loss], name="mlp_loss"), (x, y), (w1, b1, w2, b2), loss


GOLDEN = """\
graph mlp_loss(x: f32[B,784], y: f32[B,10]; dense_1/W1: f32[784,32], dense_1/b1: f32[32], \
dense_2/W2: f32[32,10], dense_2/b2: f32[10]) {
  %0: f32[B,32] = dot(x, dense_1/W1)                     # dense_1
  %1: f32[B,32] = add(%0, dense_1/b1)                    # dense_1
  %2: f32[B,32] = relu(%1)                               # dense_1
  %3: f32[B,10] = dot(%2, dense_2/W2)                    # dense_2
  %4: f32[B,10] = add(%3, dense_2/b2)                    # dense_2
  %5: f32[B]    = softmax_cross_entropy(%4, y) {axis=1}  # loss
  %6: f32[]     = mean(%5) {axes=(0,)}                   # loss
  return %6
}"""


def test_mlp_forward_and_loss_matches_golden_text():
    K.clear_session()
    graph, *_ = mlp_loss_graph()
    assert format_graph(graph) == GOLDEN
    assert str(graph) == GOLDEN


def test_dump_is_deterministic_across_builds():
    K.clear_session()
    a = format_graph(mlp_loss_graph()[0])
    K.clear_session()
    b = format_graph(mlp_loss_graph()[0])
    assert a == b


def test_source_option_adds_file_and_line():
    K.clear_session()
    text = format_graph(mlp_loss_graph()[0], source=True)
    assert "# dense_1 @ test_printer.py:" in text


def test_users_count_printed_when_more_than_one():
    x = K.placeholder(shape=(None, 3), name="x")
    h = K.exp(x)
    text = format_graph(Graph([x], [h * h + h]))
    line = [ln for ln in text.splitlines() if "exp(x)" in ln][0]
    assert "#users=2" in line


def test_small_constants_inline_and_large_ones_are_named():
    x = K.placeholder(shape=(None, 3), name="x")
    small = K.constant([1.0, 2.0, 3.0])
    big = K.constant(np.arange(12).reshape(4, 3))
    ints = K.constant([1, 2, 3], dtype="int32")
    g = Graph([x], [x * small + K.sum(big, axis=0), K.cast(x, "int32") + ints])
    text = format_graph(g)
    assert "mul(x, [1.0, 2.0, 3.0])" in text
    assert "const c0: f32[4,3]" in text and "sum(c0)" in text
    assert "[1, 2, 3]:i32" in text
    full = format_graph(g, full_constants=True)
    assert "const c0: f32[4,3] = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]" in full
    # a large constant without a value needs `constants=`
    with pytest.raises(ParseError, match="constant 'c0'"):
        parse(text)
    assert format_graph(parse(text, constants=constant_values(g))) == text
    assert format_graph(parse(full), full_constants=True) == full


def _roundtrip(graph, **kw):
    text = format_graph(graph, **kw)
    again = parse(text, constants=constant_values(graph))
    verify(again)
    assert format_graph(again, **kw) == text
    return again


def test_round_trip_of_the_mlp_and_of_its_gradient_graph():
    K.clear_session()
    graph, (x, y), params, loss = mlp_loss_graph()
    _roundtrip(graph)
    _roundtrip(graph, source=True)
    grads = K.gradients(loss, list(params))
    train = Graph([x, y], [loss] + grads,
                  [(p, p - 0.1 * g) for p, g in zip(params, grads)], name="train")
    text = format_graph(train)
    assert "update dense_1/W1 <- %" in text
    again = _roundtrip(train)
    assert len(again.updates) == 4


def test_parsed_graph_computes_the_same_values():
    K.clear_session()
    graph, (x, y), params, loss = mlp_loss_graph()
    variables = {p.name: p for p in params}
    again = parse(format_graph(graph), variables=variables)
    rng = np.random.default_rng(1)
    xs = rng.normal(size=(5, 784)).astype("float32")
    ys = np.eye(10, dtype="float32")[rng.integers(0, 10, 5)]
    f1 = K.function([x, y], [loss], mode="reference")
    from graphc.ir import evaluate
    want = f1([xs, ys])[0]
    got = evaluate(again.outputs, dict(zip(again.inputs, [xs, ys])))[0]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # variables not given are created zero-filled, by name
    fresh = parse(format_graph(graph))
    w = [v for v in fresh.variables() if v.name == "dense_1/W1"][0]
    assert not np.any(w.variable.value) and w.variable.value.shape == (784, 32)


def test_multi_output_node_and_nested_subgraph_round_trip():
    a = source("input", TensorType("float32", ("B", 4)), name="a")
    body = Graph([a], [apply("tanh", a * 2.0), apply("exp", a)], name="region")
    x = K.placeholder(shape=(None, 4), name="x")
    t, e = apply("fused", K.square(x), body=body)
    g = Graph([x], [t + e], name="outer")
    text = format_graph(g)
    assert "%1: f32[B,4], %2: f32[B,4] = fused(%0)" in text
    assert "    body = graph region(a: f32[B,4]) {" in text
    again = _roundtrip(g)
    xs = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    from graphc.ir import evaluate
    np.testing.assert_allclose(evaluate(again.outputs, {again.inputs[0]: xs})[0],
                               np.tanh(2 * xs ** 2) + np.exp(xs ** 2), rtol=1e-5)


def test_literals_of_every_kind_round_trip():
    x = K.placeholder(shape=(2,), name="x")
    consts = [K.constant(np.float64(0.1), dtype="float64"), K.constant(np.inf),
              K.constant(-np.inf), K.constant([True, False], dtype="bool"),
              K.constant(np.uint8(7), dtype="uint8"), K.constant(np.zeros(0))]
    outs = [x * c for c in consts[:3]] + [apply("where", consts[3], x, x)] + consts[4:]
    g = Graph([x], outs)
    text = format_graph(g)
    assert "0.1:f64" in text and "-inf" in text and "[True, False]" in text
    assert "7:u8" in text and "[]:f32" in text
    _roundtrip(g)


def test_update_and_outputs_that_are_sources():
    w = K.variable(np.ones(3), name="w")
    x = K.placeholder(shape=(3,), name="x")
    g = Graph([x], [x, w, K.constant(2.0)], [(w, x)])
    text = format_graph(g)
    assert "update w <- x" in text and "return x, w, 2.0" in text
    _roundtrip(g)


def test_parse_errors_name_the_line():
    with pytest.raises(ParseError, match="line 2: unknown op 'nope'"):
        parse("graph g(x: f32[3]) {\n  %0: f32[3] = nope(x)\n  return %0\n}")
    with pytest.raises(ParseError, match="unknown name 'y'"):
        parse("graph g(x: f32[3]) {\n  %0: f32[3] = exp(y)\n  return %0\n}")
    with pytest.raises(ParseError, match="missing closing"):
        parse("graph g(x: f32[3]) {\n  return x\n")
    with pytest.raises(ParseError, match="holds float32\\[2\\]"):
        parse("graph g(; w: f32[3]) {\n  return w\n}", variables={"w": np.zeros(2, "f4")})
