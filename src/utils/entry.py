"""Run an entry point's work so that bad input ends as one clear line on stderr and exit code 1."""
import sys

from src.utils.errors import UserError


def guarded(work, *args):
    try:
        return work(*args)
    except (UserError, FloatingPointError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
