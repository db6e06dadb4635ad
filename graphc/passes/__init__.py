"""Graph -> graph transformations: autodiff and the optimisation pipelines.

    from graphc.passes import optimize, PIPELINES
    g2, stats = optimize(graph, "fast_run", dump="after:cse")
"""
from .manager import PASSES, PIPELINES, PassError, PassStats, optimize, pass_names  # noqa: F401
