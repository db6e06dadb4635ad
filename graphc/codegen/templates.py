"""Scalar templates: an elementwise op states its math once, as a Python expression over its
inputs' element expressions (``OpDef.scalar``, vocabulary in graphc/ir/ops/elementwise.py),
and every renderer rewrites that expression for its target.

What the renderers share lives here: the error a template that cannot be translated raises,
and the walk (parse, visit every call by name, unparse). A target subclasses
:class:`TemplateRewriter` with what differs: how a literal and each function name are
spelled (``cpu/scalar.py`` for numba on the CPU, ``cuda/scalar.py`` for numba.cuda).

Example:
    >>> class Upper(TemplateRewriter):
    ...     def rewrite_call(self, name, node):
    ...         node.func.id = name.upper()
    ...         return node
    >>> Upper().rewrite("exp(a) + 1")
    'EXP(a) + 1'
"""
from __future__ import annotations

import ast

__all__ = ["TemplateError", "TemplateRewriter"]


class TemplateError(ValueError):
    """A scalar template that a code generator cannot translate (the node then runs its
    reference implementation instead)."""


class TemplateRewriter(ast.NodeTransformer):
    """Rewrites one template; subclasses implement :meth:`rewrite_call` (and
    ``visit_Constant`` where literals need a type of their own)."""

    def rewrite_call(self, name: str, node: ast.Call) -> ast.AST:
        raise NotImplementedError

    @staticmethod
    def wide_constant(name: str, node: ast.Call, compute_dtype: str | None) -> float | None:
        """The exact value of ``f32(<number>)`` in a node that computes in float64, else None.

        Templates write their constants ``f32(c)`` so that float32 nodes stay float32; a
        float64 node must take ``c`` itself, not its float32 rounding (``relu``'s
        ``max_value=0.1`` is 0.1, not 0.10000000149).
        """
        if name != "f32" or compute_dtype != "float64" or len(node.args) != 1:
            return None
        arg = node.args[0]
        if isinstance(arg, ast.UnaryOp) and isinstance(arg.op, ast.USub):
            value = TemplateRewriter.wide_constant(name, ast.Call(node.func, [arg.operand], []),
                                                   compute_dtype)
            return None if value is None else -value
        if isinstance(arg, ast.Constant) and isinstance(arg.value, (int, float)) and \
                not isinstance(arg.value, bool):
            return float(arg.value)
        return None

    def unknown(self, name: str, node: ast.Call) -> TemplateError:
        """The error for a function name the target does not know."""
        return TemplateError(f"unknown function {name!r} in scalar template "
                             f"{ast.unparse(node)!r}")

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name):
            raise TemplateError(f"unsupported call in scalar template: {ast.unparse(node)}")
        return self.rewrite_call(node.func.id, node)

    def rewrite(self, template: str) -> str:
        """The target's source text for ``template``.

        Raises:
            TemplateError: when ``template`` is not an expression, or uses a call the target
                cannot spell.
        """
        try:
            tree = ast.parse(template, mode="eval")
        except SyntaxError as e:
            raise TemplateError(f"scalar template {template!r} is not an expression: {e}") \
                from None
        tree = self.visit(tree)
        return ast.unparse(ast.fix_missing_locations(tree))
