"""The IR text form: ``format_graph`` prints a Graph, ``parse`` reads the text back.

The dump is deterministic (golden-file testable) and typed::

    graph mlp(x: f32[B,4], y: f32[B,3]; W: f32[4,3], b: f32[3]) {
      %0: f32[B,3] = matmul(x, W)        # dense_1
      %1: f32[B,3] = add(%0, b)          # dense_1
      %2: f32[]    = mean(%1) {axes=(0, 1)}
      update b <- %1
      return %2
    }

Rules:
  * placeholders come before ``;``, variables after it; both are referred to by name;
  * computed values are ``%N``, numbered in topological order (``Graph.nodes()``); a node with
    several outputs prints ``%3: T, %4: T = op(...)``;
  * constants of at most 8 elements are inlined as literals (``2.0``; a dtype other than f32
    for floats / i64 for ints is suffixed: ``2.0:f64``, ``[1, 2]:i32``); larger ones are
    declared as ``const c0: f32[20,10]`` lines and referred to as ``c0``;
  * attributes equal to the op's defaults are left out; the rest are printed with sorted keys;
    attributes whose value is a Graph (the body of a loop) are printed as nested blocks below
    the node line;
  * the trailing comment holds the scope (layer) that built the node, ``@ file:line`` with
    ``source=True``, and ``#users=N`` when a node has more than one user.

``parse(format_graph(g))`` builds an equivalent graph: printing it again gives the same text.
"""
from __future__ import annotations

import math
import re

import numpy as np

from .graph import Graph
from .node import Node, Value, Variable
from .types import LONG, SHORT, TensorType

MAX_INLINE = 8          # constants with at most this many elements are printed as literals
_COMMENT_COLUMN = 64    # comments are aligned up to this column
_RESERVED = {"graph", "const", "update", "return", "True", "False", "None", "inf", "nan"}
_DEFAULT_LITERAL_DTYPE = {"f": "float32", "i": "int64", "b": "bool"}


class ParseError(ValueError):
    """Text that is not a valid graphc IR dump; the message names the line."""


# ============================================================================================
# printing
# ============================================================================================

def format_graph(graph: Graph, source: bool = False, full_constants: bool = False) -> str:
    """The text form of ``graph``.

    Args:
        graph: a ``graphc.ir.Graph``.
        source: also print the ``file:line`` of the user code that built each node.
        full_constants: print the values of large constants too (so ``parse`` needs no
            ``constants`` argument).
    Returns:
        The dump, one line per node, ending with a newline-free ``}``.

    Example:
        >>> print(format_graph(K.function([x], [y]).graph))
    """
    return _Printer(source, full_constants).graph(graph, "")


def constant_values(graph: Graph) -> dict:
    """The large constants of ``graph`` under the names the dump gives them (``c0``, ...).

    Pass the result as ``parse(text, constants=...)``.
    """
    p = _Printer(False, False)
    p.graph(graph, "")
    return dict(p.constants)


def format_type(t: TensorType) -> str:
    return str(t)


def _sanitize(name) -> str:
    name = re.sub(r"[^A-Za-z0-9_./]", "_", str(name or "v"))
    if not re.match(r"[A-Za-z_]", name):
        name = "v_" + name
    if name in _RESERVED:
        name += "_"
    return name


def _fmt_scalar(x, dtype: str) -> str:
    if dtype == "bool":
        return "True" if bool(x) else "False"
    if dtype.startswith("float"):
        f = float(x)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        s = str(np.float32(x)) if dtype == "float32" else (
            str(np.float16(x)) if dtype == "float16" else repr(f))
        if not any(c in s for c in ".e"):
            s += ".0"
        return s
    return str(int(x))


def _fmt_nested(arr: np.ndarray, dtype: str) -> str:
    if arr.ndim == 0:
        return _fmt_scalar(arr[()], dtype)
    return "[" + ", ".join(_fmt_nested(a, dtype) for a in arr) + "]"


def format_literal(arr) -> str:
    """A constant array as a literal: ``2.0``, ``[1, 2]:i32``, ``[[True, False]]``."""
    arr = np.asarray(arr)
    dtype = arr.dtype.name
    text = _fmt_nested(arr, dtype)
    default = _DEFAULT_LITERAL_DTYPE.get(arr.dtype.kind)
    if arr.size == 0 or default != dtype:
        text += ":" + SHORT[dtype]
    return text


def _fmt_attr(v) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, np.ndarray):
        v = _to_tuple(v.tolist())
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, tuple):
        inner = ", ".join(_fmt_attr(x) for x in v)
        return "(" + inner + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt_attr(x) for x in v) + "]"
    return repr(v)


def _to_tuple(x):
    return tuple(_to_tuple(i) for i in x) if isinstance(x, list) else x


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - e.g. arrays; then they are not "the default"
        return False


class _Printer:
    def __init__(self, source: bool, full_constants: bool):
        self.source = source
        self.full = full_constants
        self.constants: dict[str, np.ndarray] = {}   # shared by nested graphs: names unique

    def graph(self, graph: Graph, indent: str) -> str:
        nodes = graph.nodes()
        names: dict = {}          # key -> printed name (inputs by Value, variables by storage)
        used: set[str] = set()

        def alloc(base: str) -> str:
            name, k = _sanitize(base), 1
            while name in used:
                name = f"{_sanitize(base)}_{k}"
                k += 1
            used.add(name)
            return name

        inputs = list(graph.inputs)
        seen_inputs = {id(v) for v in inputs}
        inputs += [n.outputs[0] for n in nodes
                   if n.op == "input" and id(n.outputs[0]) not in seen_inputs]
        in_params = []
        for v in inputs:
            names[("in", id(v))] = alloc(v.node.attrs.get("name") or "input")
            in_params.append(f"{names[('in', id(v))]}: {v.type}")
        var_params = []
        for n in nodes:
            if n.op != "variable":
                continue
            key = ("var", _var_key(n))
            if key in names:
                continue
            store = n.attrs.get("var")
            base = n.attrs.get("name") or getattr(store, "name", None) or "variable"
            names[key] = alloc(base)
            var_params.append(f"{names[key]}: {n.outputs[0].type}")

        const_lines = []
        numbers: dict[int, int] = {}     # id(Value) -> N
        counter = 0
        for n in nodes:
            if n.op == "constant":
                arr = np.asarray(n.attrs["value"])
                if _inline(arr):
                    continue
                k = len(self.constants)
                cname = f"c{k}"
                while cname in used:
                    k += 1
                    cname = f"c{k}"
                used.add(cname)
                self.constants[cname] = arr
                names[("const", n.id)] = cname
                line = f"{indent}  const {cname}: {n.outputs[0].type}"
                if self.full:
                    line += " = " + format_literal(arr)
                const_lines.append(line)
            elif n.op not in ("input", "variable"):
                for v in n.outputs:
                    numbers[id(v)] = counter
                    counter += 1

        def ref(v: Value) -> str:
            op = v.node.op
            if op == "input":
                return names[("in", id(v))]
            if op == "variable":
                return names[("var", _var_key(v.node))]
            if op == "constant":
                if ("const", v.node.id) in names:
                    return names[("const", v.node.id)]
                return format_literal(v.node.attrs["value"])
            return f"%{numbers[id(v)]}"

        users: dict[int, set] = {}
        for n in nodes:
            for v in n.inputs:
                users.setdefault(v.node.id, set()).add(n.id)
        extra: dict[int, int] = {}
        for v in graph.outputs + [nv for _, nv in graph.updates]:
            extra[v.node.id] = extra.get(v.node.id, 0) + 1

        rows = []          # (lhs, rhs, comment, nested-block lines)
        for n in nodes:
            if n.op in ("input", "variable", "constant"):
                continue
            lhs = ", ".join(f"%{numbers[id(v)]}: {v.type}" for v in n.outputs)
            defaults = _defaults(n.op)
            attrs, blocks = [], []
            for key in sorted(n.attrs):
                val = n.attrs[key]
                if isinstance(val, Graph):
                    blocks.append((key, val))
                elif key in defaults and _same(val, defaults[key]):
                    continue
                else:
                    attrs.append(f"{key}={_fmt_attr(val)}")
            rhs = f"{n.op}(" + ", ".join(ref(v) for v in n.inputs) + ")"
            if attrs:
                rhs += " {" + ", ".join(attrs) + "}"
            comment = n.scope or ""
            if self.source and n.src:
                comment = (comment + " " if comment else "") + "@ " + n.src
            nusers = len(users.get(n.id, ())) + extra.get(n.id, 0)
            if nusers > 1:
                comment = (comment + "  " if comment else "") + f"#users={nusers}"
            nested = []
            for key, sub in blocks:
                body = self.graph(sub, indent + "    ")
                first, rest = body.split("\n", 1)
                nested.append(f"{indent}    {key} = {first.lstrip()}")
                nested.extend(rest.split("\n"))
            rows.append((lhs, rhs, comment, nested))

        lhs_w = max((len(r[0]) for r in rows), default=0)
        lines = [f"{indent}graph {_sanitize(graph.name)}(" + ", ".join(in_params)
                 + ("; " + ", ".join(var_params) if var_params else "") + ") {"]
        lines += const_lines
        body = [f"{indent}  {lhs.ljust(lhs_w)} = {rhs}" for lhs, rhs, _, _ in rows]
        col = min(max((len(b) for b in body), default=0), _COMMENT_COLUMN)
        for text, (_, _, comment, nested) in zip(body, rows):
            if comment:
                text = text.ljust(col) + "  # " + comment
            lines.append(text)
            lines.extend(nested)
        for var, new in graph.updates:
            target = names.get(("var", _var_key(var.node))) if var.node.op == "variable" \
                else ref(var)
            lines.append(f"{indent}  update {target} <- {ref(new)}")
        lines.append(f"{indent}  return " + ", ".join(ref(v) for v in graph.outputs)
                     if graph.outputs else f"{indent}  return")
        lines.append(f"{indent}}}")
        return "\n".join(lines)


def _var_key(node: Node):
    store = node.attrs.get("var")
    return id(store) if store is not None else ("node", node.id)


def _inline(arr: np.ndarray) -> bool:
    return arr.size <= MAX_INLINE and (arr.size > 0 or arr.shape == (0,))


def _defaults(op: str) -> dict:
    from .ops import REGISTRY
    d = REGISTRY.get(op)
    return d.defaults if d is not None else {}


# ============================================================================================
# parsing
# ============================================================================================

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#.*)
  | (?P<value>%\d+)
  | (?P<number>-?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\.\d+(?:[eE][-+]?\d+)?
               |\d+|inf\b|nan\b))
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<arrow><-)
  | (?P<name>[A-Za-z_][A-Za-z0-9_./]*)
  | (?P<punct>[()\[\]{},=:;?])
""", re.VERBOSE)


class _Tokens:
    def __init__(self, text: str, lineno: int):
        self.lineno = lineno
        self.text = text
        self.toks: list[tuple[str, str]] = []
        self.comment = None
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise self.error(f"unexpected character {text[pos]!r}")
            kind = m.lastgroup
            if kind == "comment":
                self.comment = m.group()[1:].strip()
                break
            if kind != "ws":
                self.toks.append((kind, m.group()))
            pos = m.end()
        self.i = 0

    def error(self, msg: str) -> ParseError:
        return ParseError(f"line {self.lineno}: {msg}: {self.text.strip()!r}")

    def peek(self, k: int = 0):
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("end", "")

    def next(self):
        tok = self.peek()
        if tok[0] == "end":
            raise self.error("unexpected end of line")
        self.i += 1
        return tok

    def expect(self, text: str):
        kind, t = self.next()
        if t != text:
            raise self.error(f"expected {text!r}, found {t!r}")

    def accept(self, text: str) -> bool:
        if self.peek()[1] == text and self.peek()[0] != "string":
            self.i += 1
            return True
        return False

    def name(self) -> str:
        kind, t = self.next()
        if kind != "name":
            raise self.error(f"expected a name, found {t!r}")
        return t

    def at_end(self) -> bool:
        return self.i >= len(self.toks)


def _parse_type(tk: _Tokens) -> TensorType:
    short = tk.name()
    if short not in LONG:
        raise tk.error(f"unknown dtype {short!r}; valid: {', '.join(LONG)}")
    tk.expect("[")
    dims = []
    while not tk.accept("]"):
        kind, t = tk.next()
        if kind == "number":
            dims.append(int(t))
        elif t == "?":
            dims.append(None)
        elif kind == "name":
            dims.append(t)
        else:
            raise tk.error(f"bad dimension {t!r}")
        tk.accept(",")
    return TensorType(LONG[short], tuple(dims))


def _parse_pylit(tk: _Tokens):
    """An attribute value: None/True/False, numbers, strings, tuples and lists of them."""
    kind, t = tk.next()
    if kind == "number":
        return float(t) if any(c in t for c in ".en") or "inf" in t else int(t)
    if kind == "string":
        import ast
        return ast.literal_eval(t)
    if kind == "name" and t in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[t]
    if t in ("(", "["):
        close = ")" if t == "(" else "]"
        items, trailing = [], False
        while not tk.accept(close):
            items.append(_parse_pylit(tk))
            trailing = tk.accept(",")
        if t == "[":
            return items
        return tuple(items) if (len(items) != 1 or trailing) else items[0]
    raise tk.error(f"bad literal {t!r}")


def _parse_array_literal(tk: _Tokens) -> np.ndarray:
    def elems():
        kind, t = tk.next()
        if t == "[":
            items = []
            while not tk.accept("]"):
                items.append(elems())
                tk.accept(",")
            return items
        if kind == "number":
            return float(t) if any(c in t for c in ".en") or "inf" in t else int(t)
        if t in ("True", "False"):
            return t == "True"
        raise tk.error(f"bad literal element {t!r}")

    data = elems()
    dtype = None
    if tk.accept(":"):
        short = tk.name()
        if short not in LONG:
            raise tk.error(f"unknown dtype {short!r}")
        dtype = LONG[short]
    if dtype is None:
        flat = np.asarray(data)
        dtype = _DEFAULT_LITERAL_DTYPE.get(flat.dtype.kind, "float32")
    return np.asarray(data, dtype=dtype)


class _Parser:
    def __init__(self, text: str, variables, constants):
        self.lines = text.split("\n")
        self.variables = dict(variables or {})
        self.constants = dict(constants or {})
        self.var_nodes: dict[str, Value] = {}   # shared by nested graphs (same storage)

    def line_tokens(self, i: int) -> _Tokens:
        return _Tokens(self.lines[i], i + 1)

    def skip_blank(self, i: int) -> int:
        while i < len(self.lines) and not self.lines[i].strip():
            i += 1
        return i

    def variable(self, name: str, type_: TensorType, tk: _Tokens) -> Value:
        if name in self.var_nodes:
            return self.var_nodes[name]
        from .ops import source
        given = self.variables.get(name)
        if isinstance(given, Value):
            if given.node.op != "variable":
                raise tk.error(f"variables[{name!r}] is a {given.op} value, not a variable")
            if given.type != type_:
                raise tk.error(f"variable {name!r} is {given.type} but the text says {type_}")
            self.var_nodes[name] = given
            return given
        if given is None:
            if not type_.static:
                raise tk.error(f"variable {name!r} has a non-static type {type_}")
            store = Variable(np.zeros(type_.shape, dtype=type_.dtype), name)
        elif isinstance(given, Variable):
            store = given
        else:
            store = Variable(np.asarray(given), name)
        if store.value.dtype.name != type_.dtype or tuple(store.value.shape) != type_.shape:
            raise tk.error(f"variable {name!r} holds {store.value.dtype}"
                           f"{list(store.value.shape)} but the text says {type_}")
        v = source("variable", type_, name=name, var=store)
        self.var_nodes[name] = v
        return v

    def graph(self, i: int, first_line_tokens: _Tokens | None = None):
        """Parse a graph starting at line ``i``; returns (Graph, index after its '}')."""
        from .ops import REGISTRY, constant, source
        tk = first_line_tokens or self.line_tokens(i)
        if tk.name() != "graph":
            raise tk.error("expected 'graph NAME(...) {'")
        gname = tk.name()
        tk.expect("(")
        env: dict[str, Value] = {}
        inputs = []
        section = 0
        while not tk.accept(")"):
            if tk.accept(";"):
                section += 1
                continue
            name = tk.name()
            tk.expect(":")
            t = _parse_type(tk)
            if name in env:
                raise tk.error(f"name {name!r} declared twice")
            if section == 0:
                v = source("input", t, name=name)
                inputs.append(v)
            else:
                v = self.variable(name, t, tk)
            env[name] = v
            tk.accept(",")
        tk.expect("{")
        values: dict[str, Value] = {}
        outputs, updates = None, []
        i += 1
        while True:
            i = self.skip_blank(i)
            if i >= len(self.lines):
                raise ParseError(f"graph {gname!r}: missing closing '}}'")
            tk = self.line_tokens(i)
            head = tk.peek()[1]
            if head == "}":
                i += 1
                break
            if head == "const":
                tk.next()
                cname = tk.name()
                tk.expect(":")
                t = _parse_type(tk)
                if tk.accept("="):
                    arr = _parse_array_literal(tk).astype(t.dtype).reshape(t.shape)
                elif cname in self.constants:
                    arr = np.asarray(self.constants[cname])
                else:
                    raise tk.error(f"constant {cname!r} ({t}) has no value in the text; pass "
                                   f"constants={{{cname!r}: array}} (see "
                                   f"printer.constant_values) or print with "
                                   f"full_constants=True")
                if arr.dtype.name != t.dtype or arr.shape != t.shape:
                    raise tk.error(f"constant {cname!r} is {arr.dtype}{list(arr.shape)} but "
                                   f"the text says {t}")
                env[cname] = constant(arr)
                i += 1
                continue
            if head == "update":
                tk.next()
                target = tk.name()
                if target not in env or env[target].op != "variable":
                    raise tk.error(f"update target {target!r} is not a variable of the graph")
                tk.expect("<-")
                updates.append((env[target], self.arg(tk, env, values)))
                i += 1
                continue
            if head == "return":
                tk.next()
                outputs = []
                while not tk.at_end():
                    outputs.append(self.arg(tk, env, values))
                    tk.accept(",")
                i += 1
                continue
            # a node line: %N: T[, %M: T] = op(args) {attrs}  # comment
            outs = []
            while True:
                kind, t = tk.next()
                if kind != "value":
                    raise tk.error(f"expected a value name like %3, found {t!r}")
                tk.expect(":")
                outs.append((t, _parse_type(tk)))
                if not tk.accept(","):
                    break
            tk.expect("=")
            op = tk.name()
            if op not in REGISTRY:
                raise tk.error(f"unknown op {op!r}")
            tk.expect("(")
            args = []
            while not tk.accept(")"):
                args.append(self.arg(tk, env, values))
                tk.accept(",")
            attrs = dict(REGISTRY[op].defaults)
            if tk.accept("{"):
                while not tk.accept("}"):
                    key = tk.name()
                    tk.expect("=")
                    attrs[key] = _to_tuple_attr(_parse_pylit(tk))
                    tk.accept(",")
            if not tk.at_end():
                raise tk.error(f"unexpected {tk.peek()[1]!r}")
            scope, src = _parse_comment(tk.comment)
            i += 1
            # nested sub-graph attributes: "key = graph name(...) {" ... "}"
            while True:
                i = self.skip_blank(i)
                if i >= len(self.lines):
                    break
                sub = self.line_tokens(i)
                if not (sub.peek(0)[0] == "name" and sub.peek(1)[1] == "="
                        and sub.peek(2)[1] == "graph"):
                    break
                key = sub.name()
                sub.expect("=")
                attrs[key], i = self.graph(i, sub)
            node = Node(op, args, attrs, [t for _, t in outs], scope=scope, src=src)
            for (vname, _), v in zip(outs, node.outputs):
                if vname in values:
                    raise tk.error(f"{vname} is defined twice")
                values[vname] = v
        if outputs is None:
            raise ParseError(f"graph {gname!r}: no 'return' line")
        return Graph(inputs, outputs, updates, name=gname), i

    def arg(self, tk: _Tokens, env: dict, values: dict) -> Value:
        from .ops import constant
        kind, t = tk.peek()
        if kind == "value":
            tk.next()
            if t not in values:
                raise tk.error(f"{t} is used before it is defined")
            return values[t]
        if kind == "name" and t not in ("True", "False"):
            tk.next()
            if t not in env:
                raise tk.error(f"unknown name {t!r} (not a placeholder, variable or constant "
                               f"of the graph)")
            return env[t]
        return constant(_parse_array_literal(tk))


def _to_tuple_attr(v):
    return _to_tuple(v) if isinstance(v, list) else v


def _parse_comment(comment):
    if not comment:
        return "", ""
    comment = re.sub(r"\s*#users=\d+\s*$", "", comment).strip()
    src = ""
    m = re.search(r"(?:^|\s)@ (\S+)$", comment)
    if m:
        src = m.group(1)
        comment = comment[:m.start()].strip()
    return comment, src


def parse(text: str, variables: dict | None = None, constants: dict | None = None) -> Graph:
    """Build a Graph from its text form (the inverse of ``format_graph``).

    Args:
        text: a dump made by ``format_graph``.
        variables: name -> variable Value, ``Variable`` storage or array, binding the
            variables of the header; a variable not given is created zero-filled.
        constants: name -> array for the large constants (``const c0: ...`` lines without
            values); see ``constant_values``.
    Returns:
        A Graph; ``format_graph(parse(text)) == text`` for text printed by ``format_graph``.

    Example:
        >>> g2 = parse(format_graph(g), variables={"W": W}, constants=constant_values(g))
    """
    p = _Parser(text, variables, constants)
    i = p.skip_blank(0)
    if i >= len(p.lines):
        raise ParseError("empty text: expected 'graph NAME(...) {'")
    graph, i = p.graph(i)
    i = p.skip_blank(i)
    if i < len(p.lines):
        raise ParseError(f"line {i + 1}: text after the end of the graph: {p.lines[i]!r}")
    return graph


__all__ = ["format_graph", "parse", "constant_values", "format_literal", "ParseError"]
