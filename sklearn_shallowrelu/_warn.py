"""Warnings that point at the caller's line.

A warning raised deep inside a solver is useless if Python reports it at that
solver's line: the reader wants the line of *their* code that called ``fit``
(or ``cross_val_score``, or ``GridSearchCV.fit``).  A fixed ``stacklevel`` cannot
say where that is, because the depth differs by path (``fit`` directly, through
scikit-learn's ``_fit_context`` wrapper, through a meta-estimator).  So
:func:`warn` walks up the stack to the first frame outside this package,
scikit-learn and joblib, and hands Python that depth.  (Python 3.12's
``skip_file_prefixes`` does the same; the package supports 3.10.)
"""

import os
import sys
import warnings

import joblib
import sklearn

__all__ = ["warn"]


def _folder(module):
    return os.path.dirname(os.path.abspath(module.__file__)) + os.sep


_INTERNAL = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    _folder(sklearn),
    _folder(joblib),
)


def _internal(frame):
    return os.path.abspath(frame.f_code.co_filename).startswith(_INTERNAL)


def warn(message, category=UserWarning):
    """Warn at the first caller outside sklearn_shallowrelu, scikit-learn and joblib.

    Parameters
    ----------
    message : str
    category : type of Warning, default=UserWarning
    """
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is whoever called warn()
    while frame.f_back is not None and _internal(frame):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
