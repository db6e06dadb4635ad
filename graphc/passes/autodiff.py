"""Reverse-mode automatic differentiation lives beside the IR (:mod:`graphc.ir.autodiff`): the
ops' gradient rules need it, and the IR never imports the passes. This module keeps the old
import path working."""
from ..ir.autodiff import GradientError, gradients, vjp  # noqa: F401
