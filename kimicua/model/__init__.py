"""Kimi-VL in PyTorch: the model, its processor, checkpoint IO and the generation engine."""

from kimicua.model.kimi_vl import KimiVL

__all__ = ["KimiVL", "KimiVLProcessor"]


def __getattr__(name: str):
    # the processor is loaded on first use (it pulls in PIL and tiktoken)
    if name == "KimiVLProcessor":
        from kimicua.model.processor import KimiVLProcessor

        return KimiVLProcessor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
