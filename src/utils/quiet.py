"""Known third-party noise kept out of a run's output: messages that say nothing about the run (an advert, a
deprecation inside a library's own code, a one-time cache notice). Every entry point installs this first, before
its heavy imports; anything not listed here (a message, or a whole logger below ERROR) still shows."""

import logging
import os
import warnings

IGNORED_WARNINGS = (  # message patterns (regular expressions, matched at the start of the message)
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",  # pytorch_lightning's _pytree under torch >= 2.10
)
DROPPED_LOG_LINES = {  # logger name: substrings of the records it drops
    "pytorch_lightning.utilities.rank_zero": ("litlogger",),  # an advert for a hosted logger, at every Trainer
}
QUIETED_LOGGERS = {  # logger name: the lowest level it still shows
    "matplotlib.font_manager": logging.ERROR,  # its font-cache notice and font fallbacks
    "segy": logging.WARNING,  # MDIO's ingest and export: what they read from each header
    "mdio": logging.WARNING,
}


class DropRecords(logging.Filter):
    def __init__(self, substrings) -> None:
        super().__init__()
        self.substrings = tuple(substrings)

    def filter(self, record) -> bool:
        message = record.getMessage()
        return not any(s in message for s in self.substrings)


DASK_LOGGING = {"DASK_LOGGING__DISTRIBUTED": "warning"}  # a cluster's start and close, a line per worker and
# client; a lost worker still shows. Distributed sets its loggers' levels from its config when imported, and in
# every worker it starts, so the level goes in through Dask's environment config (a user's own setting wins).


def quiet_known_noise() -> None:
    for key, value in DASK_LOGGING.items():
        os.environ.setdefault(key, value)
    for pattern in IGNORED_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    for name, substrings in DROPPED_LOG_LINES.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropRecords) for f in logger.filters):
            logger.addFilter(DropRecords(substrings))
    for name, level in QUIETED_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
