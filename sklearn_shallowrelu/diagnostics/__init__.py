"""Curvature and rank diagnostics of fitted networks (work in progress, issue 5)."""

from ._model import NetworkParameters, network_parameters

__all__ = ["NetworkParameters", "network_parameters"]
