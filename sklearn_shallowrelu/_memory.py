"""How much memory a computation may take: the machine's, and scikit-learn's budget.

Two limits, with different jobs.  ``working_memory`` (scikit-learn's setting,
1024 MiB by default) sizes the *chunks* of work arrays that a computation may
split as it likes; the memory the machine has available bounds what cannot be
split (a Gram matrix, a parameter vector).  What would exceed the second is
refused before it is allocated, with a message that names the fix.
"""

import os

from sklearn import get_config

__all__ = ["available_memory", "fits_in_ram", "require_memory", "working_memory_bytes"]


def working_memory_bytes():
    """scikit-learn's ``working_memory`` (MiB) in bytes: the budget for chunked work arrays."""
    return int(get_config()["working_memory"] * 2**20)


def available_memory():
    """Bytes the machine can still hand out, or None where that cannot be read.

    ``MemAvailable`` of ``/proc/meminfo`` (Linux: free memory plus the caches
    the kernel can drop), else the free physical pages.
    """
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def fits_in_ram(nbytes):
    """Whether ``nbytes`` more fit in the memory the machine has available."""
    free = available_memory()
    return free is None or nbytes <= free


def require_memory(nbytes, what, fix):
    """Refuse, before allocating, what does not fit in the available memory.

    Raises
    ------
    MemoryError
        Naming the array (``what``), its predicted size and ``fix``.
    """
    free = available_memory()
    if free is not None and nbytes > free:
        raise MemoryError(
            f"{what} would need {_gib(nbytes)} but {_gib(free)} of memory is available. {fix}"
        )


def _gib(nbytes):
    return f"{nbytes / 2**30:.3g} GiB"
