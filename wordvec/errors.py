"""The one exception type that wordvec raises for anything a user can cause."""


class WordvecError(Exception):
    """A clear, one-line problem with the user's input, files or settings."""
