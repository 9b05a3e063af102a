"""Palaver: a desktop client for OpenAI-compatible APIs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("palaver")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

APP_NAME = "Palaver"
