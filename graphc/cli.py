"""The ``graphc`` command: look inside and measure what graphc builds.

    graphc dump FILE [--after PASS] [--format text|dot|json] [--step train|test|predict]
    graphc dump FILE --source            # the generated native source
    graphc dump FILE --after fuse -o step.png
    graphc passes                        # the pipelines and their passes
    graphc profile FILE [--calls N] [--batch-size B] [--format table|json]
    graphc bench FILE | graphc bench --builtin [NAME ...]
    graphc cache info|clear
    graphc info                          # versions, CPU, BLAS, CUDA, settings

FILE is a Python script that builds a model or a ``K.function`` (it is run as ``__main__``
and stopped at its first training / evaluation / function call, so a training script does
not train; ``--run`` lets it finish), or a model saved as .h5. The model (or function) used
is the last model compiled, else the function whose call stopped the script, else the last
function built; ``--function NAME`` picks a function by name.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import runpy
import sys
import traceback

EXIT_USAGE = 2
EXIT_FAILURE = 1


class CLIError(Exception):
    """A user error: the message is printed as ``graphc: error: ...``."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


# ============================================================================================
# loading what a FILE builds
# ============================================================================================

class _StopScript(BaseException):
    """Raised inside the user's script at its first training/evaluation call."""


class Loaded:
    """What a FILE built: the Functions and Models seen, in creation order."""

    def __init__(self, path: str):
        self.path = path
        self.functions: list = []
        self.models: list = []
        self.stopped_at: str | None = None
        self.called = None          # the Function whose first call stopped the script

    def add_model(self, m) -> None:
        if all(m is not x for x in self.models):
            self.models.append(m)

    def target(self, function: str | None = None):
        """The object to inspect: ``function`` by name, else the last model, else the last
        function."""
        if function:
            for f in reversed(self.functions):
                if f.name == function:
                    return f
            for m in reversed(self.models):
                if function in ("train_function", "test_function", "predict_function"):
                    return getattr(m, function)
            names = sorted({f.name for f in self.functions})
            raise CLIError(f"{self.path} built no function named {function!r}; it built: "
                           f"{', '.join(names) or 'no K.function'}")
        if self.models:
            return self.models[-1]
        if self.called is not None:
            return self.called
        if self.functions:
            return self.functions[-1]
        where = f" (stopped at its first call of {self.stopped_at})" if self.stopped_at else ""
        raise CLIError(f"{self.path} built no graphc Model or K.function{where}; the script "
                       f"must build a model (and compile it for the train/test steps) or call "
                       f"K.function")


_MODEL_STOPS = ("fit", "evaluate", "predict", "train_on_batch", "test_on_batch",
                "predict_on_batch", "fit_generator", "evaluate_generator", "predict_generator")


@contextlib.contextmanager
def _capture(loaded: Loaded, stop: bool):
    """Record Functions and Models the script makes; optionally stop at the first call."""
    from .engine.sequential import Sequential
    from .engine.training import Model
    from .function import Function
    saved = []

    def patch(cls, name, make):
        if name in cls.__dict__:
            orig = cls.__dict__[name]
            saved.append((cls, name, orig))
            setattr(cls, name, make(orig))

    def wrap_init(orig):
        def __init__(self, *a, **k):
            orig(self, *a, **k)
            loaded.functions.append(self)
        return __init__

    def wrap_call(orig):
        def __call__(self, *a, **k):
            if stop:
                loaded.stopped_at = f"function {self.name!r}"
                loaded.called = self
                raise _StopScript()
            return orig(self, *a, **k)
        return __call__

    def wrap_compile(orig):
        def compile(self, *a, **k):
            out = orig(self, *a, **k)
            loaded.add_model(self)
            return out
        return compile

    def wrap_stop(method):
        def make(orig):
            def run(self, *a, **k):
                loaded.add_model(self)
                if not stop:
                    return orig(self, *a, **k)
                x = a[0] if a else k.get("x")
                if x is not None and hasattr(self, "_finish_deferred"):
                    with contextlib.suppress(Exception):   # build a deferred model from x
                        self._finish_deferred(x)
                # build the steps here, inside the user's call, as fit() would: their
                # nodes then carry the file:line of the script's fit/evaluate/predict call
                for step in ("train_function", "test_function", "predict_function"):
                    with contextlib.suppress(Exception):
                        getattr(self, step)
                loaded.stopped_at = f"Model.{method}"
                raise _StopScript()
            return run
        return make

    patch(Function, "__init__", wrap_init)
    patch(Function, "__call__", wrap_call)
    for cls in (Model, Sequential):
        patch(cls, "compile", wrap_compile)
        for m in _MODEL_STOPS:
            patch(cls, m, wrap_stop(m))
    try:
        yield
    finally:
        for cls, name, orig in reversed(saved):
            setattr(cls, name, orig)


def load(path: str, run: bool = False, safe_mode: bool = True) -> Loaded:
    """Run a script (or load an .h5 model) and collect the models and functions it built.

    Args:
        path: a ``.py`` script or a ``.h5`` / ``.hdf5`` / ``.keras`` model file.
        run: let the script run to its end (default: stop at its first training,
            evaluation, prediction or function call).
        safe_mode: for a saved model, refuse Lambda bytecode stored in the file (loading
            it would run code from the file); ``--unsafe-deserialization`` turns it off.
    Returns:
        A :class:`Loaded`.
    """
    if not os.path.exists(path):
        raise CLIError(f"file not found: {path}")
    if os.path.isdir(path):
        raise CLIError(f"{path} is a directory; give a Python script or a saved .h5 model")
    loaded = Loaded(path)
    if path.endswith((".h5", ".hdf5", ".keras")):
        try:
            from .saving import load_model
        except ImportError:
            raise CLIError("loading saved models needs graphc.saving, which is not "
                           "available in this installation", EXIT_FAILURE) from None
        from .utils.safe_mode import UnsafeDeserializationError
        try:
            loaded.add_model(load_model(path, safe_mode=safe_mode))
        except UnsafeDeserializationError as e:
            raise CLIError(f"{path}: {e} On the command line: add --unsafe-deserialization "
                           f"(only for files you trust).", EXIT_FAILURE) from None
        return loaded
    if not path.endswith(".py"):
        raise CLIError(f"{path}: expected a Python script (.py) or a saved model (.h5)")
    script_dir = os.path.dirname(os.path.abspath(path))
    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [path]
    sys.path.insert(0, script_dir)
    namespace = {}
    try:
        with _capture(loaded, stop=not run), contextlib.redirect_stdout(sys.stderr):
            try:
                namespace = runpy.run_path(path, run_name="__main__")
            except _StopScript:
                pass
            except SystemExit as e:
                if e.code not in (None, 0):
                    print(f"graphc: note: {path} exited with status {e.code}",
                          file=sys.stderr)
            except Exception as e:  # noqa: BLE001 - the user's script failed
                traceback.print_exc(file=sys.stderr)
                raise CLIError(f"the script {path} raised {type(e).__name__}: {e}",
                               EXIT_FAILURE) from None
    finally:
        sys.argv = old_argv
        sys.path[:] = old_path
    from .inspect import is_function, is_model
    for value in namespace.values():              # models/functions made at top level
        if is_model(value):
            loaded.add_model(value)
        elif is_function(value) and all(value is not f for f in loaded.functions):
            loaded.functions.append(value)
    return loaded


# ============================================================================================
# commands
# ============================================================================================

def _out(text: str, path: str | None = None) -> None:
    if path:
        from .config import atomic_write_text
        atomic_write_text(path, text if text.endswith("\n") else text + "\n")
        print(f"wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _target(args):
    loaded = load(args.file, run=getattr(args, "run", False),
                  safe_mode=not getattr(args, "unsafe_deserialization", False))
    return loaded.target(getattr(args, "function", None))


def cmd_dump(args) -> int:
    from . import inspect as gi
    from .passes.manager import PASSES
    after = args.after
    if after and after not in ("input", "final") and after.split("#")[0] not in PASSES:
        raise CLIError(f"unknown pass {after!r}; valid: input, final, "
                       f"{', '.join(PASSES)} (see `graphc passes`)")
    target = _target(args)
    if args.source:
        _out(gi.generated_source(target, step=args.step), args.output)
        return 0
    if args.all:
        _out(gi.dump_all(target, pipeline=args.pipeline, step=args.step), args.output)
        return 0
    if args.output and args.output.rsplit(".", 1)[-1].lower() in gi.RENDER_FORMATS:
        gi.render(target, args.output, step=args.step, after=after, pipeline=args.pipeline)
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    text = gi.dump(target, after=after, pipeline=args.pipeline, step=args.step,
                   format=args.format, source=not args.no_source, kernels=args.kernels,
                   kernel_ir=args.kernels)
    _out(text, args.output)
    return 0


def cmd_passes(args) -> int:
    from .passes.manager import PASSES, PIPELINES
    docs = {}
    for name, fn in PASSES.items():
        doc = _pass_doc(name, fn)
        docs[name] = doc
    if args.format == "json":
        _out(json.dumps({"passes": docs, "pipelines": PIPELINES}, indent=1))
        return 0
    from . import config
    lines = ["Passes:"]
    for name, doc in docs.items():
        lines.append(f"  {name:<12} {doc}")
    lines += ["", f"Pipelines (the 'pipeline' setting is {config.get('pipeline')!r}):"]
    for name, names in PIPELINES.items():
        lines.append(f"  {name:<13} {' -> '.join(names) or '(no passes)'}")
    lines += ["", "Dump a stage with: graphc dump FILE --after PASS   (a pass that runs "
              "twice: its last run; PASS#1 for the first)"]
    _out("\n".join(lines))
    return 0


def _pass_doc(name: str, fn) -> str:
    """First docstring line of the function a pass wrapper calls (module docstring else)."""
    import importlib
    module = {"dce": "dce", "const_fold": "const_fold", "simplify": "algebraic",
              "cse": "cse", "fuse": "fuse"}.get(name)
    doc = fn.__doc__
    if module:
        try:
            mod = importlib.import_module(f"graphc.passes.{module}")
            impl = getattr(mod, name, None) or getattr(mod, "simplify", None)
            doc = (impl.__doc__ if impl is not None and impl.__doc__ else None) or mod.__doc__
        except ImportError:
            pass
    para = (doc or "").strip().split("\n\n")[0]
    text = " ".join(line.strip() for line in para.split("\n"))
    end = text.find(". ")
    return text[:end + 1] if end >= 0 else text


def cmd_profile(args) -> int:
    from .profiler import profile
    target = _target(args)
    p = profile(target, n=args.calls, step=args.step, batch_size=args.batch_size,
                pipeline=args.pipeline, mode=args.mode,
                calibration=None if not args.no_calibration else False)
    if args.format == "json":
        _out(json.dumps(p.to_json(), indent=1), args.output)
    else:
        _out(p.table(top=args.top), args.output)
    return 0


def cmd_bench(args) -> int:
    from . import bench as gb
    if args.builtin is not None:
        if args.file:
            raise CLIError("give either FILE or --builtin, not both")
        results = gb.run_builtin(args.builtin or None, size=args.size, budget=args.budget)
    else:
        if not args.file:
            raise CLIError("graphc bench needs a FILE (a script building a model or "
                           "K.function) or --builtin")
        target = _target(args)
        results = [gb.bench(target, step=args.step, batch_size=args.batch_size,
                            budget=args.budget)]
    if args.format == "json":
        _out(gb.to_json(results), args.output)
    else:
        _out(gb.format_table(results))
        if args.output:
            _out(gb.to_json(results), args.output)
    return 0


def cmd_cache(args) -> int:
    from .codegen import cache
    if args.action == "clear":
        n = cache.clear()
        result = {"removed": n, "dir": cache.cache_dir()}
        text = f"removed {n} entries from {result['dir']}"
    else:
        result = cache.info()
        text = "\n".join([f"cache dir  {result['dir']}", f"entries    {result['entries']} "
                          f"({result['modules']} generated modules, {result['blobs']} blobs)",
                          f"size       {result['bytes'] / 2 ** 20:.2f} MiB"])
    _out(json.dumps(result, indent=1) if args.format == "json" else text)
    return 0


def system_info() -> dict:
    """Versions, CPU, BLAS, CUDA availability and settings -- without importing numba's
    CUDA support or any other heavy optional module."""
    import importlib.metadata as md
    import importlib.util
    import platform
    import shutil

    from . import __version__, config
    from .profiler import cpu_name
    versions = {"graphc": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "numba", "llvmlite", "scipy", "h5py", "networkx", "numba-cuda",
                "threadpoolctl", "pydot"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    blas = []
    try:
        from threadpoolctl import threadpool_info
        blas = [{k: d.get(k) for k in ("internal_api", "version", "num_threads",
                                       "threading_layer", "architecture")}
                for d in threadpool_info() if d.get("user_api") == "blas"]
    except ImportError:
        import numpy as np
        try:
            cfg = np.show_config(mode="dicts")
            deps = cfg.get("Build Dependencies", {})
            blas = [{"internal_api": deps.get("blas", {}).get("name"),
                     "version": deps.get("blas", {}).get("version")}]
        except (TypeError, AttributeError):
            blas = []
    import ctypes.util
    cuda = {"nvidia_smi": shutil.which("nvidia-smi") is not None,
            "libcuda": ctypes.util.find_library("cuda") is not None,
            "numba_cuda_installed": importlib.util.find_spec("numba_cuda") is not None,
            "simulator": os.environ.get("NUMBA_ENABLE_CUDASIM", "") not in ("", "0")}
    cuda["available"] = bool(cuda["libcuda"] and cuda["numba_cuda_installed"])
    path = config.settings_path()
    try:
        settings = dict(config.load())
        settings_error = None
    except config.ConfigError as e:
        settings, settings_error = {}, str(e)
    from .codegen.cache import cache_dir
    from .inspect import graphviz_available
    calib = None
    cpath = os.path.join(config.home(), "calibration.json")
    if os.path.exists(cpath):
        try:
            with open(cpath) as f:
                calib = json.load(f)
        except (OSError, json.JSONDecodeError):
            calib = None
    return {"versions": versions,
            "platform": {"system": platform.platform(), "machine": platform.machine(),
                         "cpu": cpu_name(), "cores": os.cpu_count()},
            "blas": blas, "blas_coretype": os.environ.get("OPENBLAS_CORETYPE") or None,
            "cuda": cuda,
            "settings_file": path, "settings": settings, "settings_error": settings_error,
            "home": config.home(), "cache_dir": cache_dir(),
            "graphviz": graphviz_available(), "calibration": calib}


def cmd_info(args) -> int:
    info = system_info()
    if args.format == "json":
        _out(json.dumps(info, indent=1))
        return 0
    lines = ["graphc " + str(info["versions"]["graphc"])]
    lines.append("versions   " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()
                                           if k != "graphc" and v))
    missing = [k for k, v in info["versions"].items() if not v]
    if missing:
        lines.append("not found  " + ", ".join(missing))
    p = info["platform"]
    lines.append(f"platform   {p['system']}")
    lines.append(f"cpu        {p['cpu']} ({p['cores']} cores)")
    for b in info["blas"] or [{"internal_api": "unknown"}]:
        lines.append("blas       " + ", ".join(f"{k}={v}" for k, v in b.items() if v is not None))
    if info["blas_coretype"]:
        # OpenBLAS then runs the kernels named, not the best ones for this CPU (GEMM speed)
        lines.append(f"           kernels forced by OPENBLAS_CORETYPE={info['blas_coretype']}")
    c = info["cuda"]
    lines.append(f"cuda       {'available' if c['available'] else 'not available'} "
                 f"(driver library: {'yes' if c['libcuda'] else 'no'}, numba-cuda: "
                 f"{'yes' if c['numba_cuda_installed'] else 'no'}"
                 + (", simulator on" if c["simulator"] else "") + ")")
    lines.append(f"graphviz   {'yes' if info['graphviz'] else 'no (apt-get install graphviz)'}")
    lines.append(f"home       {info['home']}")
    lines.append(f"settings   {info['settings_file']}")
    if info["settings_error"]:
        lines.append(f"           ERROR: {info['settings_error']}")
    for k, v in info["settings"].items():
        lines.append(f"             {k} = {v!r}")
    lines.append(f"cache      {info['cache_dir']}")
    _out("\n".join(lines))
    return 0


# ============================================================================================
# argument parsing
# ============================================================================================

def _add_target_args(p, steps: bool = True) -> None:
    p.add_argument("file", help="a Python script building a model or K.function, or a "
                                "saved .h5 model")
    p.add_argument("--step", choices=("train", "test", "predict"), default=None,
                   help="which step of a model (default: train if compiled, else predict)")
    p.add_argument("--function", default=None, metavar="NAME",
                   help="the K.function to use, by name (default: the last model or "
                        "function built)")
    p.add_argument("--run", action="store_true",
                   help="let the script run to its end (default: stop at its first "
                        "fit/evaluate/predict or function call)")
    p.add_argument("--pipeline", default=None,
                   help="optimisation pipeline (default: the 'pipeline' setting)")
    p.add_argument("--unsafe-deserialization", action="store_true",
                   help="let a saved model's Lambda layers run the Python bytecode stored in "
                        "the file (refused by default; only for files you trust)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphc", description="Inspect and measure graphc graphs and kernels.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n  graphc dump examples/mnist_mlp.py --after fuse\n"
               "  graphc profile examples/mnist_mlp.py --calls 20\n"
               "  graphc bench --builtin")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("dump", help="print the IR of a model's step or a K.function")
    _add_target_args(p)
    p.add_argument("--after", default=None, metavar="PASS",
                   help="the graph after this pass ('input' = as built (default), 'final', "
                        "a pass name; PASS#2 for a second run)")
    p.add_argument("--format", choices=("text", "dot", "json"), default="text")
    p.add_argument("--kernels", action="store_true",
                   help="append the fused-kernel table and the kernel IR")
    p.add_argument("--all", action="store_true", help="the graph after every pass")
    p.add_argument("--source", action="store_true",
                   help="print the generated native source instead of the IR")
    p.add_argument("--no-source", action="store_true",
                   help="leave out the file:line of each node")
    p.add_argument("-o", "--output", default=None,
                   help="write to this file; .png/.svg/.pdf renders a picture (Graphviz)")
    p.set_defaults(func=cmd_dump)

    p = sub.add_parser("passes", help="list the passes and pipelines")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_passes)

    p = sub.add_parser("profile", help="time each kernel of a model's step or K.function")
    _add_target_args(p)
    p.add_argument("--calls", type=int, default=10, help="timed calls (default 10)")
    p.add_argument("--batch-size", type=int, default=32, help="batch of the random inputs")
    p.add_argument("--mode", choices=("compiled", "reference"), default="compiled")
    p.add_argument("--top", type=int, default=25, help="kernels shown in the table")
    p.add_argument("--no-calibration", action="store_true",
                   help="skip the GFLOP/s and GB/s ceilings")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("-o", "--output", default=None, help="write the report to this file")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("bench", help="microbenchmark a function, or the built-in kernels, "
                                     "against numpy")
    p.add_argument("file", nargs="?", default=None, help="a script building a model or "
                                                         "K.function")
    p.add_argument("--builtin", nargs="*", default=None, metavar="NAME",
                   help="the built-in kernels (elementwise, mlp_step, conv, lstm_step; "
                        "default all)")
    p.add_argument("--size", choices=("small", "default"), default="default")
    p.add_argument("--budget", type=float, default=0.5,
                   help="seconds of timing per side, about (default 0.5)")
    p.add_argument("--step", choices=("train", "test", "predict"), default=None)
    p.add_argument("--function", default=None, metavar="NAME")
    p.add_argument("--run", action="store_true")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("-o", "--output", default=None, help="also write the JSON here")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("cache", help="the compile cache: info or clear")
    p.add_argument("action", choices=("info", "clear"))
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_cache)

    p = sub.add_parser("info", help="versions, CPU, BLAS, CUDA and settings")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv=None) -> int:
    """Run the ``graphc`` command; returns the exit status.

    Example:
        >>> main(["passes"])
        0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    from .config import ConfigError
    from .inspect import GraphvizNotFound, InspectError
    from .passes.manager import PassError
    try:
        return args.func(args)
    except CLIError as e:
        print(f"graphc: error: {e}", file=sys.stderr)
        return e.code
    except (InspectError, PassError, ConfigError) as e:
        print(f"graphc: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except GraphvizNotFound as e:
        print(f"graphc: error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:                 # `graphc dump ... | head`
        return 0
