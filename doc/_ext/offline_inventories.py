"""Intersphinx inventories of Python, scikit-learn, numpy and scipy, written from the
installed packages, so that the site links to their documentation without
fetching anything at build time (the build runs where those sites are out of
reach).

An inventory (Sphinx's ``objects.inv``, version 2) lists each object's name,
role and page.  The three projects put the page of every public class and
function at ``<root>/<generated>/<full name>.html``; the objects are found by
walking the public names of the modules below.
"""

import importlib
import inspect
import os
import zlib

PROJECTS = {
    # name: (site root, folder of the generated pages, modules whose public names are listed)
    "sklearn": ("https://scikit-learn.org/stable/", "modules/generated/",
                ["sklearn", "sklearn.base", "sklearn.linear_model", "sklearn.kernel_ridge", "sklearn.model_selection",
                 "sklearn.pipeline", "sklearn.preprocessing", "sklearn.neural_network", "sklearn.metrics",
                 "sklearn.gaussian_process", "sklearn.gaussian_process.kernels", "sklearn.isotonic",
                 "sklearn.utils", "sklearn.utils.estimator_checks", "sklearn.utils.validation"]),
    "numpy": ("https://numpy.org/doc/stable/", "reference/generated/", ["numpy", "numpy.linalg", "numpy.random"]),
    "scipy": ("https://docs.scipy.org/doc/scipy/", "reference/generated/",
              ["scipy.interpolate", "scipy.linalg", "scipy.optimize", "scipy.sparse.linalg", "scipy.integrate"]),
}


# Entries at fixed places: Python's built-in types and constants, which numpydoc
# links from the types of Parameters ("str", "bool", "None"), and numpy's glossary
EXTRA = {
    "python": ("https://docs.python.org/3/", [
        *(f"{t} py:class 1 library/functions.html#{t} -" for t in ("str", "int", "float", "bool", "complex", "object")),
        *(f"{t} py:class 1 library/stdtypes.html#{t} -" for t in ("dict", "list", "tuple", "set", "frozenset")),
        "callable py:function 1 library/functions.html#callable -",
        *(f"{c} py:data 1 library/constants.html#{c} -" for c in ("None", "True", "False", "Ellipsis")),
        "bltin-boolean-values std:label -1 library/stdtypes.html#boolean-values Boolean Values",
    ]),
    "numpy": ("https://numpy.org/doc/stable/", [
        "array_like std:term -1 glossary.html#term-array_like array_like",
        "numpy.inf py:data 1 reference/constants.html#numpy.inf -",
    ]),
}


def _objects(modules):
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        public = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
        for attr in public:
            try:
                obj = getattr(module, attr, None)
            except ImportError:  # an experimental name that needs its own import first
                continue
            if inspect.isclass(obj):
                yield f"{name}.{attr}", "py:class"
            elif callable(obj):
                yield f"{name}.{attr}", "py:function"


def write(folder):
    """Write ``<folder>/<project>.inv`` for each project; returns ``intersphinx_mapping``."""
    os.makedirs(folder, exist_ok=True)
    mapping = {}
    projects = {name: (root, generated, modules) for name, (root, generated, modules) in PROJECTS.items()}
    projects.setdefault("python", (EXTRA["python"][0], "", []))
    for project, (root, generated, modules) in projects.items():
        lines = {f"{full} {role} 1 {generated}{full}.html -" for full, role in _objects(modules)}
        lines = sorted(lines | set(EXTRA.get(project, (None, []))[1]))
        header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: installed\n"
                  "# The remainder of this file is compressed using zlib.\n").encode()
        path = os.path.join(folder, f"{project}.inv")
        with open(path, "wb") as fh:
            fh.write(header + zlib.compress(("\n".join(lines) + "\n").encode()))
        mapping[project] = (root, path)
    return mapping
