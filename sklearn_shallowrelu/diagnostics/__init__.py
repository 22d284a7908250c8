"""Curvature and rank diagnostics of fitted networks, as transformers and scorers."""

from ._model import NetworkParameters, network_parameters
from .rank import RankDiagnostics, rank_measures, rank_scorer

__all__ = ["NetworkParameters", "network_parameters", "RankDiagnostics", "rank_measures", "rank_scorer"]
