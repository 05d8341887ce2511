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
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=RESULTS.parent).stdout.strip() or "uncommitted"
    except OSError:
        return "unknown"


def record(title, body):
    """Print `body` and append it under a heading to RESULTS.md."""
    print(body)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = (f"\n### {title}\n\n`python {' '.join(sys.argv)}` — {stamp}, {machine()}, commit {commit()}\n\n"
             f"```\n{body.rstrip()}\n```\n")
    with open(RESULTS, "a") as handle:
        handle.write(block)
