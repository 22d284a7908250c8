"""Build of the compiled kernel; everything else is in pyproject.toml."""

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "sklearn_shallowrelu._exact1d._fastchain",
        ["sklearn_shallowrelu/_exact1d/_fastchain.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3"],
    )
]

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": 3}),
    # the source of the kernel goes into the sdist (cythonize swaps the
    # extension's sources for the generated C, a build product shipped by neither)
    package_data={"sklearn_shallowrelu._exact1d": ["_fastchain.pyx"]},
    exclude_package_data={"": ["*.c"]},
)
