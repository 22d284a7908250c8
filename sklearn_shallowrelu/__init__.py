"""sklearn_shallowrelu: the implicit bias of shallow ReLU networks as scikit-learn estimators."""

from .features import ReLURandomFeatures
from .random_features import RandomFeatureReLURegressor, RandomFeatureReLURegressorCV
from .diagnostics import CurvatureDiagnostics, RankDiagnostics, diagnostic_scorers
from .shallow import ShallowReLURegressor
from .spline import SmoothingSplineEquivalent
from .lazy import KernelLimitRegressor
from .minimum_norm import MinimumNormNetwork

__version__ = "0.1.0"

__all__ = [
    "ReLURandomFeatures",
    "RandomFeatureReLURegressor",
    "RandomFeatureReLURegressorCV",
    "ShallowReLURegressor",
    "SmoothingSplineEquivalent",
    "KernelLimitRegressor",
    "MinimumNormNetwork",
    "CurvatureDiagnostics",
    "RankDiagnostics",
    "diagnostic_scorers",
]
