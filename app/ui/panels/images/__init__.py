"""The images panel (generate, browse and keep images)."""

from app.ui.panels.images.panel import ImagesPanel

__all__ = ["ImagesPanel"]
