"""Every kernel the CUDA code generator makes compiles to real PTX for Hopper (sm_90), with
no float64 instructions in float32 kernels -- checked without a GPU through numba-cuda's
``compile_ptx`` (skipped where numba-cuda's NVVM is not installed, or in the simulator)."""
from __future__ import annotations

import numpy as np
import pytest

from graphc.codegen.cuda import runtime

if runtime.is_simulator_env():
    pytest.skip("compile_ptx needs the real numba-cuda, not the simulator",
                allow_module_level=True)
try:
    _cuda = runtime.cuda_module()
    _cuda.compile_ptx(lambda x: None, "(float32[::1],)", cc=(9, 0))
except Exception as e:  # no numba-cuda / no NVVM wheel: nothing to compile with
    pytest.skip(f"numba-cuda's compile_ptx is not usable here: {str(e)[:200]}",
                allow_module_level=True)

from numba.core import types  # noqa: E402

from graphc.codegen import cache  # noqa: E402
from graphc.codegen.cuda import kernels as K  # noqa: E402
from graphc.codegen.cuda.lower import lower  # noqa: E402
from graphc.ir import Graph  # noqa: E402
from graphc.ir.ops import apply, source  # noqa: E402
from graphc.ir.types import TensorType  # noqa: E402
from graphc.passes.manager import optimize  # noqa: E402

NT = {"float32": types.float32, "float64": types.float64, "int32": types.int32,
      "int64": types.int64, "bool": types.boolean}
F1 = types.Array(types.float32, 1, "C")
I1 = types.Array(types.int64, 1, "C")


def _f64_ops(ptx: str) -> int:
    return sum(1 for ln in ptx.splitlines()
               if ".f64" in ln and not ln.strip().startswith("//"))


def test_generated_elementwise_kernels_compile_to_float32_ptx():
    x = source("input", TensorType("float32", ("B", 5)), name="x")
    b = source("input", TensorType("float32", (5,)), name="b")
    i = source("input", TensorType("int32", ("B", 5)), name="i")
    y = apply("tanh", apply("add", apply("mul", x, b), b))
    outs = [y, apply("sigmoid", y), apply("round", x), apply("sign", x), apply("sign", i),
            apply("logical_and", x > b, x < 0.5), apply("softplus", x),
            apply("where", x > 0.0, x, b), apply("relu", x, alpha=0.1, max_value=6.0),
            apply("cast", x, dtype="int32"), apply("sqrt", i), apply("elu", x),
            apply("expm1", apply("log1p", apply("abs", x)))]
    g, _ = optimize(Graph([x, b, i], outs), "fast_run")
    plan = lower(g)
    mod = cache.load_generated_module(plan.source, cache.key("ptx-test", plan.source),
                                      module_prefix="graphc_cuda")
    n = 0
    for st in plan.steps:
        if st.kind != "kernel":
            continue
        ks = st.info["kernel"]
        sig = [types.int64] * (1 + len(ks.groups))
        sig += [types.Array(NT[o.dtype], 1, "C") for o in st.node.outputs]
        sig += [types.Array(NT[v.dtype], 1, "C") for v in st.info["inputs"]]
        ptx, _ = _cuda.compile_ptx(getattr(mod, ks.name).py_func, tuple(sig), cc=(9, 0))
        if all(v.dtype != "float64" for v in st.info["inputs"]):
            assert _f64_ops(ptx) == 0, f"{ks.name} computes in float64"
        n += 1
    assert n >= 8


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "prod"])
def test_reduction_kernels_compile(op):
    sig = (F1, F1, I1, I1, types.int64, types.int64, types.float32, types.float32)
    for k in (K.reduce_block_kernel(op, "float32", 256), K.reduce_thread_kernel(op, "float32")):
        ptx, _ = _cuda.compile_ptx(k.py_func, sig, cc=(9, 0))
        assert _f64_ops(ptx) == 0


def test_matmul_softmax_and_copy_kernels_compile():
    a2 = types.Array(types.float32, 2, "A")
    c2 = types.Array(types.float32, 2, "C")
    mm = K.matmul_kernel("float32", *K.matmul_config())
    ptx, _ = _cuda.compile_ptx(mm.py_func, (a2, a2, c2, types.int64, types.int64, types.int64),
                               cc=(9, 0))
    assert _f64_ops(ptx) == 0
    assert ".local" not in ptx          # the register tile stays in registers
    _cuda.compile_ptx(K.copy_kernel().py_func, (F1, F1, I1, I1, types.int64, types.int64),
                      cc=(9, 0))
    for log in (False, True):
        ptx, _ = _cuda.compile_ptx(K.softmax_rows_kernel("float32", 256, log).py_func,
                                   (F1, F1, types.int64, types.int64), cc=(9, 0))
        assert _f64_ops(ptx) == 0
    ptx, _ = _cuda.compile_ptx(K.softmax_xent_rows_kernel("float32", 256).py_func,
                               (F1, F1, F1, types.int64, types.int64), cc=(9, 0))
    assert _f64_ops(ptx) == 0


def test_offsets_cover_every_reduced_element_once():
    kept, red = K.offsets((2, 3, 4), (0, 2))
    flat = (kept[:, None] + red[None, :]).ravel()
    assert sorted(flat.tolist()) == list(range(24))
    np.testing.assert_array_equal(kept, [0, 4, 8])
