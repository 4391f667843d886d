"""Relay's version, in a module of its own so the server can say it without importing the SDK."""

__version__ = "0.1.0"
