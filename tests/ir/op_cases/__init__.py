"""Test cases for every op in the registry, one module per op family.

Each family module defines ``CASES``: a list of ``Case``. ``tests/ir/test_op_registry.py``
collects them all and, for every case, checks the reference interpreter against the case's
independent numpy computation and the autodiff gradient against central finite differences
in float64. A registered op without a case fails the coverage test, so a new op cannot land
untested.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Case:
    """One test of one op.

    Args:
        op: registry name.
        inputs: the input arrays (float inputs are also cast to float64 for the gradient check).
        expected: independent numpy computation: ``expected(*inputs) -> array | list``.
        attrs: attributes passed to ``apply``.
        grad: True = check the gradient of every float input; a tuple = only those inputs;
            False = no gradient check (non-differentiable op or integer output).
        batch: if True, inputs whose first axis has the size of input 0's first axis get the
            symbolic batch dim "B" there.
        rtol, atol: forward tolerances.
        name: extra text for the test id.
        check: for ops whose result is not a fixed function of the inputs (random ops): a
            function ``check(outputs, inputs)`` that asserts properties; ``expected`` is
            then ignored (pass None).
    """
    op: str
    inputs: list
    expected: Callable
    attrs: dict = field(default_factory=dict)
    grad: object = True
    batch: bool = False
    rtol: float = 1e-5
    atol: float = 1e-6
    name: str = ""
    check: Callable | None = None   # check(outputs, inputs) asserts; replaces ``expected``

    @property
    def id(self):
        shapes = "x".join(str(list(np.shape(a))) for a in self.inputs)
        return f"{self.op}-{self.name or shapes}"


def rand(*shape, seed=0, low=-1.0, high=1.0, dtype="float32"):
    """Deterministic uniform test data."""
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


def all_cases() -> list[Case]:
    cases = []
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        cases.extend(importlib.import_module(f"{__name__}.{mod.name}").CASES)
    return cases
