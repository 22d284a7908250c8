"""The timers and the load report that every benchmark shares (a helper, not a benchmark).

Every function returns the measurement first and the result of the measured
call second, so that a benchmark can check what it timed.  Timings are wall
times (``time.perf_counter``) in this process.  The benchmarks run on shared
machines, where other jobs distort the timings (BLAS threads most of all), so
each prints the load average when it starts and when it ends, and the reader
can tell a slow machine from a slow method.

The benchmarks are run as scripts, so ``import _timing`` finds this file next
to them.
"""

import gc
import os
import time
import tracemalloc


def timed(fn, collect=False):
    """Wall time of one call.

    Parameters
    ----------
    fn : callable
        Called without arguments.
    collect : bool, default=False
        Run the garbage collector first, so that collecting what earlier code
        left behind is not charged to ``fn``.

    Returns
    -------
    seconds : float
    result : object
        What ``fn`` returned.
    """
    if collect:
        gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def best_of(fn, repeat=3, *, number=1, budget=None, collect=False):
    """Best wall time over repeated runs: the run least disturbed by the rest of the machine.

    Parameters
    ----------
    fn : callable
        Called without arguments.
    repeat : int, default=3
        Number of runs (the most, with ``budget``).
    number : int, default=1
        Calls per run; a run's time is the mean over its calls (for calls too
        short to time one by one).
    budget : float, default=None
        Stop after the run in which the runs so far have taken this many
        seconds in total; None runs all ``repeat``.
    collect : bool, default=False
        Run the garbage collector before each run (outside the timing).

    Returns
    -------
    seconds : float
        Best time of one call.
    result : object
        What the last call of ``fn`` returned.
    """
    best, spent, out = float("inf"), 0.0, None
    for _ in range(repeat):
        if collect:
            gc.collect()
        t0 = time.perf_counter()
        for _ in range(number):
            out = fn()
        elapsed = time.perf_counter() - t0
        best, spent = min(best, elapsed / number), spent + elapsed
        if budget is not None and spent >= budget:
            break
    return best, out


def traced_peak(fn):
    """Peak memory newly allocated while ``fn`` runs, as ``tracemalloc`` sees it.

    numpy reports its buffers to ``tracemalloc``; what was allocated before the
    call is not counted.  Tracing hooks every allocation and slows it down, so
    time a call in an untraced run.

    Returns
    -------
    peak : int
        Bytes.
    result : object
        What ``fn`` returned.
    """
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, out


class Laps:
    """Split times of consecutive stages, like a stopwatch's lap button.

    The clock starts when the object is made; ``lap(name)`` records the time
    since the previous lap (or the start) under ``name`` in ``times``.
    """

    def __init__(self):
        self.times = {}
        self._last = time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.times[name] = now - self._last
        self._last = now


def load_average(when=None):
    """The 1, 5 and 15 minute load averages and the number of CPUs, as one phrase.

    ``when`` (e.g. ``"at start"``) is put after "load average".
    """
    a, b, c = os.getloadavg()
    head = "load average" if when is None else f"load average {when}:"
    return f"{head} {a:.2f} {b:.2f} {c:.2f} (1, 5, 15 min) on {os.cpu_count()} CPUs"


def print_load(when):
    """Print the load average and the BLAS thread setting, e.g. ``print_load("at start")``."""
    print(f"{load_average(when)}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    if os.getloadavg()[0] > 0.5:  # timings on a busy machine are not comparable
        print("  the 1-minute load average is above 0.5: rerun this benchmark on an idle machine")
