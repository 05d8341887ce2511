"""Long work shows progress: a bar in a terminal, plain log lines in a log file."""

import logging

from src.utils.progress import PlainProgress, progress


def test_outside_a_terminal_progress_is_ten_plain_lines(caplog, capsys):
    caplog.set_level(logging.INFO)
    bar = progress(range(25), desc="predict", unit="tile")  # pytest's captured stderr is not a terminal
    assert isinstance(bar, PlainProgress) and list(bar) == list(range(25))
    lines = [r.getMessage() for r in caplog.records if r.name == "src.utils.progress"]
    assert len(lines) == 10 and lines[0].startswith("predict: 3/25 tile (12%")
    assert lines[-1].startswith("predict: 25/25")
    assert "\r" not in capsys.readouterr().err


def test_updates_inside_with_count_like_tqdm(caplog):
    caplog.set_level(logging.INFO)
    with progress(total=100, desc="oof") as bar:
        for _ in range(4):
            bar.update(25)
    assert [r.getMessage().split(" (")[0] for r in caplog.records][-1] == "oof: 100/100 it"
