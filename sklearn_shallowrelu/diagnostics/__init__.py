"""Curvature and rank diagnostics of fitted networks, as transformers and scorers."""

from ._model import NetworkParameters, network_parameters
from .curvature import CurvatureDiagnostics, stability_weight, stability_weight_multi, weighted_curvature
from .rank import RankDiagnostics, rank_measures
from .scorers import diagnostic_scorer, diagnostic_scorers

__all__ = [
    "NetworkParameters",
    "network_parameters",
    "CurvatureDiagnostics",
    "stability_weight",
    "stability_weight_multi",
    "weighted_curvature",
    "RankDiagnostics",
    "rank_measures",
    "diagnostic_scorer",
    "diagnostic_scorers",
]
