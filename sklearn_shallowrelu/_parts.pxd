# The parts of a task on threads, for the compiled kernels (see _parts.pyx).
ctypedef void (*part_fn)(void* ctx, int part) noexcept nogil

cdef int run_parts(part_fn fn, void* ctx, int parts, int threads) noexcept nogil
