"""The usage dashboard panel (a sub-package: panel, charts, calls table)."""

from app.ui.panels.usage.panel import UsagePanel

__all__ = ["UsagePanel"]
