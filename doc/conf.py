"""Sphinx configuration of the documentation site (build: see the README's "More")."""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))

import offline_inventories  # noqa: E402  (doc/_ext)

import sklearn_shallowrelu  # noqa: E402

project = "sklearn_shallowrelu"
author = "the sklearn_shallowrelu developers"
release = version = sklearn_shallowrelu.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_ext", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.json", "auto_examples/*.md5"]
templates_path = ["_templates"]

# the user guide is markdown (it reads on GitHub too); headings up to ### are link targets
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

autosummary_generate = True

numpydoc_show_class_members = False  # the API pages list what matters in the docstrings
numpydoc_class_members_toctree = False
# the types of Parameters and Attributes ("ndarray of shape (n_active_,)") are
# written as cross-reference candidates, so that a trailing underscore is not
# read as a reST link; only the aliased names become links
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {"BaseEstimator": "sklearn.base.BaseEstimator", "ndarray": "numpy.ndarray"}

# Python, scikit-learn, numpy and scipy: inventories written from the installed packages (no download)
intersphinx_mapping = offline_inventories.write(os.path.join(HERE, "_build", "inventories"))

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "ignore_pattern": r"(^|[/\\])_",  # the examples' shared helpers (_plotting.py, ...)
    "filename_pattern": os.environ.get("SHALLOWRELU_GALLERY_RUN", r"[/\\][a-z]"),  # which examples run
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sklearn_shallowrelu",),
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "reset_modules": ("matplotlib",),
}

html_theme = "pydata_sphinx_theme"
html_title = "sklearn_shallowrelu"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2, "header_links_before_dropdown": 4}
html_static_path = []


_TRAILING = re.compile(r"(?<![`\\\w])([A-Za-z]\w*)_(?=[\s,.;:)\]|]|$)")


def _escape_trailing_underscores(app, what, name, obj, options, lines):
    """A bare ``name_`` is a link in reST; in the docstrings it is always a fitted
    attribute (``n_iter_``, ``(n_active_,)`` in a type), so it is escaped
    outside inline literals and examples (after numpydoc has run)."""
    for i, line in enumerate(lines):
        if line.lstrip().startswith((">>>", "...")):
            continue
        parts = line.split("``")
        parts[::2] = [_TRAILING.sub(r"\1\\_", p) for p in parts[::2]]
        lines[i] = "``".join(parts)


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """scikit-learn adds ``set_fit_request`` and its kin to every estimator class:
    its metadata routing, documented there, not here."""
    return True if re.fullmatch(r"set_\w+_request", name) else None


def setup(app):
    app.connect("autodoc-process-docstring", _escape_trailing_underscores, priority=900)
    app.connect("autodoc-skip-member", _skip_metadata_requests)
