"""Firebreak: automated incident response for production AI systems."""

__version__ = "0.1.0"
__all__ = ["__version__"]
