"""Build of the compiled kernels; everything else is in pyproject.toml."""

import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

MODULES = (
    "_exact1d._fastchain",  # the 1-D smoother's kernel
    "_exact1d._search",  # the criteria and searches on top of it
    "_exact1d._prepare",  # pooling ties and the kernel's diagonal
    "_linear_pieces",  # the fused passes of the gradient of piecewise-linear networks
    "_linear_tiles",  # their step in register tiles, for many inputs
    "_parts",  # the kernels' worker threads
    "_update",  # a descent step's update and finiteness check
)

extensions = [
    Extension(
        f"sklearn_shallowrelu.{name}",
        [f"sklearn_shallowrelu/{name.replace('.', '/')}.pyx"],
        include_dirs=[np.get_include(), "sklearn_shallowrelu"],  # _cpu.h
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # the 1-D engine's kernels: no fused multiply-add where the source has a product and a
        # sum, so the four alphas at once round as one at a time in every build
        # (and the update: numpy's a - step * g, product and difference each rounded)
        extra_compile_args=["-O3"] + (["-ffp-contract=off"] if name.startswith("_exact1d.") or name == "_update"
                                      else [])
        + (["-pthread"] if name == "_parts" and os.name == "posix" else []),
        extra_link_args=["-pthread"] if name == "_parts" and os.name == "posix" else [],
    )
    for name in MODULES
]

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": 3}),
    # the sources go into the sdist (cythonize swaps the extensions' sources
    # for the generated C, a build product shipped by neither)
    package_data={"sklearn_shallowrelu._exact1d": ["_fastchain.pyx", "_fastchain.pxd", "_search.pyx",
                                                         "_prepare.pyx"],
                  "sklearn_shallowrelu": ["_linear_pieces.pyx", "_linear_pieces.pxd", "_linear_tiles.pyx",
                                          "_parts.pyx", "_parts.pxd", "_parts.h", "_cpu.h", "_update.pyx"]},
    exclude_package_data={"": ["*.c"]},
)
