"""Known third-party noise kept out of a run's output: messages that say nothing about the run (an advert, a
deprecation inside a library's own code, a one-time cache notice). Every entry point installs this first, before
its heavy imports; anything not listed here (a message, or a whole logger below ERROR) still shows."""

import logging
import warnings

IGNORED_WARNINGS = (  # message patterns (regular expressions, matched at the start of the message)
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",  # pytorch_lightning's _pytree under torch >= 2.10
)
DROPPED_LOG_LINES = {  # logger name: substrings of the records it drops
    "pytorch_lightning.utilities.rank_zero": ("litlogger",),  # an advert for a hosted logger, at every Trainer
}
QUIETED_LOGGERS = ("matplotlib.font_manager",)  # warnings below ERROR: its font-cache notice and font fallbacks


class DropRecords(logging.Filter):
    def __init__(self, substrings) -> None:
        super().__init__()
        self.substrings = tuple(substrings)

    def filter(self, record) -> bool:
        message = record.getMessage()
        return not any(s in message for s in self.substrings)


def quiet_known_noise() -> None:
    for pattern in IGNORED_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    for name, substrings in DROPPED_LOG_LINES.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropRecords) for f in logger.filters):
            logger.addFilter(DropRecords(substrings))
    for name in QUIETED_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
