"""``multi_gpu_model`` (Keras 2's ``keras.utils.multi_gpu_utils``).

graphc compiles a model for one device, so data-parallel replication over several GPUs is not
available; the function checks its arguments and the devices as Keras does and says so.
"""
from __future__ import annotations

__all__ = ['multi_gpu_model']


def _available_gpus():
    """Names of the usable GPUs ('/gpu:0', ...); none when CUDA is absent or simulated."""
    try:
        from ..codegen.cuda import runtime
        if not runtime.available() or runtime.simulated():
            return []
        return [f'/gpu:{i}' for i in range(len(runtime.cuda().gpus))]
    except Exception:   # no CUDA stack, or a broken driver: no GPU to use
        return []


def multi_gpu_model(model, gpus=None, cpu_merge=True, cpu_relocation=False):
    """Keras 2's data-parallel replication of ``model`` over several GPUs.

    Args:
        model: the model to replicate.
        gpus: the number of GPUs (an int >= 2) or a list of GPU ids; None: every GPU found.
        cpu_merge, cpu_relocation: accepted for compatibility.

    Raises:
        ValueError: fewer than 2 GPUs asked for, or fewer GPUs here than asked for (e.g. on a
            machine without GPUs), naming the devices found.
        NotImplementedError: enough GPUs are present, but graphc runs a model on one device.

    Example:
        >>> multi_gpu_model(model, gpus=2)   # on a CPU-only machine
        Traceback (most recent call last):
        ValueError: To call `multi_gpu_model` with `gpus=2`, we expect the following devices ...
    """
    available = _available_gpus()
    if gpus is None:
        gpus = len(available)
    target_ids = list(gpus) if isinstance(gpus, (list, tuple)) else list(range(int(gpus)))
    if len(target_ids) <= 1:
        raise ValueError(f"For multi-gpu usage to be effective, call `multi_gpu_model` with "
                         f"`gpus >= 2`. Received: `gpus={gpus}`"
                         + ("" if available else " (no GPU was found on this machine)"))
    wanted = [f'/gpu:{i}' for i in target_ids]
    missing = [d for d in wanted if d not in available]
    if missing:
        found = ['/cpu:0'] + available
        raise ValueError(f"To call `multi_gpu_model` with `gpus={gpus}`, we expect the "
                         f"following devices to be available: {wanted}. However this machine "
                         f"only has: {found}. Try reducing `gpus`.")
    raise NotImplementedError(
        f"multi_gpu_model: graphc compiles model {getattr(model, 'name', '')!r} for one "
        f"device and cannot replicate it over {len(wanted)} GPUs; train the model itself "
        f"(it runs on one GPU with graphc.config.set('device', 'cuda')).")
