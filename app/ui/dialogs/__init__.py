"""Dialogs and first-run panels: providers and keys, settings, welcome."""
