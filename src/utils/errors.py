"""One exception type for bad user input, so entry points can print it as a single line."""


class UserError(Exception):
    """Bad input from the user (a file, a folder, a value). The message says what and what to do."""
