"""Letting a sandboxed env reach the test page server (its apps' network is off)."""

from __future__ import annotations


def expose_pages(env, pages_url: str):
    """Relay the page server's loopback port into ``env``'s sandbox; returns ``env``."""
    env.expose_port(int(pages_url.rsplit(":", 1)[1]))
    return env
