"""Peak memory and time of bodies.py on a large mask cube."""

import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import record
from bench.survey.common import RepeatedCube, run_py
from src.survey.synthetic import make_survey


def bodies_memory_study(bodies_gb, seed):
    """Peak memory and time of bodies.py on a mask cube of `bodies_gb` GB (bool, 1 byte a voxel), the hard
    survey's labels repeated: flat in the cube's size if the labelling holds a line at a time."""
    samples, crosslines = 1000, 1250
    inlines = int(round(bodies_gb * 2**30 / (samples * crosslines)))
    shape = (inlines, crosslines, samples)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _, small_labels = make_survey((40, 125, 250), seed=seed, setting="hard")
        cube = RepeatedCube(small_labels.astype(bool), shape)
        mask = np.lib.format.open_memmap(work / "big.mask.npy", mode="w+", dtype=np.bool_, shape=shape)
        for i in range(inlines):
            mask[i] = cube.line(i)
        mask.flush()
        del mask
        start = time.perf_counter()
        rss, private = run_py(
            "bodies.py",
            f"input={work / 'big.mask.npy'}",
            f"out={work / 'bodies'}",
            "bodies.spacing.inline=25",
            "bodies.spacing.crossline=12.5",
            "bodies.spacing.sample=4",
            "bodies.min_voxels=100",
            f"hydra.run.dir={work / 'hydra'}",
        )
        seconds = time.perf_counter() - start
        found = len((work / "bodies" / "bodies.csv").read_text().splitlines()) - 1
    lines = [
        f"mask {inlines} x {crosslines} x {samples} bool: {bodies_gb:g} GiB; {found} bodies",
        f"bodies.py: peak RSS {rss:.0f} MiB, peak private {private:.0f} MiB, {seconds:.0f} s in all",
    ]
    record(f"Salt bodies: memory on a {bodies_gb:g} GB mask", "\n".join(lines))
