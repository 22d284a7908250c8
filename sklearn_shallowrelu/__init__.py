"""sklearn_shallowrelu: the implicit bias of shallow ReLU networks as scikit-learn estimators."""

from .features import ReLURandomFeatures
from .random_features import RandomFeatureReLURegressor, RandomFeatureReLURegressorCV
from .diagnostics import CurvatureDiagnostics, RankDiagnostics, diagnostic_scorers
from .shallow import ShallowReLURegressor

__version__ = "0.1.0"

__all__ = [
    "ReLURandomFeatures",
    "RandomFeatureReLURegressor",
    "RandomFeatureReLURegressorCV",
    "ShallowReLURegressor",
    "CurvatureDiagnostics",
    "RankDiagnostics",
    "diagnostic_scorers",
]
