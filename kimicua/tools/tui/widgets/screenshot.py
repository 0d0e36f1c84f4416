"""The screenshot pane: a screen with an action's marker, as half blocks or through a
terminal graphics protocol (textual-image)."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container
from textual.widget import Widget

from kimicua.env.actions import Action
from kimicua.tools.tui.images import halfblock_picture, marked


class HalfBlockView(Widget):
    """The picture drawn with half blocks, fitted to the widget's size."""

    DEFAULT_CSS = "HalfBlockView { width: 1fr; height: 1fr; content-align: center middle; }"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.image: np.ndarray | None = None
        self.action: Action | None = None
        self.screen_size: tuple[int, int] | None = None
        self.placeholder = "no screen yet"

    def show(self, image: np.ndarray | None, action: Action | None = None,
             screen: tuple[int, int] | None = None, placeholder: str | None = None) -> None:
        self.image, self.action, self.screen_size = image, action, screen
        if placeholder is not None:
            self.placeholder = placeholder
        self.refresh()

    def render(self) -> Text:
        if self.image is None:
            return Text(self.placeholder, style="dim")
        return halfblock_picture(self.image, self.action, self.screen_size, self.size.width, self.size.height)


class GraphicsView(Container):
    """The picture through textual-image (Kitty's graphics protocol or Sixel)."""

    DEFAULT_CSS = "GraphicsView { width: 1fr; height: 1fr; align: center middle; }"

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        self.mode = mode

    def compose(self) -> ComposeResult:
        from textual_image.widget import SixelImage, TGPImage

        picture = (SixelImage if self.mode == "sixel" else TGPImage)()
        picture.styles.width, picture.styles.height = "auto", "100%"
        yield picture

    def show(self, image: np.ndarray | None, action: Action | None = None,
             screen: tuple[int, int] | None = None, placeholder: str | None = None) -> None:
        picture = self.query_one("Image")
        picture.image = None if image is None else marked(image, action, screen)


def screenshot_view(mode: str, **kwargs) -> HalfBlockView | GraphicsView:
    """The pane for an images mode (see ``images.images_mode``)."""
    return HalfBlockView(**kwargs) if mode == "halfblock" else GraphicsView(mode, **kwargs)
