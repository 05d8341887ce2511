"""Run an entry point's work so that bad input ends as one clear line on stderr and exit code 1; a full disk is
one line too, and SIGTERM ends the work as an exception would, so what it was writing is cleaned up."""

import errno
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from hydra.errors import InstantiationException
from omegaconf.errors import MissingMandatoryValue

from src.utils.errors import UserError

FULL = {errno.ENOSPC, errno.EDQUOT}


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """SIGTERM (a scheduler's kill, `kill PID`) raises SystemExit in the main thread, so `finally` blocks run and
    temporary files are removed; the previous handler comes back afterwards."""
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def writing(what) -> Iterator[None]:
    """An OSError raised without a file name while writing `what` (e.g. "the outputs of out=PATH") gets it as its
    file name, so guarded's one line for a full disk says what was being written."""
    try:
        yield
    except OSError as error:
        if error.filename is None:
            error.filename = what
        raise


def guarded(work, *args, sigterm_exits=False) -> object:
    """Run `work(*args)`; with `sigterm_exits` (tasks that write outputs but do not train: Lightning handles
    signals in training) SIGTERM ends it cleanly."""
    try:
        if not sigterm_exits:
            return work(*args)
        with sigterm_as_exit():
            return work(*args)
    except InstantiationException as error:  # a class the config names refused its settings: its own line
        if not isinstance(error.__cause__, UserError):
            raise
        print(f"error: {error.__cause__}", file=sys.stderr)
        sys.exit(1)
    except (UserError, FloatingPointError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except MissingMandatoryValue as error:  # a ??? option of the config the command line left out
        print(
            f"error: {error.full_key} is not set and has no default: pass {error.full_key}=... on the command line",
            file=sys.stderr,
        )
        sys.exit(1)
    except OSError as error:
        if error.errno not in FULL:
            raise
        where = f" writing {error.filename}" if error.filename else ""
        print(
            f"error: no space left on the device{where}: free some space or write elsewhere; the outputs that "
            "were there before are intact",
            file=sys.stderr,
        )
        sys.exit(1)
