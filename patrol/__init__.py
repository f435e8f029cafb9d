"""opinion-patrol: public-safety monitoring of public online posts."""

__version__ = "0.1.0"
