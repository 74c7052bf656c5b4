"""The one exception type that wordvec raises for anything a user can cause."""


class WordvecError(Exception):
    """A clear, one-line problem with the user's input, files or settings."""


class TrainingInterrupted(WordvecError):
    """Training stopped on a signal (Ctrl-C, SIGTERM) after saving a checkpoint."""

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.signal_number = signal_number


class BadVectorsWarning(UserWarning):
    """A vector file held rows that cannot be used (NaN or infinity); they were left out."""


class NotTextWarning(UserWarning):
    """Files found in a corpus folder were not text (a model, a picture); they were not read."""
