"""The on-disk compile cache: generated source modules and compiled artefacts.

Layout of the cache folder (``$GRAPHC_CACHE_DIR``, else ``<graphc home>/cache``)::

    graphc_gen_<key>.py          generated source, imported as module ``graphc_gen_<key>``
    __pycache__/graphc_gen_<key>.*.nbi / .nbc
                                 numba's own cache of the ``@njit(cache=True)`` functions in it
    <key>.<name>.blob            other artefacts (e.g. object code): magic, sha256, payload

Why a file per key: numba's ``cache=True`` only works for functions defined in a real file
(``exec()``-made functions have "no locator"), and numba 0.68 keys its cache on the sha256
of that file's content plus the function's bytecode. The file name carries :func:`key`,
which hashes what numba does not see: the graph, and the versions of graphc (including the
code generator's own source), numba, llvmlite, numpy, Python and the CPU.

What the cache trusts: only itself. Generated modules are executed, and numba's index /
data files and graphc's marshalled code objects are unpickled / unmarshalled, so an entry
written by anyone else would run as your code. The folder is created 0700; compiled code is
written to and read from it only while the folder, its ``__pycache__`` and each file read
belong to the current user and are not writable by group or others. Otherwise graphc warns
once (:class:`CacheTrustWarning`), writes nothing there, and compiles into a private folder of
this process (``tempfile.mkdtemp``, 0700, deleted at exit): correct, but every process then
compiles cold. numba's own cache files of the generated functions are kept in that same
folder's ``__pycache__`` (never ``NUMBA_CACHE_DIR`` or numba's user-wide folder).

Guarantees:
    - Every write is atomic (temporary file in the same folder + ``os.replace``), so two
      processes compiling the same key at once both succeed and readers never see a torn
      file.
    - A damaged entry is a miss that gets rebuilt: a generated file whose content differs
      from the source is rewritten; a numba index/data file that fails to load (truncated,
      garbage) is flushed and the function recompiled; a blob with a bad checksum is
      deleted and reported absent.
    - With ``GRAPHC_LOG_COMPILES=1`` every hit and miss is logged at INFO on the
      ``graphc.compile`` logger with the key and the reason (always at DEBUG otherwise).

Example:
    >>> from graphc.codegen import cache
    >>> k = cache.key("graph text", (1, 2))
    >>> mod = cache.load_generated_module("def f():\\n    return 42\\n", k)
    >>> mod.f()
    42
"""
from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.util
import logging
import marshal
import os
import platform
import re
import shutil
import stat
import sys
import tempfile
import types
import warnings

from graphc import config

__all__ = ["cache_dir", "key", "load_generated_module", "store_blob", "load_blob", "info",
           "clear", "logger", "CacheTrustWarning"]

logger = logging.getLogger("graphc.compile")

_KEY_RE = re.compile(r"[0-9A-Za-z_]{1,128}")
_NAME_RE = re.compile(r"[0-9A-Za-z_][0-9A-Za-z_.\-]{0,127}")
_BLOB_MAGIC = b"GRAPHC-BLOB-1\n"
_CODE_MAGIC = b"GRAPHC-CODE-1\n"
_BLOB_SUFFIX = ".blob"
_DIGEST_SIZE = hashlib.sha256().digest_size
_FILE_MODE = 0o600         # cache entries: read and written by their owner only
_DIR_MODE = 0o700


class CacheTrustWarning(UserWarning):
    """The compile cache folder is not private to the current user, so graphc neither loads
    compiled code from it nor writes there (it compiles in a private temporary folder)."""


# --------------------------------------------------------------------------------------------
# folder, logging, atomic writes
# --------------------------------------------------------------------------------------------

def cache_dir() -> str:
    """The cache folder (created 0700 if missing).

    Returns:
        ``$GRAPHC_CACHE_DIR`` when set, else ``<graphc home>/cache`` (``~/.graphc/cache``).
        Whether graphc trusts it (owned by you, not writable by group or others) is checked
        each time compiled code is read or written; see the module docstring.

    Example:
        >>> import graphc.cache
        >>> graphc.cache.cache_dir()            # doctest: +SKIP
        '/home/me/.graphc/cache'
    """
    path = os.environ.get("GRAPHC_CACHE_DIR")
    if path:
        path = os.path.abspath(os.path.expanduser(path))
    else:
        path = os.path.join(config.home(), "cache")
    os.makedirs(path, mode=_DIR_MODE, exist_ok=True)
    return path


def _euid() -> int | None:
    """The effective uid, None where the platform has none (then ownership is not checked)."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid() if geteuid is not None else None


def _stat(path: str, follow: bool) -> os.stat_result:
    # one place to stat, so tests can present another owner or mode without being root
    return os.stat(path) if follow else os.lstat(path)


def _distrust(path: str, folder: bool) -> str | None:
    """Why ``path`` must not be read from or written to, or None when it may be (a missing
    path holds nothing to read: None). The folder may be reached through a link; a file in
    it must be a plain file itself."""
    uid = _euid()
    if uid is None:
        return None
    try:
        st = _stat(path, follow=folder)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be examined ({exc.strerror})"
    if folder and not stat.S_ISDIR(st.st_mode):
        return "is not a folder"
    if not folder and not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_uid != uid:
        return f"is owned by uid {st.st_uid}, not by you (uid {uid})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


_WARNED: set = set()
_PRIVATE: list = []        # this process's private fallback folder, made on first need


def _private_dir() -> str:
    """A folder only this process uses (0700 from mkdtemp), removed when the process exits."""
    if not _PRIVATE or not os.path.isdir(_PRIVATE[0]):
        path = tempfile.mkdtemp(prefix="graphc-private-cache-")
        atexit.register(shutil.rmtree, path, True)
        _PRIVATE[:] = [path]
    return _PRIVATE[0]


def _untrusted(folder: str) -> str | None:
    """Why the cache ``folder`` is not trusted, or None."""
    problem = _distrust(folder, folder=True)
    if problem:
        return f"the compile cache folder {folder} {problem}"
    pycache = os.path.join(folder, "__pycache__")
    problem = _distrust(pycache, folder=True)
    if problem:
        return f"the compile cache's code folder {pycache} {problem}"
    return None


def _store_dir() -> str:
    """Where compiled code is written and read: :func:`cache_dir` when it is trusted, else
    this process's private folder (after one :class:`CacheTrustWarning` per folder)."""
    folder = cache_dir()
    problem = _untrusted(folder)
    if problem is None:
        os.makedirs(os.path.join(folder, "__pycache__"), mode=_DIR_MODE, exist_ok=True)
        return folder
    if problem not in _WARNED:
        _WARNED.add(problem)
        _log("cache untrusted", "*", problem)
        warnings.warn(
            f"{problem}, so graphc will not load compiled code from it or write there "
            f"(code found there could have been written by someone else). Compiling in a "
            f"private temporary folder instead: correct, but no compile is reused by later "
            f"processes. To fix: make the folder yours with mode 700 (chmod 700 {folder}), "
            f"or set GRAPHC_CACHE_DIR to a folder only you can write.",
            CacheTrustWarning, stacklevel=3)
    private = _private_dir()
    os.makedirs(os.path.join(private, "__pycache__"), mode=_DIR_MODE, exist_ok=True)
    return private


def _log(event: str, key: str, reason: str) -> None:
    """Log a cache event: INFO when GRAPHC_LOG_COMPILES=1 (with a stderr handler if the
    application configured none), DEBUG otherwise."""
    if os.environ.get("GRAPHC_LOG_COMPILES", "") not in ("", "0"):
        if not logger.hasHandlers():
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        logger.info("%s key=%s: %s", event, key, reason)
    else:
        logger.debug("%s key=%s: %s", event, key, reason)


def _atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one whole."""
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix="-" + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)          # mkstemp makes 0600 already; say so
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _check_key(value, what: str = "key") -> str:
    if not isinstance(value, str) or not _KEY_RE.fullmatch(value):
        raise ValueError(
            f"cache {what} must be 1-128 characters of [0-9A-Za-z_] (e.g. from "
            f"graphc.codegen.cache.key()), got {value!r}")
    return value


# --------------------------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------------------------

def _codegen_source_digest() -> str:
    """sha256 over the code generator's own .py files: generated code inlines them (e.g. the
    mathlib functions), so an edit must invalidate the cache even if the version did not move."""
    root = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                h.update(os.path.relpath(path, root).encode())
                with open(path, "rb") as f:
                    h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _environment() -> tuple:
    """What, besides the caller's parts, decides the compiled code (computed once)."""
    import llvmlite
    import llvmlite.binding as llvm
    import numba
    import numpy

    from ..version import __version__

    try:
        features = llvm.get_host_cpu_features().flatten()
    except RuntimeError:            # not every platform reports features
        features = ""
    return (
        ("graphc", __version__, _codegen_source_digest()),
        ("numba", numba.__version__), ("llvmlite", llvmlite.__version__),
        ("numpy", numpy.__version__),
        ("python", sys.version, sys.implementation.cache_tag),
        ("machine", platform.machine()),
        ("cpu", llvm.get_host_cpu_name(), features),
        # numba compiles for these instead of the host when they are set
        ("numba_cpu", os.environ.get("NUMBA_CPU_NAME", ""),
         os.environ.get("NUMBA_CPU_FEATURES", "")),
    )


def _feed(h, part, where: str) -> None:
    # type tag + length prefix: ("ab", "c") and ("a", "bc") hash differently
    if isinstance(part, bytes):
        tag, data = b"b", part
    elif isinstance(part, str):
        tag, data = b"s", part.encode("utf-8")
    elif part is None or isinstance(part, (bool, int, float)):
        tag, data = b"r", repr(part).encode()
    elif isinstance(part, (tuple, list)):
        h.update(b"t%d;" % len(part))
        for i, item in enumerate(part):
            _feed(h, item, f"{where}[{i}]")
        return
    else:
        raise TypeError(
            f"cache key part {where} has type {type(part).__name__}; use str, bytes, int, "
            f"float, bool, None or tuples/lists of these")
    h.update(tag + b"%d;" % len(data) + data)


def key(*parts) -> str:
    """A cache key: sha256 over ``parts`` and the compile environment.

    The environment is the versions of graphc (and a digest of graphc's codegen source),
    numba, llvmlite, numpy and Python, and the CPU (``llvmlite.binding.get_host_cpu_name()``
    and its features, or ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` when set).

    Args:
        *parts: str, bytes, int, float, bool, None, or tuples/lists of these, e.g. the
            printed optimised graph and the input dtypes.

    Returns:
        64 lowercase hex characters.

    Example:
        >>> from graphc.codegen import cache
        >>> len(cache.key("graph f(x: f32[B]) {...}", ("float32",)))
        64
    """
    h = hashlib.sha256(b"graphc-cache-key-1;")
    _feed(h, list(parts), "parts")
    _feed(h, [list(item) for item in _environment()], "environment")
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# generated modules
# --------------------------------------------------------------------------------------------

def _ensure_source_file(path: str, data: bytes) -> tuple[bool, str]:
    """Make ``path`` hold exactly ``data``; (hit, reason)."""
    problem = _distrust(path, folder=False)
    if problem:
        _atomic_write_bytes(path, data)
        return False, f"source file {problem}: replaced by this process's own"
    try:
        with open(path, "rb") as f:
            existing = f.read()
    except FileNotFoundError:
        _atomic_write_bytes(path, data)
        return False, "new source file written"
    if existing == data:
        return True, "source file present and identical"
    _atomic_write_bytes(path, data)
    return False, (f"source file differed from the source ({len(existing)} vs {len(data)} "
                   f"bytes: damaged or truncated), rewritten")


def _describe_sig(sig) -> str:
    return str(sig) if not isinstance(sig, (tuple, list)) else \
        "(" + ", ".join(str(t) for t in sig) + ")"


def _load_without_refresh(cache):
    """numba's ``Cache.load_overload`` minus its ``target_context.refresh()``, or None when
    this numba lacks the private pieces it needs (then numba's own method is used).

    ``refresh()`` installs every typing and lowering registry of numba (it imports
    ``numba.np.*`` and builds the template tables): 0.1-0.2 s of a warm start, and nothing a
    cache hit uses. Rebuilding a cached overload only unpickles the object code, links it
    and wraps the entry point. What linking needs from ``refresh`` is done here: the
    runtime (NRT: its C symbols and atomic helpers, ``rtsys.initialize``) and the one
    registry module that registers C symbols when imported (``numba.cpython.hashing``).
    The helper-library and math symbols are registered when the target context is created.
    Every real compile refreshes the contexts itself (``numba.core.compiler.CompilerBase``),
    so a later miss in the same process still finds them complete.
    """
    inner = getattr(cache, "_load_overload", None)
    guard = getattr(cache, "_guard_against_spurious_io_errors", None)
    try:
        from numba.core.runtime import rtsys
    except ImportError:
        return None
    if inner is None or guard is None or not hasattr(rtsys, "initialize"):
        return None

    def load(sig, target_context):
        rtsys.initialize(target_context)
        import numba.cpython.hashing  # noqa: F401 - registers _Py_HashSecret symbols
        result = None
        with guard():
            result = inner(sig, target_context)
        return result
    return load


def _keep_numba_files_in(cache, pycache: str, module_key: str) -> bool:
    """Point numba's cache of one function at ``pycache`` (the trusted folder's), whatever
    locator numba chose (``NUMBA_CACHE_DIR``, its user-wide folder), and make it read only
    files that pass :func:`_distrust` and write them 0600. False when this numba lacks the
    private pieces needed (then the caller disables numba's cache for the function)."""
    try:
        old = cache._cache_file
        if os.path.abspath(cache._cache_path) != pycache:
            old = type(old)(cache_path=pycache, filename_base=old._index_name[:-len(".nbi")],
                            source_stamp=old._source_stamp)
            cache._cache_file, cache._cache_path = old, pycache
        cf = old
        load_index, load_data = cf._load_index, cf._load_data
        save_index, save_data = cf._save_index, cf._save_data
        index_path, data_path = cf._index_path, cf._data_path
    except (AttributeError, TypeError):
        return False

    def checked_load_index():
        problem = _distrust(index_path, folder=False)
        if problem:                 # an empty index: a miss, and the next save replaces it
            _log("numba cache miss", module_key, f"index {index_path} {problem}: not read")
            return {}
        return load_index()

    def checked_load_data(name):
        problem = _distrust(data_path(name), folder=False)
        if problem:                 # numba treats OSError here as a missing entry
            raise OSError(f"numba cache file {data_path(name)} {problem}: not read")
        return load_data(name)

    def private_save_index(overloads):
        save_index(overloads)
        os.chmod(index_path, _FILE_MODE)

    def private_save_data(name, data):
        save_data(name, data)
        os.chmod(data_path(name), _FILE_MODE)

    cf._load_index, cf._load_data = checked_load_index, checked_load_data
    cf._save_index, cf._save_data = private_save_index, private_save_data
    return True


def _guard_numba_cache(dispatcher, module_key: str, pycache: str) -> None:
    """Make numba's cache of ``dispatcher`` live in ``pycache`` only (see
    :func:`_keep_numba_files_in`) and a damaged entry a logged miss, not a crash.

    numba loads its index / data files with pickle and lets any error escape, so a truncated
    ``.nbi`` or ``.nbc`` would break every later call. The wrapper flushes numba's index
    (numba then recompiles and overwrites the data file) and logs hits and misses.
    """
    cache = getattr(dispatcher, "_cache", None)
    if cache is None or getattr(cache, "_graphc_guarded", False) \
            or not hasattr(cache, "load_overload"):
        return
    if not _keep_numba_files_in(cache, pycache, module_key):
        _log("numba cache disabled", module_key,
             "this numba's cache internals are not the expected ones; compiling each time")
        cache.disable()
        cache._graphc_guarded = True
        return
    load, save = cache.load_overload, cache.save_overload
    load = _load_without_refresh(cache) or load
    fname = getattr(dispatcher, "__qualname__", getattr(dispatcher, "__name__", "?"))

    def load_overload(sig, target_context):
        try:
            result = load(sig, target_context)
        except Exception as exc:   # noqa: BLE001 - any failure to load is a miss
            _log("numba cache miss", module_key,
                 f"{fname}{_describe_sig(sig)}: damaged numba cache file "
                 f"({type(exc).__name__}: {exc}); flushed, recompiling")
            try:
                cache.flush()
            except Exception:      # noqa: BLE001 - rebuilt on the next save anyway
                pass
            return None
        if result is None:
            _log("numba cache miss", module_key, f"{fname}{_describe_sig(sig)}: no entry, "
                 "compiling")
        else:
            _log("numba cache hit", module_key, f"{fname}{_describe_sig(sig)}")
        return result

    def save_overload(sig, data):
        try:
            save(sig, data)
        except Exception as exc:   # noqa: BLE001 - the compiled function is still valid
            _log("numba cache save failed", module_key,
                 f"{fname}{_describe_sig(sig)}: {type(exc).__name__}: {exc}; flushed")
            try:
                cache.flush()
            except Exception:      # noqa: BLE001
                pass

    cache.load_overload = load_overload
    cache.save_overload = save_overload
    cache._graphc_guarded = True


def _guard_module(module: types.ModuleType, module_key: str, pycache: str) -> None:
    """Guard the numba cache of every function the generated module defines. The runtime
    functions it imports (graphc's precompiled kernels, the math library) keep numba's own
    cache beside graphc's package: compiled once per installation, not once per compile
    cache (pointing them here made every new graphc home compile the convolution kernels
    again, ~15 s)."""
    from numba.core.dispatcher import Dispatcher

    for value in list(vars(module).values()):
        if isinstance(value, Dispatcher) and \
                getattr(value.py_func, "__module__", None) == module.__name__:
            _guard_numba_cache(value, module_key, pycache)


def _code_path(source_path: str) -> str:
    folder, base = os.path.split(source_path)
    return os.path.join(folder, "__pycache__",
                        f"{base[:-3]}.graphc-{sys.implementation.cache_tag}.code")


def _module_code(source: str, data: bytes, path: str, key: str) -> types.CodeType:
    """The code object of a generated module: from its bytecode file next to numba's cache
    (``__pycache__/<name>.graphc-<python tag>.code``) when that file is whole and belongs to
    exactly these source bytes, else compiled from ``source`` and the file (re)written.

    Compiling the ~500 lines of a training step costs ~10 ms of every warm start; loading the
    marshalled code ~0.1 ms. The file holds a magic line, the sha256 of the source bytes and
    the sha256 of the payload, so a stale, truncated or garbled file is a miss (recompiled),
    never wrong code. Python's own ``.pyc`` is not used: it trusts file timestamps, and this
    must hold with ``PYTHONDONTWRITEBYTECODE`` set too.
    """
    code_path = _code_path(path)
    want = hashlib.sha256(data).digest()
    head = len(_CODE_MAGIC) + 2 * _DIGEST_SIZE
    problem = _distrust(code_path, folder=False)
    try:
        if problem:
            _log("cache miss", key, f"bytecode file {code_path} {problem}: not read")
            raw = b""
        else:
            with open(code_path, "rb") as f:
                raw = f.read()
    except OSError:
        raw = b""
    if len(raw) > head and raw.startswith(_CODE_MAGIC) and \
            raw[len(_CODE_MAGIC):len(_CODE_MAGIC) + _DIGEST_SIZE] == want and \
            hashlib.sha256(raw[head:]).digest() == raw[head - _DIGEST_SIZE:head]:
        try:
            code = marshal.loads(raw[head:])
        except (EOFError, ValueError, TypeError):
            code = None
        # co_filename locates numba's cache: a folder copied elsewhere recompiles
        if isinstance(code, types.CodeType) and code.co_filename == path:
            return code
    code = compile(source, path, "exec")
    payload = marshal.dumps(code)
    try:
        os.makedirs(os.path.dirname(code_path), mode=_DIR_MODE, exist_ok=True)
        _atomic_write_bytes(code_path,
                            _CODE_MAGIC + want + hashlib.sha256(payload).digest() + payload)
    except OSError as exc:          # read-only cache folder: the module still loads
        _log("cache save failed", key, f"bytecode of the generated module: {exc}")
    return code


def load_generated_module(source: str, key: str, module_prefix: str = "graphc_gen"
                          ) -> types.ModuleType:
    """Write generated ``source`` to the cache folder and import it as a module.

    The file is ``<cache_dir()>/<module_prefix>_<key>.py``: reused when present with the same
    content, (re)written atomically otherwise. The module is registered in ``sys.modules``
    under its name before its body runs, so numba's ``@njit(cache=True)`` functions in it are
    cached next to it (``__pycache__``) and a later process loads them instead of compiling.
    Within one process the same (name, source) returns the already-imported module.

    The body is compiled from ``source`` itself (the bytes just checked against the file), so a
    stale ``.pyc`` of an earlier damaged file can never run.

    Args:
        source: Python source text of the module.
        key: the cache key, e.g. from :func:`key` (``[0-9A-Za-z_]``, at most 128 characters).
        module_prefix: start of the module and file name (a Python identifier).

    Returns:
        The imported module.

    Raises:
        ValueError: on a malformed ``key`` or ``module_prefix``.
        TypeError: when ``source`` is not a str.

    Example:
        >>> from graphc.codegen import cache
        >>> src = "from numba import njit\\n@njit(cache=True)\\ndef f(x):\\n    return x + 1\\n"
        >>> cache.load_generated_module(src, cache.key(src)).f(1)
        2
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be str (Python source text), got {type(source).__name__}")
    _check_key(key)
    if not (isinstance(module_prefix, str) and module_prefix.isidentifier()):
        raise ValueError(f"module_prefix must be a Python identifier, got {module_prefix!r}")
    name = f"{module_prefix}_{key}"
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__graphc_source__", None) == source:
        _log("cache hit", key, f"module {name} already imported in this process")
        return existing

    folder = _store_dir()
    path = os.path.join(folder, name + ".py")
    data = source.encode("utf-8")
    hit, reason = _ensure_source_file(path, data)
    _log("cache hit" if hit else "cache miss", key, f"generated module: {reason}")

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.__graphc_source__ = source
    code = _module_code(source, data, path, key)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        if sys.modules.get(name) is module:
            del sys.modules[name]
        raise
    _guard_module(module, key, os.path.join(folder, "__pycache__"))
    return module


# --------------------------------------------------------------------------------------------
# blobs
# --------------------------------------------------------------------------------------------

def _blob_path(key: str, name: str) -> str:
    _check_key(key)
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or ".." in name:
        raise ValueError(
            f"blob name must be 1-128 characters of [0-9A-Za-z_.-] not starting with '.' or "
            f"'-' and without '..', got {name!r}")
    return os.path.join(_store_dir(), f"{key}.{name}{_BLOB_SUFFIX}")


def store_blob(key: str, name: str, data: bytes) -> str:
    """Store ``data`` (e.g. object code) under (``key``, ``name``), atomically, with a checksum.

    Args:
        key: the cache key (see :func:`key`).
        name: what the artefact is, e.g. ``"kernel.o"`` (``[0-9A-Za-z_.-]``).
        data: the bytes.

    Returns:
        The path of the entry.

    Example:
        >>> from graphc.codegen import cache
        >>> k = cache.key("g")
        >>> _ = cache.store_blob(k, "kernel.o", b"\\x7fELF...")
        >>> cache.load_blob(k, "kernel.o")
        b'\\x7fELF...'
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    path = _blob_path(key, name)
    _atomic_write_bytes(path, _BLOB_MAGIC + hashlib.sha256(data).digest() + data)
    return path


def load_blob(key: str, name: str) -> bytes | None:
    """The bytes stored under (``key``, ``name``), or None when absent or damaged.

    A damaged entry (wrong header or checksum, e.g. truncated) is deleted and is a miss.

    Args:
        key: the cache key.
        name: the artefact name given to :func:`store_blob`.

    Returns:
        The stored bytes, or None.

    Example:
        >>> from graphc.codegen import cache
        >>> cache.load_blob(cache.key("never stored"), "kernel.o") is None
        True
    """
    path = _blob_path(key, name)
    problem = _distrust(path, folder=False)
    if problem:
        _log("cache miss", key, f"blob {name!r} {problem}: not read, deleted")
        try:
            os.unlink(path)
        except OSError:
            pass
        return None
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        _log("cache miss", key, f"blob {name!r}: absent")
        return None
    head = len(_BLOB_MAGIC) + _DIGEST_SIZE
    payload = raw[head:]
    if (len(raw) < head or not raw.startswith(_BLOB_MAGIC)
            or hashlib.sha256(payload).digest() != raw[len(_BLOB_MAGIC):head]):
        _log("cache miss", key, f"blob {name!r}: damaged (bad header or checksum), deleted")
        try:
            os.unlink(path)
        except OSError:
            pass
        return None
    _log("cache hit", key, f"blob {name!r}: {len(payload)} bytes")
    return payload


# --------------------------------------------------------------------------------------------
# user API
# --------------------------------------------------------------------------------------------

def _is_entry(filename: str) -> bool:
    return not filename.startswith(".") and (
        filename.endswith(".py") or filename.endswith(_BLOB_SUFFIX))


def info() -> dict:
    """What the cache holds.

    Returns:
        ``{"dir": folder, "entries": generated modules + blobs, "modules": n, "blobs": n,
        "bytes": size of every file in the folder, numba's cache files included}``.

    Example:
        >>> import graphc.cache
        >>> sorted(graphc.cache.info())
        ['blobs', 'bytes', 'dir', 'entries', 'modules']
    """
    folder = cache_dir()
    modules = blobs = total = 0
    for root, _dirs, files in os.walk(folder):
        for filename in files:
            try:
                total += os.path.getsize(os.path.join(root, filename))
            except OSError:         # removed meanwhile by another process
                continue
            if root == folder and _is_entry(filename):
                if filename.endswith(".py"):
                    modules += 1
                else:
                    blobs += 1
    return {"dir": folder, "entries": modules + blobs, "modules": modules, "blobs": blobs,
            "bytes": total}


def clear() -> int:
    """Delete every cache entry (generated modules, numba's cache files, blobs).

    Modules already imported in this process keep working. A folder graphc does not trust
    (see the module docstring) is left as it is: one :class:`CacheTrustWarning`, 0 removed.

    Returns:
        The number of entries (modules + blobs) removed.

    Example:
        >>> import graphc.cache
        >>> graphc.cache.clear()               # doctest: +SKIP
        12
    """
    folder = cache_dir()
    if _store_dir() != folder:      # untrusted: warned, and nothing is written there
        return 0
    removed = 0
    for filename in os.listdir(folder):
        path = os.path.join(folder, filename)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
            continue
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        if _is_entry(filename):
            removed += 1
    _log("cache cleared", "*", f"{removed} entries removed from {folder}")
    return removed
