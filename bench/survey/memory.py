"""Peak memory against the SEG-Y's size: sampling training windows and predict.py on a large volume."""

import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import record
from bench.survey.common import RepeatedCube, run_py
from src.sections.writers import write_segy_volume
from src.survey.synthetic import make_survey


def memory_study(memory_gb, every, seed):
    samples = 1000
    crosslines = 1250
    inlines = int(round(memory_gb * 2**30 / (4 * samples * crosslines)))
    shape = (inlines, crosslines, samples)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small, small_labels = make_survey((40, 125, 250), seed=seed)
        start = time.perf_counter()
        write_segy_volume(work / "big.sgy", RepeatedCube(small, shape))
        written = time.perf_counter() - start
        labels_path, label_cube = work / "labels.npy", RepeatedCube(small_labels, shape)
        labels = np.lib.format.open_memmap(labels_path, mode="w+", dtype=np.uint8, shape=shape)
        for i in range(inlines):
            labels[i] = label_cube.line(i)
        labels.flush()
        del labels
        size = (work / "big.sgy").stat().st_size / 2**20
        tiny = work / "tiny"
        run_py("train.py", "debug=tiny", "data=synthetic", f"hydra.run.dir={tiny}")
        baseline = run_py("-c", "import src.tasks.predict, src.survey.datamodule")
        windows = run_py("-m", "bench.survey.windows", work / "big.sgy", labels_path, every)
        predicted = run_py(
            "predict.py",
            f"ckpt={tiny}",
            f"input={work / 'big.sgy'}",
            f"out={work / 'pred'}",
            "tta=none",
            "predict.overlap=0",
            "predict.depth_origin=51",
            "predict.depth_step=1",
            f"hydra.run.dir={work / 'hydra'}",
        )
    rows = [
        ("importing the project's modules alone (torch, Lightning, onnxruntime...)", baseline),
        (f"sampling training windows (every {every}th inline labelled)", windows),
        ("predict.py on the whole volume (inline sections, tiny network, no TTA)", predicted),
    ]
    lines = [
        f"SEG-Y {inlines} x {crosslines} x {samples} float32: {size:.0f} MiB (written in {written:.0f} s)",
        f"{'':72s} {'peak RSS':>9s} {'peak private':>13s}",
        *[f"{what:72s} {rss:5.0f} MiB {private:9.0f} MiB" for what, (rss, private) in rows],
        "(RSS counts the pages of memory-mapped files a process touched: page cache the kernel can drop; "
        "private memory is the process's own)",
    ]
    record(f"Your own survey: memory on a {memory_gb:g} GB SEG-Y", "\n".join(lines))
