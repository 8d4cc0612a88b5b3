"""The package version, in one place: posenet/__init__ re-exports it, pyproject.toml reads it.

A module of its own so that anything inside the package (the TFLite builder writes
it into every model's description) can import it without importing the package root.
"""

__version__ = "0.1.0"
