"""This project's name and version, in one place (pyproject reads it too)."""

DISTRIBUTION = "ao-sessions"
__version__ = "0.2.0"
#: The day __version__ was released; bump it with the version. The man pages carry this date
#: (not the day they were generated), so regenerating them gives the same bytes every day.
RELEASE_DATE = "2026-12-06"
