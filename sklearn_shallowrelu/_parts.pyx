# cython: language_level=3
"""The parts of a task on threads, for the compiled kernels.

:func:`run_parts` (a C function, ``cimport``-ed by the kernels' modules) runs
``fn(ctx, j)`` for ``j = 0 .. parts - 1``, each once, on the calling thread and
up to ``threads - 1`` worker threads of this module: each takes the next part
left whenever it is free, so a thread whose core another process holds for a
while takes fewer parts instead of holding the others up.  The workers wait for
work by spinning for a millisecond, then sleep.  A Python thread pool hands a
task to a sleeping thread and waits for it through the operating system, which
cost 85 to 130 us per step on a 2-CPU virtual machine: as much as a whole step
of a small network.  A spinning worker takes a part within a microsecond, and
between the steps of a fit (tens of microseconds of Python) it is still
spinning.  The kernels run with the GIL released and touch no Python object.

A result must not depend on which thread ran a part: the kernels give each part
its own rows and its own gradient, added in the order of the parts.

One caller at a time has the workers; a thread that calls meanwhile runs all
its parts itself, so concurrent fits are correct, each at its own pace.  A
forked child makes its own workers.  Where there are no POSIX threads
(:data:`THREADS_AVAILABLE` is False) every part runs on the caller.
"""

cdef extern from "_parts.h":
    ctypedef void (*srl_part_fn)(void* ctx, int part) noexcept nogil
    int SRL_HAVE_THREADS
    int SRL_MAX_WORKERS
    int srl_run_parts(srl_part_fn fn, void* ctx, int parts, int threads) noexcept nogil
    long long srl_now_ns() noexcept nogil


#: Whether the parts of a task run on threads here (POSIX threads).
THREADS_AVAILABLE = bool(SRL_HAVE_THREADS)
#: The most threads a task takes (its caller and the workers).
MAX_THREADS = SRL_MAX_WORKERS + 1


cdef int run_parts(part_fn fn, void* ctx, int parts, int threads) noexcept nogil:
    """``fn(ctx, j)`` for ``j = 0 .. parts - 1``, each once, on this thread and up to
    ``threads - 1`` workers; returns, once all have ended, the threads offered them."""
    return srl_run_parts(<srl_part_fn>fn, ctx, parts, threads)


cdef extern from *:
    """
    #if SRL_HAVE_THREADS
    static unsigned long long srl_thread_id(void) { return (unsigned long long)(size_t)pthread_self(); }
    #else
    static long long srl_now_ns(void) { return 0; }
    static unsigned long long srl_thread_id(void) { return 0; }
    #endif
    """
    unsigned long long srl_thread_id() noexcept nogil


cdef struct _Record:
    long long work_ns
    unsigned long long counts[64]
    unsigned long long threads[64]


cdef void _record(void* ctx, int part) noexcept nogil:
    cdef _Record* rec = <_Record*>ctx
    cdef long long start = srl_now_ns()
    while srl_now_ns() - start < rec.work_ns:
        pass
    rec.counts[part] += 1
    rec.threads[part] = srl_thread_id()


def record_parts(int parts, int threads, int times=1, long long work_ns=0):
    """For the tests: ``times`` calls of ``parts`` parts on ``threads`` threads, each
    part busy for ``work_ns``; returns how often each part ran, the threads that ran
    any part of the last call, and what the last call returned (a check of
    :func:`run_parts` itself, without a kernel)."""
    if parts < 1 or parts > 64:
        raise ValueError(f"parts={parts} is not in 1 .. 64")
    cdef _Record rec
    cdef int i, used = 1
    rec.work_ns = work_ns
    for i in range(parts):
        rec.counts[i] = 0
    with nogil:
        for i in range(times):
            used = run_parts(_record, &rec, parts, threads)
    return [int(rec.counts[i]) for i in range(parts)], {int(rec.threads[i]) for i in range(parts)}, used
