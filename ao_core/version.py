"""This project's name and version, in one place (pyproject reads it too)."""

DISTRIBUTION = "ao-sessions"
__version__ = "0.1.0"
