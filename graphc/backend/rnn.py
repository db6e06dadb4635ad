"""``K.rnn``: Keras 2's loop over time steps, built on graphc's ``scan`` op.

The step function is traced once on placeholders of one time step (batch dim ``'B'``), and the
traced graph becomes the body of one ``scan`` node: the loop runs inside the executor (one
native loop once the code generator lowers it), never as one Python dispatch per step. Its
gradient is the reversed scan (``graphc.ir.ops.control``). ``unroll=True`` builds the steps
one after another instead (a static number of time steps is required).
"""
from __future__ import annotations

import numpy as np

from ..ir.node import Value
from ..ir.ops import apply, constant
from ..ir.ops.control import mask_select, scan
from ..ir.ops.core import zeros_like


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None,
        unroll=False, input_length=None):
    """Iterate over the time dimension of a tensor (Keras 2.2 semantics).

    Args:
        step_function: ``step_function(input_t, states) -> (output_t, new_states)``, where
            ``input_t`` is ``(samples, ...)``, ``states`` is the list of the current states
            followed by ``constants``, and ``new_states`` has one tensor per state, of the
            same shape. It is called on placeholders of one step (traced once), plus once on
            the first time step outside the loop as Keras 2 does, so that what a cell creates
            lazily on its first call (e.g. its dropout masks) is loop-invariant.
        inputs: tensor of temporal data ``(samples, time, ...)`` (at least 3D).
        initial_states: list of tensors ``(samples, ...)``, the states before the first step.
        go_backwards: iterate from the last time step to the first; ``outputs`` are then in
            that (reversed) order, as in Keras.
        mask: optional ``(samples, time)`` (or ``(samples, time, 1)``) tensor; 0 / False =
            masked: at a masked step the states keep their values and the output repeats the
            previous step's output (zeros before the first step).
        constants: list of tensors passed to every step after the states.
        unroll: build the steps one by one instead of a loop (needs a static time length).
        input_length: unused (kept for Keras compatibility).
    Returns:
        ``(last_output, outputs, new_states)``: the last step's output ``(samples, ...)``, all
        outputs ``(samples, time, ...)`` and the list of the final states.

    Example:
        >>> def step(x_t, states):
        ...     h = K.tanh(K.dot(x_t, W) + K.dot(states[0], U))
        ...     return h, [h]
        >>> last, outputs, (h,) = K.rnn(step, x, [K.zeros_like(x[:, 0, :4])])
    """
    if not isinstance(inputs, Value):
        raise TypeError(f"rnn: inputs must be a symbolic tensor, got {type(inputs).__name__}")
    ndim = inputs.ndim
    if ndim < 3:
        raise ValueError(f"rnn: inputs should be at least 3D (samples, time, ...), got "
                         f"{inputs.type}")
    initial_states = list(initial_states or [])
    constants = list(constants or [])
    for k, s in enumerate(initial_states + constants):
        if not isinstance(s, Value):
            what = "initial_states" if k < len(initial_states) else "constants"
            raise TypeError(f"rnn: {what} must hold symbolic tensors, got "
                            f"{type(s).__name__}")
    if mask is not None:
        mask = _bool_mask(mask, inputs)
    steps = inputs.shape[1]
    if unroll:
        if not isinstance(steps, int):
            raise ValueError(f"rnn: unrolling requires a fixed number of timesteps; inputs "
                             f"{inputs.type} have {steps!r} on axis 1")
        return _unrolled(step_function, inputs, initial_states, constants, go_backwards, mask)

    swap = (1, 0) + tuple(range(2, ndim))          # (samples, time, ...) <-> (time, samples, ...)
    x_tm = apply("transpose", inputs, perm=swap)
    m_tm = None if mask is None else apply("transpose", mask, perm=(1, 0))
    # Keras 2 calls the step once on the first time step before its loop; cells create their
    # dropout masks lazily on that call, outside the loop. Nodes it builds and nobody uses
    # are dead code.
    step_function(inputs[:, 0], initial_states + constants)
    n = len(initial_states)

    output_is_state = []                           # k when the step returns state k as output

    def step(x_t, *rest):
        output, new_states = step_function(x_t, list(rest[:n]) + list(rest[n:]))
        output_is_state[:] = [k for k, s in enumerate(new_states) if s is output][:1]
        return [output], list(new_states)
    res = scan(step, [x_tm], initial_states, constants, go_backwards=go_backwards, mask=m_tm,
               symbolic_batch=True, name="rnn_step")
    y_tm = res.outputs[0]                          # time-aligned: y_tm[t] from inputs[:, t]
    if output_is_state and mask is None:
        # the last step's output IS that state after the last step (an LSTM's or GRU's h):
        # reading it there, not from the stacked outputs, leaves the stack's gradient empty
        # when only the last output is used (return_sequences=False), so the gradient loop
        # reads no (T, samples, units) block of zeros
        last = res.final_states[output_is_state[0]]
    else:
        last = y_tm[0] if go_backwards else y_tm[-1]
    if go_backwards:                               # Keras: outputs in processing order
        y_tm = apply("reverse", y_tm, axes=(0,))
    outputs = apply("transpose", y_tm, perm=(1, 0) + tuple(range(2, y_tm.ndim)))
    return last, outputs, list(res.final_states)


def _bool_mask(mask, inputs: Value) -> Value:
    if not isinstance(mask, Value):
        mask = constant(np.asarray(mask))
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.ndim != 2:
        raise ValueError(f"rnn: mask must be (samples, time), got {mask.type} for inputs "
                         f"{inputs.type}")
    if mask.dtype != "bool":
        mask = apply("not_equal", mask, constant(np.zeros((), mask.dtype)))
    return mask


def _unrolled(step_function, inputs, states, constants, go_backwards, mask):
    steps = inputs.shape[1]
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs, prev = [], None
    for t in order:
        output, new_states = step_function(inputs[:, t], states + constants)
        new_states = list(new_states)
        if len(new_states) != len(states):
            raise ValueError(f"rnn: the step function returned {len(new_states)} new states "
                             f"for {len(states)} initial states")
        if mask is not None:
            m_t = mask[:, t]
            prev = zeros_like(output) if prev is None else prev
            output = mask_select(m_t, output, prev)
            new_states = [mask_select(m_t, s_new, s) for s_new, s in zip(new_states, states)]
        outputs.append(output)
        states, prev = new_states, output
    return outputs[-1], apply("stack", *outputs, axis=1), states
