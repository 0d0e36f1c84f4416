"""Showing screens and actions in a terminal (``run --approve`` now, the TUI later)."""
