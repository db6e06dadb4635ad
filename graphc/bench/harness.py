"""The timing core: warm-up, repetitions chosen from the timer's resolution, statistics.

``measure(fn)`` calls ``fn()`` (no arguments) after ``warmup`` untimed calls. It times one
call to estimate its cost, then picks ``number`` (calls per timed repetition) so that one
repetition lasts at least ``RESOLUTION_FACTOR`` times the timer's resolution (and at least
``min_repeat_seconds``), so the clock's granularity is below 0.1% of every sample; and
``repeat`` (samples) so that all samples take about ``budget`` seconds, between
``min_repeats`` and ``max_repeats``. Each sample is the mean time of one call within a
repetition.

Example:
    >>> t = measure(lambda: np.dot(a, b))
    >>> t.median, t.p90, t.number, t.repeat
"""
from __future__ import annotations

import gc
import math
import time
from dataclasses import asdict, dataclass

import numpy as np

RESOLUTION_FACTOR = 1000


def timer_resolution() -> float:
    """Seconds per tick of ``time.perf_counter`` (as reported, and at least as measured)."""
    reported = time.get_clock_info("perf_counter").resolution
    smallest = math.inf
    for _ in range(50):
        t0 = time.perf_counter()
        t1 = time.perf_counter()
        while t1 == t0:
            t1 = time.perf_counter()
        smallest = min(smallest, t1 - t0)
    return max(reported, smallest if smallest < math.inf else reported)


@dataclass
class Timing:
    """Per-call times of one benchmark (seconds)."""
    samples: list
    number: int
    repeat: int
    warmup: int
    resolution: float

    @property
    def min(self) -> float:
        return float(np.min(self.samples))

    @property
    def median(self) -> float:
        return float(np.median(self.samples))

    @property
    def p90(self) -> float:
        return float(np.percentile(self.samples, 90))

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    @property
    def std(self) -> float:
        return float(np.std(self.samples))

    def to_json(self) -> dict:
        d = asdict(self)
        d.update(min=self.min, median=self.median, p90=self.p90, mean=self.mean, std=self.std)
        return d


def measure(fn, *, warmup: int = 2, budget: float = 0.5, min_repeats: int = 5,
            max_repeats: int = 200, min_repeat_seconds: float = 2e-4,
            number: int | None = None, repeat: int | None = None) -> Timing:
    """Time ``fn()``.

    Args:
        fn: a callable taking no arguments.
        warmup: untimed calls first (caches, lazy compilation, page faults).
        budget: about how many seconds all samples together may take.
        min_repeats, max_repeats: bounds on the number of samples.
        min_repeat_seconds: shortest repetition, whatever the timer's resolution.
        number, repeat: force the calls per sample / the number of samples.
    Returns:
        A :class:`Timing` (``min``, ``median``, ``p90``, ``mean``, ``std``; per call).

    Example:
        >>> measure(lambda: sum(range(1000))).median
        1.2e-05
    """
    if warmup < 0 or budget <= 0:
        raise ValueError(f"warmup must be >= 0 and budget > 0, got warmup={warmup}, "
                         f"budget={budget}")
    for _ in range(warmup):
        fn()
    res = timer_resolution()
    clock = time.perf_counter
    if number is None:
        t0 = clock()
        fn()
        one = max(clock() - t0, res)
        floor = max(RESOLUTION_FACTOR * res, min_repeat_seconds)
        number = max(1, math.ceil(floor / one))
    else:
        one = None
    if repeat is None:
        if one is None:
            t0 = clock()
            fn()
            one = max(clock() - t0, res)
        repeat = int(min(max(budget / (one * number), min_repeats), max_repeats))
    samples = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = clock()
            for _ in range(number):
                fn()
            samples.append((clock() - t0) / number)
    finally:
        if gc_was:
            gc.enable()
    return Timing(samples, number, repeat, warmup, res)
