"""Progress of long work: tqdm's bar in a terminal; where stderr is not one (a log file, CI, a batch job), a plain
log line at every tenth of the way instead, so a log shows progress without a bar's carriage-return fragments."""

import logging
import sys
import time
from collections.abc import Iterator

from tqdm import tqdm

log = logging.getLogger(__name__)


class PlainProgress:
    """tqdm's interface as used here (iterate, or update(n) inside `with`), writing a log line per tenth done."""

    def __init__(self, iterable=None, total=None, desc="", unit="it", lines=10) -> None:
        self.iterable, self.desc, self.unit, self.lines = iterable, desc, unit, lines
        self.total = total if total is not None else len(iterable)
        self.n, self.said, self.started = 0, 0, time.monotonic()

    def __iter__(self) -> Iterator:
        for item in self.iterable:
            yield item
            self.update()

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, n=1) -> None:
        self.n += n
        due = self.lines * self.n // max(self.total, 1)
        if due > self.said:
            self.said = due
            log.info(
                "%s: %d/%d %s (%.0f%%, %.0f s)",
                self.desc,
                self.n,
                self.total,
                self.unit,
                100 * self.n / max(self.total, 1),
                time.monotonic() - self.started,
            )


def in_terminal() -> bool:
    """Whether progress goes to a terminal (bars) or to a log (plain lines)."""
    return sys.stderr.isatty()


def progress(iterable=None, total=None, desc="", unit="it") -> tqdm | PlainProgress:
    """A progress bar over `iterable` (or `total` updates): tqdm in a terminal, PlainProgress elsewhere."""
    if in_terminal():
        return tqdm(iterable, total=total, desc=desc, unit=unit)
    return PlainProgress(iterable, total, desc, unit)
