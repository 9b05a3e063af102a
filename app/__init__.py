"""Palaver: a desktop client for OpenAI-compatible APIs."""

# The one place the version is written: pyproject.toml reads it from here (a literal, so
# start-up does not pay ~40 ms for importlib.metadata).
__version__ = "0.1.0"

APP_NAME = "Palaver"
