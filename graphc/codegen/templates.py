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
