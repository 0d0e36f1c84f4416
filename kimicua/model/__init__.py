"""Kimi-VL in PyTorch: the model, its processor, checkpoint IO and the generation engine."""

from kimicua.model.kimi_vl import KimiVL

__all__ = ["KimiVL"]
