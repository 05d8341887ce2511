"""Run a command and write its peak memory: python -m bench.peak_memory OUT_FILE COMMAND...

OUT_FILE gets two numbers in KiB: the peak resident set (the kernel's high-water mark, which counts pages of
memory-mapped files the process touched: page cache the kernel can drop) and the peak of its private, anonymous
memory (RssAnon, sampled every 20 ms). Run from a small process like this one: a child forked straight from a
large process would count that process's memory as its own peak (Linux keeps the fork's high-water mark across
exec). Linux only.
"""

import os
import subprocess
import sys
import threading
from pathlib import Path


def anonymous_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0


def main():
    out, command = Path(sys.argv[1]), sys.argv[2:]
    process = subprocess.Popen(command)
    peak_anonymous, done = [0], threading.Event()

    def sample():
        while not done.wait(0.02):
            try:
                peak_anonymous[0] = max(peak_anonymous[0], anonymous_kib(process.pid))
            except (FileNotFoundError, ProcessLookupError):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    done.set()
    out.write_text(f"{usage.ru_maxrss} {peak_anonymous[0]}")
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
