"""How a step's driver calls precompiled kernels: by symbol, through the JIT's symbol table.

A driver calls ``kcall("graphc_k_<key>", a, b)``. While numba types the driver, the
intrinsic compiles the kernel of that module for the argument types (or loads it from numba's
cache), registers the kernel's native entry point under a symbol named after the module and
the types (``llvmlite.binding.add_symbol``), and the driver's code calls that symbol with
numba's own calling convention. The kernel's body is never linked into the driver, so it is
typed, lowered and optimised once per process and once per machine, however many layers and
steps call it (a linked call would copy and optimise it again inside every driver).

A driver loaded from numba's cache has not been typed in this process, so its symbols must
be registered before its code is loaded: :func:`calls_of` lists the (module, argument types)
of every kernel symbol a freshly compiled driver declares, the executor stores that list next
to the driver, and :func:`ensure` registers them again in a later process. Types are stored
as numba's own text (``readonly array(float32, 2d, C)``) and read back by :func:`parse_type`,
a parser for the few forms a kernel boundary carries: nothing from the cache is evaluated as
code.

Example:
    >>> disp.compile(sig)                            # a driver that calls kernels
    >>> calls = calls_of(disp.overloads[sig].library)
    >>> [ensure(module, types) for module, types in calls]   # in a later process
"""
from __future__ import annotations

import hashlib
import re
import sys

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["kcall", "ensure", "calls_of", "parse_type", "symbol_of"]

_registered: dict[str, int] = {}          # symbol -> address registered in this process
_calls: dict[str, tuple] = {}              # symbol -> (module name, argument type strings)
_DECLARED = re.compile(r"^declare [^\n]*@\"?(graphc_kernel_[0-9a-f]+)\"?\(", re.M)


def symbol_of(module_name: str, argtys) -> str:
    """The symbol of ``module_name``'s kernel compiled for ``argtys``."""
    text = module_name + "(" + ", ".join(str(t) for t in argtys) + ")"
    return "graphc_kernel_" + hashlib.sha256(text.encode()).hexdigest()[:40]


def ensure(module_name: str, argtys) -> tuple[str, types.Type]:
    """Compile (or load from the cache) ``module_name``'s kernel for ``argtys`` and register
    its entry point.

    Returns:
        (symbol, return type).
    Raises:
        KeyError: when the kernel's module is not imported (the executor imports every
            kernel module a driver names before the driver).
    """
    from llvmlite import binding as llb
    argtys = tuple(argtys)
    symbol = symbol_of(module_name, argtys)
    disp = sys.modules[module_name].kernel
    cres = disp.overloads.get(argtys)
    if cres is None:
        disp.compile(argtys)
        cres = disp.overloads[argtys]
    if symbol not in _registered:
        address = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
        if not address:
            raise RuntimeError(f"internal error: kernel {module_name}{argtys} has no address")
        llb.add_symbol(symbol, address)
        _registered[symbol] = address
        _calls[symbol] = (module_name, tuple(str(t) for t in argtys))
    return symbol, cres.signature.return_type


def calls_of(library) -> list[tuple[str, tuple[str, ...]]]:
    """The (kernel module, argument type strings) of every kernel a freshly compiled driver's
    code calls, read from the symbols its LLVM module declares -- not from what was typed
    while it compiled: numba types a call it has seen before in this process from its own
    cache, without asking the intrinsic again.

    Raises:
        RuntimeError: when the code calls a kernel symbol this process never registered.
    """
    out = []
    for symbol in dict.fromkeys(_DECLARED.findall(library.get_llvm_str())):
        if symbol not in _calls:
            raise RuntimeError(f"internal error: driver calls unknown kernel symbol {symbol}")
        out.append(_calls[symbol])
    return out



@intrinsic
def kcall(typingctx, name, *args):
    """``kcall(module_name, *args)``: call the kernel of a generated module (see above)."""
    if not isinstance(name, types.StringLiteral):
        return None
    argtys = tuple(types.unliteral(a) for a in args)
    symbol, resty = ensure(name.literal_value, argtys)
    # numba passes star arguments as one tuple (StarArgTuple) to the lowering
    sig = resty(name, types.StarArgTuple.from_types(args))

    def codegen(context, builder, signature, llargs):
        packed = cgutils.unpack_tuple(builder, llargs[1], len(args))
        values = [context.cast(builder, v, t, u) for v, t, u in zip(packed, args, argtys)]
        fnty = context.call_conv.get_function_type(resty, argtys)
        fn = cgutils.get_or_insert_function(builder.module, fnty, symbol)
        status, result = context.call_conv.call_function(builder, fn, resty, argtys, values)
        with cgutils.if_unlikely(builder, status.is_error):
            context.call_conv.return_status_propagate(builder, status)
        return result
    return sig, codegen


# -- numba type text -> type ---------------------------------------------------------------

_SCALARS = {name: getattr(types, name) for name in (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
    "uint32", "uint64", "complex64", "complex128")}
_SCALARS["bool"] = types.boolean
_SCALARS["none"] = types.none
_ARRAY = re.compile(r"(readonly )?array\((\w+), (\d+)d, ([CFA])\)")


def _split_top(text: str) -> list[str]:
    """Split ``text`` at the commas that are not inside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def parse_type(text: str) -> types.Type:
    """The numba type whose ``str()`` is ``text``, for the forms kernels pass: scalars,
    arrays (also read-only), ``UniTuple(T x n)`` and ``Tuple(T, ...)``.

    Raises:
        ValueError: on any other text (the caller treats the stored entry as damaged).
    """
    text = text.strip()
    if text in _SCALARS:
        return _SCALARS[text]
    m = _ARRAY.fullmatch(text)
    if m:
        if m.group(2) not in _SCALARS:
            raise ValueError(f"unknown array dtype in {text!r}")
        return types.Array(_SCALARS[m.group(2)], int(m.group(3)), m.group(4),
                           readonly=bool(m.group(1)))
    if text.startswith("UniTuple(") and text.endswith(")"):
        inner = text[len("UniTuple("):-1]
        elem, sep, count = inner.rpartition(" x ")
        if not sep or not count.isdigit():
            raise ValueError(f"malformed UniTuple type {text!r}")
        return types.UniTuple(parse_type(elem), int(count))
    if text.startswith("Tuple(") and text.endswith(")"):
        return types.Tuple(tuple(parse_type(p) for p in _split_top(text[len("Tuple("):-1])))
    raise ValueError(f"unsupported kernel argument type {text!r}")
