"""Errors that end a command with exit code 2 and one line naming what was wrong."""


class UsageError(Exception):
    """Bad usage or bad input (a missing directory, an unknown model, a bad file)."""
