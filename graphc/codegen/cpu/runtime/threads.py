"""numba's threads for generated code: which threading layer runs prange loops and the
parallel kernels (tbb where oneTBB loads, else workqueue; never omp), and starting them before
generated code that calls a parallel kernel directly runs.
"""
from __future__ import annotations

import functools
import os

__all__ = ["choose_threading_layer", "load_tbb", "start_threads"]


def choose_threading_layer() -> None:
    """Choose numba's threading layer for prange loops and the parallel kernels, unless the
    user chose one (``NUMBA_THREADING_LAYER``): ``tbb`` when Intel's oneTBB loads (the ``tbb``
    package, a dependency on x86-64), else ``workqueue``; never numba's own first pick
    ``omp``. Takes effect only before the first parallel loop of the process runs.

    Measured on the 2-core dev machine (bench/RESULTS.md): starting a parallel region costs
    ~70-90 us on ``workqueue`` (its workers sleep between regions), 1.5-4 us on ``tbb`` and
    <1 us on ``omp``; the convnet step has eight regions. ``omp``'s idle threads spin after
    each region and take the cores from OpenBLAS and PyTorch in the same process (an MLP
    step with two BLAS threads right after a convnet step: 16.8 ms with omp, 10.4 with
    workqueue, 9.7 with tbb, 9.4-9.8 alone). numba documents ``tbb`` as thread- and fork-safe.
    """
    if "NUMBA_THREADING_LAYER" in os.environ:
        return
    import numba
    numba.config.THREADING_LAYER = "tbb" if load_tbb() else "workqueue"


@functools.cache
def load_tbb() -> bool:
    """Whether numba's tbb threading layer can load, making it able to where possible.

    pip puts the ``tbb`` package's ``libtbb.so.12`` in ``<prefix>/lib``, which is not on the
    dynamic loader's path of a pyenv / virtualenv Python, so numba's ``tbbpool`` extension
    fails to load it by name. Loading the library by its path first (``RTLD_GLOBAL``) makes
    the by-name load find it.
    """
    import ctypes
    import importlib
    import sys

    def importable() -> bool:
        # numba's tbbpool extension loads, and the oneTBB it found is new enough for numba
        # (its own check, TBB_INTERFACE_VERSION >= 12060, i.e. 2021 update 6): else numba
        # would refuse the layer at the first parallel loop, too late to pick another
        try:
            importlib.import_module("numba.np.ufunc.tbbpool")
            name = {"win32": "tbb12.dll", "darwin": "libtbb.12.dylib"}.get(sys.platform,
                                                                            "libtbb.so.12")
            version = ctypes.CDLL(name).TBB_runtime_interface_version
            version.restype = ctypes.c_int
            return version() >= 12060
        except (ImportError, OSError, AttributeError):
            return False

    if importable():
        return True
    if not sys.platform.startswith("linux"):
        return False
    candidates = [os.path.join(p, "lib", "libtbb.so.12")
                  for p in dict.fromkeys((sys.prefix, sys.base_prefix, sys.exec_prefix))]
    try:
        from importlib.metadata import PackageNotFoundError, files
        try:
            candidates += [str(f.locate()) for f in files("tbb") or ()
                           if f.name == "libtbb.so.12"]
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    for path in candidates:
        if os.path.isfile(path):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            except OSError:
                continue
            return importable()
    return False


def start_threads() -> None:
    """Start numba's thread pool before a generated function calls a parallel kernel.

    A cached generated function that calls a ``parallel=True`` kernel runs the kernel's
    parallel region without going through the kernel's dispatcher, which is what normally
    launches the threads: loaded from numba's cache it would call into a threading layer
    that was never started and crash (numba issue #8578). Starting it here, at lowering
    time, is idempotent and cheap. The tbb layer is preferred, else workqueue (see there).
    """
    from numba.np.ufunc.parallel import _launch_threads
    choose_threading_layer()
    _launch_threads()
