"""Connectionist temporal classification (Graves et al. 2006) for the Keras 2 backend:
``K.ctc_batch_cost``, ``K.ctc_decode``, ``K.ctc_label_dense_to_sparse``.

The blank is the last class (``num_classes - 1``), as in Keras 2 on TensorFlow.

``ctc_batch_cost`` is ordinary graph ops: the forward algorithm in log space is one ``scan``
loop over time (states: the log-probabilities ``alpha`` of the extended label sequence
``blank, l1, blank, l2, ..., blank``), so it compiles with the model and ``K.gradients``
differentiates it (the reversed loop is the backward algorithm). ``ctc_decode`` runs on the
host in numpy after the compiled function has computed ``y_pred`` (``graphc.backend.host``):
it returns values, not something to differentiate.
"""
from __future__ import annotations

import numpy as np

from ..ir.node import Value
from ..ir.ops import apply, as_value, constant
from ..ir.ops.control import scan
from .common import epsilon
from .host import host_values

# log(0) in the forward algorithm: finite, so that sums and their gradients stay finite
_NEG = -1e30


def _v(x) -> Value:
    return x if isinstance(x, Value) else as_value(np.asarray(x))


def _int(x) -> Value:
    x = _v(x)
    return x if x.dtype == "int64" else apply("cast", x, dtype="int64")


def _lengths(x, what) -> Value:
    """(samples, 1) or (samples,) -> (samples, 1) int64."""
    x = _int(x)
    if x.ndim == 1:
        x = apply("expand_dims", x, axis=1)
    if x.ndim != 2 or x.shape[1] != 1:
        raise ValueError(f"K.ctc_batch_cost: {what} must be (samples, 1), got {x.type}")
    return x


def _col(like: Value, value, dtype) -> Value:
    """A (samples, 1) column filled with ``value``."""
    return apply("fill_like", like[:, :1], value=value, dtype=dtype)


def _time_index(y_pred: Value) -> Value:
    """(samples, time) int64: t at [b, t] (the time axis may be symbolic)."""
    ones = apply("fill_like", y_pred[:, :, 0], value=1.0, dtype="float32")
    return apply("cast", apply("cumsum", ones, axis=1), dtype="int64") - \
        constant(np.ones((), "int64"))


def ctc_label_dense_to_sparse(labels, label_lengths):
    """Keras's conversion of padded labels to a SparseTensor, in graphc's dense form.

    graphc has no sparse tensors: the result is the dense ``(samples, max_label_length)``
    int64 tensor with the entries past each label length set to -1 (the value Keras's
    ``ctc_decode`` uses for "no entry" when it densifies).

    Args:
        labels: ``(samples, max_label_length)`` labels.
        label_lengths: ``(samples,)`` or ``(samples, 1)`` lengths.
    Returns:
        ``(samples, max_label_length)`` int64.

    Example:
        >>> K.eval(K.ctc_label_dense_to_sparse(np.array([[1, 2, 3]]), np.array([2])))
        array([[ 1,  2, -1]])
    """
    labels = _int(labels)
    lengths = _lengths(label_lengths, "label_lengths")
    if labels.ndim != 2:
        raise ValueError(f"K.ctc_label_dense_to_sparse: labels must be (samples, "
                         f"max_label_length), got {labels.type}")
    pos = apply("cast", apply("cumsum", apply("fill_like", labels, value=1.0,
                                              dtype="float32"), axis=1), dtype="int64")
    keep = apply("less_equal", pos, lengths)
    return apply("where", keep, labels, apply("fill_like", labels, value=-1.0))


def ctc_batch_cost(y_true, y_pred, input_length, label_length):
    """The CTC loss of each sample (Keras 2).

    Args:
        y_true: ``(samples, max_string_length)`` labels (ints, or floats holding ints; entries
            past ``label_length`` are ignored, whatever their value, e.g. -1). The number of
            columns must be static.
        y_pred: ``(samples, time_steps, num_categories)`` softmax outputs; the last category
            is the blank.
        input_length: ``(samples, 1)`` the number of valid time steps of each sample.
        label_length: ``(samples, 1)`` the length of each label sequence.
    Returns:
        ``(samples, 1)``: ``-log p(y_true | y_pred)`` per sample, computed (as Keras does)
        from ``log(y_pred + epsilon)`` renormalised over the categories. Differentiable with
        respect to ``y_pred``.

    Example:
        >>> loss = Lambda(lambda a: K.ctc_batch_cost(*a))([labels, y_pred, in_len, lab_len])
    """
    y_pred = _v(y_pred)
    if y_pred.ndim != 3 or not isinstance(y_pred.shape[2], int):
        raise ValueError(f"K.ctc_batch_cost: y_pred must be (samples, time_steps, "
                         f"num_categories) with a static number of categories, got "
                         f"{y_pred.type}")
    labels = _int(y_true)
    if labels.ndim != 2 or not isinstance(labels.shape[1], int):
        raise ValueError(f"K.ctc_batch_cost: y_true must be (samples, max_string_length) with "
                         f"a static max_string_length, got {labels.type}")
    n_cls, n_lab = y_pred.shape[2], labels.shape[1]
    blank = n_cls - 1
    n_ext = 2 * n_lab + 1
    in_len = _lengths(input_length, "input_length")
    lab_len = _lengths(label_length, "label_length")
    fdt = y_pred.dtype

    # entries past each label length (any padding value, e.g. -1) become blanks: they never
    # reach alpha[2 * length] but must be valid class indices
    blanks = apply("fill_like", labels, value=float(blank))
    col = apply("cast", apply("cumsum", apply("fill_like", labels, value=1.0, dtype="float32"),
                              axis=1), dtype="int64")
    labels = apply("where", apply("less_equal", col, lab_len), labels, blanks)
    # the extended labels (samples, S): blank, l1, blank, l2, ..., blank
    pairs = apply("stack", blanks, labels, axis=2)                        # (B, L, 2)
    ext = _flatten_pairs(pairs, n_lab)
    ext = apply("concatenate", ext, _col(labels, float(blank), "int64"), axis=1)

    # emissions: log p(ext[s] at t), (B, T, S)
    logp = apply("log_softmax", apply("log", y_pred + constant(np.asarray(epsilon(), fdt))),
                 axis=2)
    onehot = apply("one_hot", ext, num_classes=n_cls)
    if onehot.dtype != fdt:
        onehot = apply("cast", onehot, dtype=fdt)
    emit = apply("batch_dot", logp, onehot, axes=(2, 2))                  # (B, T, S)

    # a step may skip the blank before s when ext[s] is a label unlike ext[s-2]
    if n_ext > 2:
        prev2 = apply("concatenate", _col(labels, float(blank), "int64"),
                      _col(labels, float(blank), "int64"), ext[:, :-2], axis=1)
    else:
        prev2 = apply("fill_like", ext, value=float(blank))
    allowed = apply("logical_and", apply("not_equal", ext, _blanks_like(ext, blank)),
                    apply("not_equal", ext, prev2))
    zeros = apply("fill_like", ext, value=0.0, dtype=fdt)
    skip = apply("where", allowed, zeros, apply("fill_like", ext, value=_NEG, dtype=fdt))

    # alpha before the first step: log 1 at s = 0, log 0 elsewhere, so that step 0 starts
    # in s = 0 or s = 1
    start = np.full((1, n_ext), _NEG, dtype=fdt)
    start[0, 0] = 0.0
    alpha0 = zeros + constant(start)

    def step(e_t, alpha, skip_t):
        neg = apply("fill_like", alpha[:, :1], value=_NEG)
        a1 = apply("concatenate", neg, alpha[:, :-1], axis=1)
        if n_ext > 2:
            a2 = apply("concatenate", neg, neg, alpha[:, :-2], axis=1) + skip_t
        else:
            a2 = apply("fill_like", alpha, value=_NEG)
        paths = apply("stack", alpha, a1, a2, axis=2)
        new = apply("logsumexp", paths, axes=(2,), keepdims=False) + e_t
        return [], [new]

    valid = apply("less", _time_index(y_pred), in_len)                   # (B, T)
    emit_tm = apply("transpose", emit, perm=(1, 0, 2))
    res = scan(step, [emit_tm], [alpha0], [skip],
               mask=apply("transpose", valid, perm=(1, 0)), symbolic_batch=True, name="ctc")
    alpha = res.final_states[0]

    # p(labels) = alpha[2 * len] + alpha[2 * len - 1] (ending in the last blank or label)
    s_idx = constant(np.arange(n_ext, dtype="int64")[None, :])
    end = lab_len * constant(np.asarray(2, "int64"))
    last = apply("logical_or", apply("equal", s_idx, end),
                 apply("equal", s_idx, end - constant(np.ones((), "int64"))))
    final = apply("where", last, alpha, apply("fill_like", alpha, value=_NEG))
    return -apply("logsumexp", final, axes=(1,), keepdims=True)


def _blanks_like(x: Value, blank: int) -> Value:
    return apply("fill_like", x, value=float(blank))


def _flatten_pairs(pairs: Value, n_lab: int) -> Value:
    """(B, L, 2) -> (B, 2L), keeping a symbolic batch."""
    from .ops import reshape
    return reshape(pairs, (-1, 2 * n_lab))


# -- decoding (host side) ---------------------------------------------------------------------

def _log_softmax_np(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def _greedy(logp, length, blank):
    best = logp[:length].argmax(axis=1)
    score = -float(logp[np.arange(length), best].sum())
    out, prev = [], -1
    for c in best:
        if c != blank and c != prev:
            out.append(int(c))
        prev = c
    return [out], [score]


def _lse(a, b):
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    m = max(a, b)
    return m + np.log(np.exp(a - m) + np.exp(b - m))


def _beam(logp, length, blank, beam_width, top_paths):
    """Prefix beam search: each beam is a label prefix with the log-probabilities of the
    alignments read so far that end in a blank (pb) and in a label (pnb)."""
    ninf = -np.inf
    beams = {(): (0.0, ninf)}
    n_cls = logp.shape[1]
    for t in range(length):
        lp = logp[t]
        new: dict = {}

        def add(prefix, pb=ninf, pnb=ninf):
            ob, onb = new.get(prefix, (ninf, ninf))
            new[prefix] = (_lse(ob, pb), _lse(onb, pnb))
        for prefix, (pb, pnb) in beams.items():
            total = _lse(pb, pnb)
            add(prefix, pb=total + lp[blank])
            last = prefix[-1] if prefix else None
            for c in range(n_cls):
                if c == blank:
                    continue
                if c == last:
                    add(prefix + (c,), pnb=pb + lp[c])     # a repeat needs a blank between
                    add(prefix, pnb=pnb + lp[c])           # ... else it merges
                else:
                    add(prefix + (c,), pnb=total + lp[c])
        ranked = sorted(new.items(), key=lambda kv: -_lse(*kv[1]))
        beams = dict(ranked[:beam_width])
    ranked = sorted(beams.items(), key=lambda kv: -_lse(*kv[1]))[:top_paths]
    paths = [list(p) for p, _ in ranked]
    scores = [float(_lse(*s)) for _, s in ranked]
    while len(paths) < top_paths:                          # fewer prefixes than paths asked
        paths.append([])
        scores.append(-np.inf)
    return paths, scores


def _decode_np(y_pred, input_length, greedy, beam_width, top_paths):
    y_pred = np.asarray(y_pred, dtype=np.float64)
    lengths = np.asarray(input_length).reshape(-1).astype(np.int64)
    n, steps, n_cls = y_pred.shape
    if lengths.shape[0] != n:
        raise ValueError(f"K.ctc_decode: input_length has {lengths.shape[0]} entries for "
                         f"{n} samples")
    if (lengths < 0).any() or (lengths > steps).any():
        raise ValueError(f"K.ctc_decode: input_length must be in [0, {steps}] (the time "
                         f"steps of y_pred), got {lengths.tolist()}")
    logp = _log_softmax_np(np.log(y_pred + epsilon()))
    blank = n_cls - 1
    paths = [[] for _ in range(top_paths)]
    scores = np.zeros((n, top_paths), dtype=np.float32)
    for b in range(n):
        if greedy:
            ps, ss = _greedy(logp[b], int(lengths[b]), blank)
        else:
            ps, ss = _beam(logp[b], int(lengths[b]), blank, beam_width, top_paths)
        for k in range(top_paths):
            paths[k].append(ps[k])
        scores[b] = ss
    dense = []
    for k in range(top_paths):
        width = max((len(p) for p in paths[k]), default=0)
        d = np.full((n, width), -1, dtype=np.int64)
        for b, p in enumerate(paths[k]):
            d[b, :len(p)] = p
        dense.append(d)
    return dense + [scores]


def ctc_decode(y_pred, input_length, greedy=True, beam_width=100, top_paths=1):
    """Decode the output of a softmax (Keras 2): best path (greedy) or prefix beam search.

    Runs on the host, in numpy, after the compiled function has computed ``y_pred``: the
    results are values (no gradient). The blank is the last category.

    Args:
        y_pred: ``(samples, time_steps, num_categories)`` softmax outputs.
        input_length: ``(samples,)`` (or ``(samples, 1)``) valid time steps of each sample.
        greedy: best path decoding (the most likely category at each step, repeats merged,
            blanks removed); else beam search.
        beam_width: the number of beams kept at each step (beam search).
        top_paths: how many of the most likely sequences to return (beam search; greedy
            returns one).
    Returns:
        ``(decoded, log_prob)``: ``decoded`` a list of ``top_paths`` int64 tensors
        ``(samples, max_decoded_length)`` padded with -1; ``log_prob`` ``(samples,
        top_paths)``: for beam search the log-probability of each sequence, for greedy (as
        TensorFlow's decoder) the negative sum of the best log-probability of each step.

    Example:
        >>> decoded, log_prob = K.ctc_decode(y_pred, np.full((n,), steps))
        >>> labels = K.eval(decoded[0])
    """
    y_pred = _v(y_pred)
    if y_pred.ndim != 3:
        raise ValueError(f"K.ctc_decode: y_pred must be (samples, time_steps, "
                         f"num_categories), got {y_pred.type}")
    greedy = bool(greedy)
    top_paths = 1 if greedy else int(top_paths)
    beam_width = int(beam_width)
    if top_paths < 1 or beam_width < 1:
        raise ValueError(f"K.ctc_decode: beam_width and top_paths must be positive, got "
                         f"{beam_width} and {top_paths}")
    if not greedy and top_paths > beam_width:
        raise ValueError(f"K.ctc_decode: top_paths ({top_paths}) cannot exceed beam_width "
                         f"({beam_width})")
    length = _v(input_length)

    def run(pred, lens):
        return _decode_np(pred, lens, greedy, beam_width, top_paths)
    specs = [((None, None), "int64")] * top_paths + [((None, top_paths), "float32")]
    outs = host_values(run, [y_pred, length], specs, "ctc_decode")
    return outs[:top_paths], outs[top_paths]
