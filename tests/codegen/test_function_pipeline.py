"""While a step compiles, numba's per-function LLVM pipeline runs at level 0 for the generated
modules' own functions only: a runtime kernel that happens to be first compiled then (a
convolution the step calls) is cached by numba as compiled, and at level 0 it ran 1.5-2x
slower in every later process."""
from __future__ import annotations

from numba import njit
from numba.core.codegen import CPUCodegen

from graphc.codegen import _single_optimisation_pipeline, cache


def test_the_cheap_function_pipeline_is_for_generated_code_only(monkeypatch):
    levels = []
    original = CPUCodegen._function_pass_manager

    def spy(self, **kwargs):
        levels.append(kwargs.get("opt"))
        return original(self, **kwargs)
    monkeypatch.setattr(CPUCodegen, "_function_pass_manager", spy)

    @njit
    def runtime_like(x):
        return x + 1
    with _single_optimisation_pipeline():
        assert runtime_like(1) == 2
    assert levels and all(level is None for level in levels)     # numba's own level

    src = "from numba import njit\n\n@njit\ndef f(x):\n    return x * 2\n"
    mod = cache.load_generated_module(src, cache.key(src, "function-pipeline"))
    levels.clear()
    with _single_optimisation_pipeline():
        assert mod.f(3) == 6
    assert 0 in levels
