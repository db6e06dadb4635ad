"""K.function / graphc.function.Function: input checking, updates, executors."""
import numpy as np
import pytest

from graphc import backend as K
from graphc.function import Function, ReferenceExecutor


@pytest.fixture(autouse=True)
def _fresh():
    K.clear_session()


def _xy():
    x = K.placeholder(shape=(None, 784), name="x")
    y = K.placeholder(shape=(None, 10), name="y")
    return x, y


def test_outputs_are_numpy_arrays_and_str_is_the_ir_dump():
    x = K.placeholder(shape=(None, 3), name="x")
    f = K.function([x], [K.sum(x * 2.0, axis=1)], mode="reference", name="double")
    out = f([np.ones((4, 3), "float32")])
    assert isinstance(out, list) and out[0].dtype == np.float32
    np.testing.assert_allclose(out[0], [6.0] * 4)
    assert str(f).startswith("graph double(x: f32[B,3]) {")
    assert "mul(x, 2.0)" in str(f)


def test_wrong_number_of_inputs_names_the_expected_inputs():
    x, y = _xy()
    f = K.function([x, y], [K.sum(x) + K.sum(y)], mode="reference")
    with pytest.raises(ValueError, match=r"expects 2 input array\(s\) \(x: f32\[B,784\], "
                                         r"y: f32\[B,10\]\), got 1"):
        f([np.zeros((2, 784))])
    with pytest.raises(TypeError, match="call it with a list of arrays"):
        f(np.zeros((2, 784)))


def test_wrong_shape_names_the_input_and_hints_at_the_batch_axis():
    x, _ = _xy()
    f = K.function([x], [K.sum(x)], mode="reference")
    with pytest.raises(ValueError, match=r"input x: f32\[B,784\] got an array of shape "
                                         r"\(32, 700\): axis 1 is 700, expected 784.*batch "
                                         r"axis B.*\(batch, 784\)"):
        f([np.zeros((32, 700))])
    with pytest.raises(ValueError, match=r"shape \(784,\) \(rank 1\), expected rank 2.*"
                                         r"input_shape excludes the batch axis"):
        f([np.zeros(784)])


def test_symbolic_batch_dim_must_agree_across_inputs():
    x, y = _xy()
    f = K.function([x, y], [K.sum(x) + K.sum(y)], mode="reference")
    with pytest.raises(ValueError, match=r"dimension B is 32 in input x: f32\[B,784\] but 7 "
                                         r"in input y: f32\[B,10\]"):
        f([np.zeros((32, 784)), np.zeros((7, 10))])


def test_dtype_conversion_like_keras():
    x = K.placeholder(shape=(None, 2), name="x")
    i = K.placeholder(shape=(None,), dtype="int32", name="i")
    f = K.function([x, i], [x, i], mode="reference")
    a, b = f([np.array([[1.5, 2.5]], dtype="float64"), [3]])
    assert a.dtype == np.float32 and b.dtype == np.int32
    a, _ = f([[[1, 2]], np.array([3], dtype="int64")])      # nested lists of ints
    assert a.dtype == np.float32 and a.tolist() == [[1.0, 2.0]]
    with pytest.raises(TypeError, match=r"input x: f32\[B,2\] got an array of dtype <U1"):
        f([[["a", "b"]], [3]])
    with pytest.raises(TypeError, match="input x: f32.* cannot be converted"):
        f([[[1.0, 2.0], [1.0]], [3, 4]])
    with pytest.raises(TypeError, match="input i: i32.* non-finite"):
        f([np.zeros((1, 2)), np.array([np.nan])])


def test_dict_feeds_and_errors():
    x, y = _xy()
    f = K.function([x, y], [K.sum(x, axis=1) + K.sum(y, axis=1)], mode="reference")
    out = f({y: np.ones((2, 10)), x: np.ones((2, 784))})
    np.testing.assert_allclose(out[0], [794, 794])
    with pytest.raises(ValueError, match="no array given for input.*y: f32"):
        f({x: np.ones((2, 784))})


def test_missing_placeholder_is_an_error_at_build_time():
    x, y = _xy()
    with pytest.raises(ValueError, match=r"depend on the placeholder y: f32\[B,10\], which is "
                                         r"not among the inputs \[x: f32\[B,784\]\]"):
        K.function([x], [K.sum(y)])


def test_outputs_may_be_inputs_and_variables_and_are_not_aliases():
    x = K.placeholder(shape=(3,), name="x")
    w = K.variable(np.arange(3.0), name="w")
    f = K.function([x], [x, w], mode="reference")
    xs = np.ones(3, "float32")
    ox, ow = f([xs])
    np.testing.assert_array_equal(ow, [0, 1, 2])
    ox[0] = 5
    ow[0] = 5
    assert xs[0] == 1 and K.get_value(w)[0] == 0


def test_updates_use_old_values_theano_semantics():
    a = K.variable(1.0, name="a")
    b = K.variable(2.0, name="b")
    f = K.function([], [a + b], updates=[(a, b), (b, a)], mode="reference")
    out = f([])
    assert out[0] == 3.0
    assert K.get_value(a) == 2.0 and K.get_value(b) == 1.0     # swapped, not both 2


def test_update_is_cast_to_the_variable_dtype():
    w = K.variable(np.zeros(2), name="w")
    f = K.function([], [], updates=[K.update(w, K.cast(K.constant([1, 2]), "float64"))],
                   mode="reference")
    f([])
    assert K.get_value(w).dtype == np.float32
    np.testing.assert_array_equal(K.get_value(w), [1, 2])


def test_update_shape_mismatch_is_a_build_time_error_naming_the_variable():
    w = K.variable(np.zeros((3, 2)), name="kernel")
    with pytest.raises(ValueError, match=r"update of variable 'kernel' has shape \[2, 3\] but "
                                         r"the variable has shape \[3, 2\]"):
        K.function([], [], updates=[(w, K.constant(np.zeros((2, 3))))])
    with pytest.raises(ValueError, match="'kernel' is updated twice"):
        K.function([], [], updates=[(w, w + 1.0), (w, w * 2.0)])
    with pytest.raises(TypeError, match="must be a variable"):
        K.function([], [], updates=[(w * 2.0, w)])


def test_executor_reads_variable_value_each_call():
    x = K.placeholder(shape=(None, 2), name="x")
    w = K.variable(np.ones(2), name="w")
    f = K.function([x], [x * w], mode="reference")
    np.testing.assert_array_equal(f([np.ones((1, 2))])[0], [[1, 1]])
    K.set_value(w, [3.0, 4.0])
    np.testing.assert_array_equal(f([np.ones((1, 2))])[0], [[3, 4]])


def test_batch_32_then_7_reuses_the_executor():
    x, y = _xy()
    w = K.variable(np.zeros((784, 10)), name="w")
    loss = K.mean(K.square(K.dot(x, w) - y))
    (g,) = K.gradients(loss, [w])
    f = K.function([x, y], [loss], updates=[K.update_sub(w, 0.1 * g)])
    rng = np.random.default_rng(0)
    f([rng.normal(size=(32, 784)), rng.normal(size=(32, 10))])
    first = f.executor
    out = f([rng.normal(size=(7, 784)), rng.normal(size=(7, 10))])
    assert f.executor is first
    assert out[0].shape == ()


def test_mode_and_pipeline_validation():
    x = K.placeholder(shape=(2,), name="x")
    with pytest.raises(ValueError, match="mode must be one of compiled, reference"):
        K.function([x], [x], mode="fast")
    with pytest.raises(ValueError, match="Invalid argument\\(s\\) 'fetches'"):
        K.function([x], [x], fetches=[])
    with pytest.raises(ValueError, match="unknown pipeline 'fastest'"):
        K.function([x], [x], pipeline="fastest")
    g = K.function([x], [x * 2.0], mode="reference")
    np.testing.assert_array_equal(g([[1.0, 2.0]])[0], [2.0, 4.0])
    assert isinstance(g.executor, ReferenceExecutor) and g.executor_kind == "reference"


def test_compiled_mode_optimises_then_calls_compile_graph(monkeypatch):
    import graphc.codegen as codegen
    calls = []

    def compile_graph(graph):
        calls.append(graph)
        return ReferenceExecutor(graph)

    monkeypatch.setattr(codegen, "compile_graph", compile_graph)
    x = K.placeholder(shape=(2,), name="x")
    f = K.function([x], [(x * 1.0) + 1.0], mode="compiled", pipeline="fast_run")
    np.testing.assert_array_equal(f([[1.0, 2.0]])[0], [2.0, 3.0])
    assert calls == [f.optimized_graph] and f.executor_kind == "compiled"
    assert "mul" not in [n.op for n in f.optimized_graph.nodes()]     # x*1 simplified away
    assert [r[0] for r in f.pass_stats.records][0] == "dce"


def test_random_ops_reproducible_per_function():
    x = K.placeholder(shape=(None, 50), name="x")
    y = K.dropout(x, 0.5, seed=3)
    ones = np.ones((4, 50), "float32")
    f1 = K.function([x], [y], mode="reference")
    f2 = K.function([x], [y], mode="reference")
    a1, a2 = f1([ones])[0], f1([ones])[0]
    b1 = f2([ones])[0]
    assert not np.array_equal(a1, a2)           # new mask each call
    np.testing.assert_array_equal(a1, b1)       # same sequence for each function
    assert set(np.unique(a1)) <= {0.0, 2.0}


def test_function_takes_a_single_output_and_returns_a_list():
    x = K.placeholder(shape=(2,), name="x")
    f = Function([x], K.exp(x), mode="reference")
    out = f([[0.0, 0.0]])
    assert isinstance(out, list) and len(out) == 1
    with pytest.raises(TypeError, match=r"inputs\[0\] must be a placeholder .*computed tensor"):
        Function([K.exp(x)], [x])


def test_fast_path_keeps_every_error_message_after_the_first_call():
    x, y = _xy()
    f = K.function([x, y], [K.sum(x) + K.sum(y)])
    ok = [np.ones((2, 784), np.float32), np.ones((2, 10), np.float32)]
    np.testing.assert_allclose(f(ok)[0], 2 * 784 + 2 * 10)
    assert f._call is not None                    # the executor is built: fast path live
    with pytest.raises(ValueError, match=r"axis 1 is 700, expected 784"):
        f([np.zeros((2, 700), np.float32), ok[1]])
    with pytest.raises(ValueError, match=r"dimension B is 2 in input x: f32\[B,784\] but 3"):
        f([ok[0], np.zeros((3, 10), np.float32)])
    with pytest.raises(ValueError, match=r"expects 2 input array"):
        f([ok[0]])
    # not the placeholder's dtype, not an ndarray: converted on the full path
    got = f([np.ones((2, 784)), np.ones((2, 10)).tolist()])
    np.testing.assert_allclose(got[0], 2 * 784 + 2 * 10)
    got = f({x: ok[0], y: ok[1]})
    np.testing.assert_allclose(got[0], 2 * 784 + 2 * 10)
    # a non-contiguous view passes the check and is normalised by the executor
    wide = np.ones((2, 1568), np.float32)[:, ::2]
    np.testing.assert_allclose(f([wide, ok[1]])[0], 2 * 784 + 2 * 10)
