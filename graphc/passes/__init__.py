"""Graph -> graph transformations: autodiff and the optimisation pipelines."""
