"""The compare panel (several models answering one prompt side by side)."""

from app.ui.panels.compare.panel import ComparePanel

__all__ = ["ComparePanel"]
