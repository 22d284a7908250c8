"""Numpydoc validation of the docstrings of the public API.

The public API is what ``sklearn_shallowrelu``, ``sklearn_shallowrelu.diagnostics``
and the public modules ``init``, ``potentials``, ``activations`` and ``features``
export in ``__all__`` (``datasets`` is left to its own tests).  Every public
class, every public method and property it has that is defined in this package
(inherited scikit-learn methods such as ``score``, ``get_params`` or
``set_output`` are scikit-learn's to document), and every public function is
run through :func:`numpydoc.validate.validate`, as scikit-learn's
``sklearn/tests/test_docstrings.py`` does.

Checked codes (``CHECKED_CODES``), because they are about completeness or
correctness:

- GL01, GL02, GL03, GL05, GL06, GL07, GL09, GL10: layout; unknown sections,
  sections out of numpydoc's order (Parameters, Returns, Yields, ..., See Also,
  Notes, References, Examples), broken directives.
- GL08: the object has no docstring.
- SS01, SS02, SS03, SS04, SS06: a one-line summary that starts with a capital
  letter and ends with a period.
- PR01 to PR10: every parameter of the signature is documented (PR01), none
  that is not in it (PR02), in the signature's order (PR03), each with a type
  (PR04, PR05, PR06, PR10) and a description that is a sentence (PR07, PR08,
  PR09).
- RT01, RT03, RT04, RT05: a function that returns something has a Returns
  section whose values are described in sentences; YD01 likewise for Yields.
- SA02, SA03, SA04: every See Also entry has a sentence describing it.

Codes not checked, and why:

- ES01 (no extended summary), SA01 (no See Also), EX01 (no Examples): these
  sections are optional; a short method is complete without them (the classes
  and most functions have Examples anyway, run by ``--doctest-modules``).
- RT02 (the first line of Returns holds only the type): numpydoc allows named
  return values, ``name : type``, and they name the parts of a tuple or the
  meaning of a value; scikit-learn does not check RT02 either.
- SS05 (summary starts with an infinitive verb): a heuristic on the first word
  (any word ending in "s", such as "Mulayoff's" or "Predictions"); noun-phrase
  summaries are deliberate for properties and for methods named by what they
  return.

A method that overrides a documented method of a base class of this package
without a docstring of its own inherits that docstring, as ``help()``,
:func:`inspect.getdoc` and Sphinx autodoc show it; the inherited text is then
validated against the override's own signature.

``test_estimator_has_references`` also asks every public estimator (a
scikit-learn ``BaseEstimator``) for a References section, and
``test_citations_resolve`` checks, for every public docstring, that each
``[n]_`` cited in the text has its ``.. [n]`` entry in References and that
every entry is cited.
"""

import importlib
import inspect
import re

import pytest
from sklearn.base import BaseEstimator

numpydoc_validate = pytest.importorskip("numpydoc.validate")
from numpydoc.docscrape import NumpyDocString  # noqa: E402

PACKAGE = "sklearn_shallowrelu"

PUBLIC_MODULES = [
    "sklearn_shallowrelu",
    "sklearn_shallowrelu.diagnostics",
    "sklearn_shallowrelu.init",
    "sklearn_shallowrelu.potentials",
    "sklearn_shallowrelu.activations",
    "sklearn_shallowrelu.features",
]

CHECKED_CODES = frozenset(
    ["GL01", "GL02", "GL03", "GL05", "GL06", "GL07", "GL08", "GL09", "GL10"]
    + ["SS01", "SS02", "SS03", "SS04", "SS06"]
    + ["PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR07", "PR08", "PR09", "PR10"]
    + ["RT01", "RT03", "RT04", "RT05", "YD01"]
    + ["SA02", "SA03", "SA04"]
)


def _ours(obj):
    return getattr(obj, "__module__", "").split(".")[0] == PACKAGE


def _public_objects():
    """Public classes and functions, keyed by their defining path."""
    found = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and _ours(obj):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return dict(sorted(found.items()))


def _function_of(member):
    """The function behind a class member, or None if it is not a method or property."""
    if isinstance(member, property):
        return member.fget
    if isinstance(member, (classmethod, staticmethod)):
        return member.__func__
    if inspect.isfunction(member):
        return member
    return None


def _raw_doc(cls, attr):
    """The docstring of ``cls.attr``, inherited from the first documented base of this package."""
    for klass in cls.__mro__:
        if not _ours(klass):
            break
        if attr in vars(klass):
            function = _function_of(vars(klass)[attr])
            if function is not None and function.__doc__:
                return function.__doc__
    return None


def _public_api():
    """``(path, raw docstring)`` of every object to validate, each function once."""
    objects = _public_objects()
    classes = [cls for cls in objects.values() if inspect.isclass(cls)]
    items, seen = [], set()
    for path, obj in objects.items():
        items.append((path, None))
        if not inspect.isclass(obj):
            continue
        for attr in sorted(dir(obj)):
            if attr.startswith("_"):
                continue
            owner = next(klass for klass in obj.__mro__ if attr in vars(klass))
            function = _function_of(vars(owner)[attr])
            if function is None or not _ours(owner) or id(function) in seen:
                continue
            # validate where the method is defined when that class is public,
            # else on the first public class that inherits it
            if owner is not obj and owner in classes:
                continue
            seen.add(id(function))
            items.append((f"{path}.{attr}", None if function.__doc__ else _raw_doc(obj, attr)))
    return items


PUBLIC_API = _public_api()


class _InheritedDocValidator(numpydoc_validate.Validator):
    """A Validator that reads an undocumented override's inherited docstring."""

    def __init__(self, obj_name, raw_doc):
        obj = self._load_obj(obj_name)
        super().__init__(numpydoc_validate.get_doc_object(obj, doc=inspect.cleandoc(raw_doc)))
        self.raw_doc = raw_doc


def _errors(path, raw_doc):
    if raw_doc is None:
        result = numpydoc_validate.validate(path)
    else:
        result = numpydoc_validate.validate(path, validator_cls=_InheritedDocValidator, raw_doc=raw_doc)
    return [(code, message) for code, message in result["errors"] if code in CHECKED_CODES]


@pytest.mark.parametrize("path, raw_doc", PUBLIC_API, ids=[path for path, _ in PUBLIC_API])
def test_docstring(path, raw_doc):
    errors = _errors(path, raw_doc)
    assert not errors, f"{path}:\n" + "\n".join(f"  {code}: {message}" for code, message in errors)


def test_public_api_is_collected():
    paths = {path for path, _ in PUBLIC_API}
    for expected in (
        "sklearn_shallowrelu.random_features.RandomFeatureReLURegressor.fit",
        "sklearn_shallowrelu.random_features.RandomFeatureReLURegressor.predict",
        "sklearn_shallowrelu.shallow.ShallowReLURegressor.partial_fit",
        "sklearn_shallowrelu.spline.SmoothingSplineEquivalent.from_estimator",
        "sklearn_shallowrelu.diagnostics.curvature.CurvatureDiagnostics.transform",
        "sklearn_shallowrelu.diagnostics.rank.RankDiagnostics.cosine_matrix_",
        "sklearn_shallowrelu.potentials.Potential.bregman",
        "sklearn_shallowrelu.init.Initialization.kernel",
        "sklearn_shallowrelu.diagnostics.scorers.diagnostic_scorers",
    ):
        assert expected in paths
    # scikit-learn's own methods are not ours to document
    assert not any(path.endswith((".get_params", ".set_params", ".score", ".set_output")) for path in paths)


ESTIMATORS = [
    (path, obj) for path, obj in _public_objects().items() if inspect.isclass(obj) and issubclass(obj, BaseEstimator)
]


def test_estimators_are_collected():
    names = {obj.__name__ for _, obj in ESTIMATORS}
    assert names >= {
        "ReLURandomFeatures", "RandomFeatureReLURegressor", "RandomFeatureReLURegressorCV", "ShallowReLURegressor",
        "SmoothingSplineEquivalent", "CurvatureDiagnostics", "RankDiagnostics",
    }


@pytest.mark.parametrize("path, cls", ESTIMATORS, ids=[path for path, _ in ESTIMATORS])
def test_estimator_has_references(path, cls):
    references = "\n".join(NumpyDocString(inspect.getdoc(cls))["References"])
    assert re.search(r"^\.\. \[\d+\] \S", references, flags=re.M), f"{path} has no References section"


@pytest.mark.parametrize("path, raw_doc", PUBLIC_API, ids=[path for path, _ in PUBLIC_API])
def test_citations_resolve(path, raw_doc):
    doc = inspect.cleandoc(raw_doc or numpydoc_validate.Validator._load_obj(path).__doc__ or "")
    references = "\n".join(NumpyDocString(doc)["References"])
    entries = re.findall(r"^\.\. \[(\w+)\]", references, flags=re.M)
    cited = set(re.findall(r"\[(\w+)\]_", doc))
    assert len(entries) == len(set(entries)), f"{path}: duplicate reference keys {entries}"
    assert cited <= set(entries), f"{path}: cited without a reference entry: {sorted(cited - set(entries))}"
    assert set(entries) <= cited, f"{path}: references never cited: {sorted(set(entries) - cited)}"
