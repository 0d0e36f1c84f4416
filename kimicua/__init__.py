"""kimicua: an open runtime for GUI agents around Kimi-VL-A3B."""

__version__ = "0.1.0"
