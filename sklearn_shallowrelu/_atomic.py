"""Fits that either succeed or change nothing.

scikit-learn's ``validate_data(reset=True)`` records ``n_features_in_`` (and
``feature_names_in_``) as soon as the new ``X`` passes validation, and a
solver may fail after that; a refit that then raises would leave a model
whose attributes describe two different fits (``predict`` on the old data
raises).  Rather than ordering every assignment in every ``fit`` by hand,
:func:`atomic_fit` keeps a shallow copy of the instance's ``__dict__`` and puts
it back if the wrapped method raises.  A shallow copy suffices because the
estimators never modify a fitted array in place: a fit assigns new objects.
"""

import functools

__all__ = ["atomic_fit"]


def atomic_fit(method):
    """Decorate ``fit``/``partial_fit`` so that an exception restores every attribute.

    Parameters
    ----------
    method : callable
        A method of an estimator; its return value is passed through.

    Returns
    -------
    callable
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper
