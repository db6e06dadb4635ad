"""Python source text for one constant value, shared by the CPU and CUDA code generators."""


def py_literal(x, dtype: str) -> str:
    """A literal that evaluates to ``x`` in generated code (nan and inf via ``np``).

    Example:
        >>> py_literal(float("inf"), "float32")
        'np.inf'
    """
    if dtype == "bool":
        return "True" if x else "False"
    if dtype.startswith("float"):
        x = float(x)
        if x != x:
            return "np.nan"
        if x in (float("inf"), float("-inf")):
            return "np.inf" if x > 0 else "-np.inf"
        return repr(x)
    return repr(int(x))
