"""The verifier accepts well-formed graphs and names the node of each broken invariant."""
import numpy as np
import pytest

from graphc import backend as K
from graphc.ir import Graph, Node, TensorType, apply, source
from graphc.ir.node import Variable
from graphc.ir.verify import VerifyError, verify


@pytest.fixture(autouse=True)
def _fresh_names():
    K.clear_session()


def _x():
    return K.placeholder(shape=(None, 3), name="x")


def test_a_training_graph_verifies():
    x = _x()
    w = K.variable(np.ones((3, 2)), name="w")
    loss = K.mean(K.square(K.dot(x, w)))
    (g,) = K.gradients(loss, [w])
    assert verify(Graph([x], [loss], [(w, w - 0.1 * g)])) is not None


def test_wrong_output_type_names_the_node():
    x = _x()
    bad = Node("exp", [x], {}, [TensorType("float32", ("B", 4))])
    with pytest.raises(VerifyError, match=r"node exp .*output types f32\[B,4\] differ from "
                                          r"f32\[B,3\]"):
        verify(Graph([x], [bad.outputs[0]]))


def test_attribute_names_must_match_the_op_defaults():
    x = _x()
    bad = Node("sum", [x], {"axes": (0,)}, [TensorType("float32", (3,))])
    with pytest.raises(VerifyError, match=r"node sum .*missing \['keepdims'\]"):
        verify(Graph([x], [bad.outputs[0]]))
    bad = Node("exp", [x], {"alpha": 1}, [x.type])
    with pytest.raises(VerifyError, match=r"unknown \['alpha'\]"):
        verify(Graph([x], [bad.outputs[0]]))


def test_placeholder_not_among_inputs_is_reported():
    x, y = _x(), K.placeholder(shape=(None, 3), name="y")
    with pytest.raises(VerifyError, match="placeholder 'y' .* not one of the graph's inputs"):
        verify(Graph([x], [x + y]))


def test_cycle_is_reported():
    x = _x()
    a = apply("exp", x)
    b = apply("tanh", a)
    a.node.inputs = (b,)          # break immutability on purpose: a <- b <- a
    with pytest.raises(VerifyError, match="cycle"):
        verify(Graph([x], [b]))


def test_input_not_produced_by_its_claimed_node():
    x = _x()
    y = apply("exp", x)
    stray = type(y)(y.type, y.node, 0)   # a Value the node does not list as its output
    bad = Node("tanh", [stray], {}, [y.type])
    with pytest.raises(VerifyError, match="node tanh .*not an output"):
        verify(Graph([x], [bad.outputs[0]]))


def test_update_target_must_be_a_variable_of_matching_type():
    x = _x()
    w = K.variable(np.ones(3), name="w")
    with pytest.raises(VerifyError, match="targets a exp, not a variable"):
        verify(Graph([x], [], [(K.exp(w), w)]))
    with pytest.raises(VerifyError, match=r"update of variable 'w' \(f32\[3\]\) has type "
                                          r"f64\[3\]"):
        verify(Graph([x], [], [(w, K.cast(w, "float64"))]))
    with pytest.raises(VerifyError, match=r"has type f32\[4\]"):
        verify(Graph([x], [], [(w, K.constant(np.ones(4)))]))


def test_duplicate_update_of_one_variable():
    w = K.variable(np.ones(3), name="w")
    with pytest.raises(VerifyError, match="variable 'w' is updated twice"):
        verify(Graph([], [], [(w, w + 1.0), (w, w * 2.0)]))


def test_variable_storage_must_match_its_type():
    v = source("variable", TensorType("float32", (3,)), name="v",
               var=Variable(np.zeros(4, "float32"), "v"))
    with pytest.raises(VerifyError, match=r"variable 'v' is typed f32\[3\] but holds "
                                          r"float32\[4\]"):
        verify(Graph([], [v]))


def test_unregistered_op():
    x = _x()
    bad = Node("frobnicate", [x], {}, [x.type])
    with pytest.raises(VerifyError, match="'frobnicate' is not registered"):
        verify(Graph([x], [bad.outputs[0]]))


def test_broken_subgraph_is_reported_through_its_node():
    a = source("input", TensorType("float32", ("B", 3)), name="a")
    bad = Node("exp", [a], {}, [TensorType("float64", ("B", 3))])
    body = Graph([a], [bad.outputs[0]])
    x = _x()
    node = Node("fused", [x], {"body": body}, [TensorType("float64", ("B", 3))])
    with pytest.raises(VerifyError, match="sub-graph 'body': node exp"):
        verify(Graph([x], [node.outputs[0]]))
