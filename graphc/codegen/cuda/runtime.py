"""The one place graphc imports CUDA: numba-cuda (or its simulator), lazily.

Nothing else in graphc imports ``numba.cuda``; every CUDA module asks :func:`cuda` for it.
The import costs 1-3 s and happens on the first use of the GPU path, never at
``import graphc``.

Which implementation:

* ``numba-cuda`` (``pip install "graphc[gpu]"``: numba-cuda[cu12]), which takes over
  ``from numba import cuda`` through its import hook and reports
  ``cuda.implementation == "NVIDIA"``. numba's deprecated built-in target
  (``implementation == "Built-in"``) is refused unless it runs as the simulator.
* the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``): kernels run on the CPU, in Python threads,
  about 1 ms per simulated thread -- for tests; :func:`simulated` is True and launch
  configurations shrink (:func:`launch_config`).
* ``GRAPHC_CUDA_IMPL=numba_cuda_mlir`` tries ``from numba_cuda_mlir import cuda`` first (the
  successor package; graphc's kernels use only the common subset: ``cuda.jit``, ``cuda.grid``,
  shared and local arrays, ``syncthreads``).

Example:
    >>> from graphc.codegen.cuda import runtime
    >>> runtime.available()          # False on a machine without a GPU or simulator
    False
"""
from __future__ import annotations

import os
import warnings

_state: dict = {}


class CudaUnavailableError(RuntimeError):
    """No usable CUDA implementation: no GPU, no numba-cuda, and the simulator is off."""


def _import():
    """Import the CUDA module once; returns (module or None, reason string)."""
    if "mod" in _state:
        return _state["mod"], _state["why"]
    mod, why = None, ""
    if os.environ.get("GRAPHC_CUDA_IMPL", "") == "numba_cuda_mlir":
        try:
            from numba_cuda_mlir import cuda as mod     # noqa: F811
            why = "numba_cuda_mlir"
        except ImportError as e:
            why = f"numba_cuda_mlir could not be imported ({e}); "
            mod = None
    if mod is None:
        _numpy_compat()
        # small grids are deliberate for small tensors; numba-cuda warns on every such launch
        os.environ.setdefault("NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS", "0")
        try:
            from numba import cuda as mod  # noqa: F811 -- numba-cuda's import hook redirects
        except ImportError as e:  # pragma: no cover - numba always ships numba.cuda today
            _state.update(mod=None, why=why + f"numba.cuda could not be imported: {e}")
            return None, _state["why"]
        impl = getattr(mod, "implementation", "Built-in")
        if impl != "NVIDIA" and not is_simulator_env():
            why += (f"numba.cuda is numba's deprecated built-in target (implementation "
                    f"{impl!r}); install the maintained package: pip install "
                    f"\"numba-cuda[cu12]\" (or graphc[gpu])")
            mod = None
        else:
            why = f"numba.cuda ({impl}{', simulator' if is_simulator_env() else ''})"
    _state.update(mod=mod, why=why)
    return mod, why


def _numpy_compat() -> None:
    """numba-cuda 0.30.4 reads ``np.row_stack`` while building its typing tables (even for a
    trivial kernel), and numpy 2.5 removed that alias of ``np.vstack``: every kernel compile
    then fails with "module 'numpy' has no attribute 'row_stack'" (seen on the H100 image:
    numba 0.68.0, numba-cuda 0.30.4, numpy 2.5.2). Restore the alias -- it is the same
    function numpy < 2.5 exported -- before numba-cuda is imported."""
    import numpy as np
    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack


def is_simulator_env() -> bool:
    """True when ``NUMBA_ENABLE_CUDASIM=1`` (read by numba at import time)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def cuda_module():
    """The ``cuda`` module without checking for a device (building kernels, ``compile_ptx``).

    Raises :class:`CudaUnavailableError` when no usable implementation can be imported.
    """
    mod, why = _import()
    if mod is None:
        raise CudaUnavailableError(f"graphc: CUDA is not usable: {why}")
    return mod


def cuda():
    """The ``cuda`` module (numba-cuda or the simulator), checked to have a device.

    Returns:
        The module; raises :class:`CudaUnavailableError` naming the cause when there is none.

    Example:
        >>> cuda().to_device(np.ones(3, np.float32)).copy_to_host()
        array([1., 1., 1.], dtype=float32)
    """
    mod, why = _import()
    if mod is None:
        raise CudaUnavailableError(f"graphc: CUDA is not usable: {why}")
    if not _device_ok(mod):
        raise CudaUnavailableError(
            f"graphc: CUDA is not usable: {why} is installed but no GPU was found "
            f"(cuda.is_available() is False: no NVIDIA driver or device). Set "
            f"device='cpu' (graphc.config.set('device', 'cpu')), or NUMBA_ENABLE_CUDASIM=1 "
            f"to run the CUDA kernels in numba's simulator (slow; for tests)")
    return mod


def _device_ok(mod) -> bool:
    if "ok" not in _state:
        try:
            _state["ok"] = bool(mod.is_available())
        except Exception:   # a broken driver install raises instead of answering False
            _state["ok"] = False
    return _state["ok"]


def available() -> bool:
    """True when CUDA kernels can run here (a GPU with numba-cuda, or the simulator).

    Example:
        >>> available()
        False
    """
    mod, _ = _import()
    return mod is not None and _device_ok(mod)


def unavailable_reason() -> str:
    """Why :func:`available` is False ('' when it is True)."""
    mod, why = _import()
    if mod is None:
        return why
    if not _device_ok(mod):
        return f"{why} is installed but no GPU was found (cuda.is_available() is False)"
    return ""


def simulated() -> bool:
    """True when kernels run in numba's CUDA simulator."""
    mod, _ = _import()
    return mod is not None and is_simulator_env()


_warned_fallback = False


def warn_cpu_fallback() -> None:
    """One warning per process: device='cuda' was asked for, the CPU code generator runs."""
    global _warned_fallback
    if _warned_fallback:
        return
    _warned_fallback = True
    warnings.warn(f"graphc: device 'cuda' is set but CUDA is not usable here "
                  f"({unavailable_reason()}); compiling for the CPU instead",
                  RuntimeWarning, stacklevel=3)


def device_name() -> str:
    """A short description of the device kernels run on."""
    if simulated():
        return "numba CUDA simulator (CPU)"
    dev = cuda().get_current_device()
    name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
    return f"{name} (compute capability {dev.compute_capability[0]}.{dev.compute_capability[1]})"


def multiprocessors() -> int:
    """Number of streaming multiprocessors (1 in the simulator)."""
    if simulated():
        return 1
    if "sms" not in _state:
        dev = cuda().get_current_device()
        _state["sms"] = int(getattr(dev, "MULTIPROCESSOR_COUNT", 80))
    return _state["sms"]


def launch_config(n: int, threads: int = 256) -> tuple[int, int]:
    """(blocks, threads per block) for a grid-stride loop over ``n`` items.

    On a GPU: up to 32 blocks per multiprocessor; in the simulator: at most 2 blocks of 32
    threads (each simulated thread costs ~1 ms), the grid-stride loop covers the rest.
    """
    if simulated():
        threads = 32
        return max(1, min(2, -(-n // threads))), threads
    blocks = max(1, min(-(-n // threads), multiprocessors() * 32))
    return blocks, threads


# -- arrays --------------------------------------------------------------------------------

def is_device_array(x) -> bool:
    """True for a numba device array (or the simulator's)."""
    return hasattr(x, "copy_to_host") and not isinstance(x, type)


def to_device(a):
    """Copy a numpy array to the device (C-contiguous)."""
    import numpy as np
    a = np.asarray(a)
    if not a.flags.c_contiguous:
        a = np.array(a, order="C")     # (np.ascontiguousarray would make a 0-d array 1-d)
    return cuda().to_device(a)


def to_host(d, out=None):
    """Copy a device array to the host (into ``out`` when given)."""
    if out is not None:
        d.copy_to_host(out)
        return out
    return d.copy_to_host()


def empty(shape, dtype):
    """An uninitialised device array."""
    return cuda().device_array(tuple(int(s) for s in shape), dtype=dtype)


def transpose2d(d):
    """A transposed VIEW of a 2-D device array (no copy, no kernel).

    numba-cuda's own ``DeviceNDArray.T`` copies through a freshly compiled kernel (170 ms per
    call measured on an H100), so the view is built from the same device memory with the
    strides swapped; the simulator's arrays are numpy views already.
    """
    if simulated():
        return d.T
    devicearray = cuda().cudadrv.devicearray
    return devicearray.DeviceNDArray(shape=(d.shape[1], d.shape[0]),
                                     strides=(d.strides[1], d.strides[0]), dtype=d.dtype,
                                     gpu_data=d.gpu_data)


def synchronize() -> None:
    """Wait for all queued kernels (a no-op in the simulator)."""
    cuda().synchronize()


def is_contiguous(d) -> bool:
    """True when device array ``d`` is C-contiguous."""
    flags = getattr(d, "flags", None)
    if flags is not None:
        try:
            return bool(flags["C_CONTIGUOUS"])
        except (KeyError, TypeError):
            pass
    if hasattr(d, "is_c_contiguous"):
        return bool(d.is_c_contiguous())
    import numpy as np
    expect = np.empty(0, d.dtype).itemsize
    for size, stride in zip(reversed(d.shape), reversed(d.strides)):
        if size != 1 and stride != expect:
            return False
        expect *= size
    return True
