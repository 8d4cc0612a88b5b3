"""The one exception type users see.

Anything the user gave that cannot be used (a file, a size, a model name)
raises PosenetError with a one-line message; the CLI prints it and exits 2.
"""


class PosenetError(Exception):
    """A problem with the user's input, explained in one line."""
