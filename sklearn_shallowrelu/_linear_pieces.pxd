# What the tile kernel's module (_linear_tiles) shares with the row kernel's.
cdef double residual_squares(const void* PR, const void* R, Py_ssize_t m, int dbl) noexcept nogil
cpdef int kernel_variant(double pos, double neg, double zero)
cdef int checked_variant(double pos, double neg, double zero) except -1
