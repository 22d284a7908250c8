"""The frozen random first layer of a shallow ReLU network, as a transformer."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .init import INIT_NAMES, Initialization, check_init
from ._atomic import atomic_fit
from ._coverage import init_name, warn_if_affine_on_data
from ._memory import require_memory

__all__ = ["ReLURandomFeatures"]


def relu_features(X, W, b):
    """``relu(X W^T + b) / sqrt(n)`` in the dtype of ``X``.

    The ``1/sqrt(n)`` scale makes the Gram matrix converge to the kernel of the
    initialisation, so the same ridge ``alpha`` means the same function-space
    penalty at every width.
    """
    Z = X @ W.T.astype(X.dtype, copy=False)
    Z += b.astype(X.dtype, copy=False)
    np.maximum(Z, 0, out=Z)
    Z *= X.dtype.type(1.0 / np.sqrt(W.shape[0]))
    return Z


class ReLURandomFeatures(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Random ReLU features: the frozen hidden layer of a shallow network.

    ``transform(X)`` returns ``relu(X W^T + b) / sqrt(n_components)`` where the
    rows ``(w_k, b_k)`` are drawn from ``init``.  With this scale the Gram matrix
    ``Phi Phi^T`` tends to the kernel ``K(x, x') = E[relu(W x + B) relu(W x' + B)]``
    as ``n_components`` grows, so ``Ridge(alpha)`` on these features tends to
    kernel ridge regression with ``K`` and the same ``alpha``: random features
    in the sense of Rahimi and Recht [1]_.  For the Gaussian initialisation
    ``K`` is half the degree-one arc-cosine kernel of Cho and Saul [2]_; in 1-D
    ``K`` is determined by the curvature weight of the initialisation (Jin and
    Montufar [3]_; see :mod:`sklearn_shallowrelu.init`).

    Parameters
    ----------
    n_components : int, default=100
        Number of hidden units (the width).
    init : str, Initialization, callable or tuple (W, b), default='gaussian'
        Distribution of the hidden weights and biases: ``'gaussian'``,
        ``'rademacher_uniform'``, ``'uniform'``, ``'uniform_knots'`` (fitted to
        the range of ``X``), ``'he'``, an object from
        :mod:`sklearn_shallowrelu.init`, a callable
        ``(n_components, n_features, random_state) -> (W, b)``, or explicit
        arrays ``(W, b)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of the hidden units.

    Attributes
    ----------
    init_ : Initialization
        The initialisation used, bound to the training data if it depends on it.
    weights_ : ndarray of shape (n_components, n_features_in_)
        Hidden weights ``W``.
    bias_ : ndarray of shape (n_components,)
        Hidden biases ``b``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string feature names.

    See Also
    --------
    RandomFeatureReLURegressor : This transformer followed by a trained output layer.
    sklearn.kernel_approximation.RBFSampler : Random Fourier features.

    References
    ----------
    .. [1] A. Rahimi and B. Recht, "Random features for large-scale kernel
       machines", Advances in Neural Information Processing Systems 20
       (NIPS 2007).
    .. [2] Y. Cho and L. K. Saul, "Kernel methods for deep learning",
       Advances in Neural Information Processing Systems 22 (NIPS 2009).
    .. [3] H. Jin and G. Montufar, "Implicit bias of gradient descent for mean
       squared error regression with two-layer wide neural networks",
       Journal of Machine Learning Research, 24(137):1-97, 2023.
       https://arxiv.org/abs/2006.07356

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_shallowrelu import ReLURandomFeatures
    >>> X = np.linspace(-1, 1, 5).reshape(-1, 1)
    >>> rf = ReLURandomFeatures(n_components=3, random_state=0).fit(X)
    >>> rf.transform(X).shape
    (5, 3)
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions(set(INIT_NAMES)), Initialization, callable, tuple],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components=100, init="gaussian", random_state=None):
        self.n_components = n_components
        self.init = init
        self.random_state = random_state

    @atomic_fit
    def fit(self, X, y=None):
        """Draw the hidden units (``X`` is used for its shape and, for data-dependent inits, its range).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs: their number of features, and their range for
            data-dependent initialisations such as ``'uniform_knots'``.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._validate_params()
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        init = check_init(self.init).bind(X)
        require_memory(8 * self.n_components * (X.shape[1] + 1),
                       f"The hidden layer (n_components={self.n_components}, {X.shape[1]} features)",
                       "Use a smaller n_components.")
        W, b = init.sample(self.n_components, X.shape[1], self.random_state)
        warn_if_affine_on_data(W, b, X, init_name(self.init))
        self.init_ = init
        self.weights_, self.bias_ = W, b
        self._n_features_out = self.n_components
        return self

    def transform(self, X):
        """Random features ``relu(X W^T + b) / sqrt(n_components)``, same dtype as ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs to map.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            The features, float32 for float32 ``X`` and float64 otherwise.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return relu_features(X, self.weights_, self.bias_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
