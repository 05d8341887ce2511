"""The entry points keep known third-party noise out of the output, and nothing else."""

import logging
import os
import warnings

from src.utils.quiet import quiet_known_noise


def test_known_noise_is_dropped_and_other_messages_pass(caplog):
    caplog.set_level(logging.INFO)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_known_noise()
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use TreeSpec", DeprecationWarning, stacklevel=1)
        warnings.warn("a warning nobody listed", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["a warning nobody listed"]
    lightning = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    lightning.info(
        "💡 Tip: For seamless cloud logging, try installing [litlogger](https://pypi.org/project/litlogger/)"
    )
    lightning.info("GPU available: False, used: False")
    assert "litlogger" not in caplog.text and "GPU available" in caplog.text
    quiet_known_noise()  # a second entry point in the same process adds no second filter
    assert len(lightning.filters) == 1
    assert logging.getLogger("matplotlib.font_manager").getEffectiveLevel() == logging.ERROR
    assert os.environ["DASK_LOGGING__DISTRIBUTED"] == "warning"
