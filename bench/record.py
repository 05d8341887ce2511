"""Append a measured block to bench/RESULTS.md with the command, date, machine and commit."""
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine():
    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(0)}"
    return f"CPU {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"


def commit():
    if os.environ.get("BENCH_COMMIT"):  # where the tree was copied without its .git (the device machine)
        return os.environ["BENCH_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=RESULTS.parent).stdout.strip() or "uncommitted"
    except OSError:
        return "unknown"


def record(title, body, command=None, results=RESULTS):
    """Print `body` and append it under a heading, with the command that made it, to `results` (RESULTS.md)."""
    print(body)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = command or f"python {' '.join(sys.argv)}"
    block = (f"\n### {title}\n\n`{command}` — {stamp}, {machine()}, commit {commit()}\n\n"
             f"```\n{body.rstrip()}\n```\n")
    with open(results, "a") as handle:
        handle.write(block)
    return block
