"""Surveys past one machine: the cost of the Dask engine and of MDIO against the one-machine path, on one volume.

Arms, each predict.py with one network (cpu_fast's, two training steps: the figures are speed, not quality), hflip
TTA, inline sections, on the same synthetic volume: the SEG-Y in this process (today's path); its MDIO store in
this process; the store on a running LocalCluster of 1 worker (ONNX Runtime on every core) and of 2 workers (one
thread each). The arms alternate for `--repeats` rounds, so the machine's drift spreads over all of them. Then the
peak memory of each worker on a second, larger volume, and ingest.py's time both ways.

python -m bench.cluster [--inlines 48 192] [--crosslines 400] [--samples 256] [--chunk-lines 4] [--repeats 2]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PROJECT, record, train
from src.sections.writers import write_segy_volume
from src.survey.synthetic import make_survey

PREDICT = ["predict.depth_origin=0", "predict.depth_step=4", "predict.uncertainty=false"]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_run(*args) -> float:
    print("$", " ".join(map(str, args)), flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, *map(str, args)], cwd=PROJECT, check=True)
    return time.perf_counter() - start


def volume(work, name, shape, chunk_lines) -> tuple[Path, Path, float, float]:
    """A synthetic SEG-Y and its MDIO store; (segy, store, ingest seconds, export seconds)."""
    amplitudes, _ = make_survey(shape, seed=0)
    segy = write_segy_volume(work / f"{name}.sgy", amplitudes)
    store = work / f"{name}.mdio"
    chunks = f"chunks=[{chunk_lines},128,128]"
    ingest = timed_run("ingest.py", f"input={segy}", f"out={store}", chunks, f"hydra.run.dir={work / 'h' / name}")
    export = timed_run(
        "ingest.py", f"input={store}", f"out={work / name}.back.sgy", f"hydra.run.dir={work / 'h' / name}"
    )
    return segy, store, ingest, export


def predict_on(ckpt, source, out, work, *extra, workers=None, onnx_threads=1) -> dict:
    """predict.py on `source`: {command: its seconds, predict: the seconds its <out>.json gives (reading,
    predicting, writing), idle / peak: each worker's peak RSS in MiB before and after}; workers: a LocalCluster of
    that many started here and given to predict.py by its address, as a user's running scheduler is."""
    args = ["predict.py", f"ckpt={ckpt}", f"input={source}", f"out={out}", *PREDICT, *extra]
    args.append(f"hydra.run.dir={work / 'h' / Path(out).name}")
    if not workers:
        seconds = timed_run(*args)
        return {"command": seconds, "predict": json.loads(Path(f"{out}.json").read_text())["seconds"]}
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            idle = sorted(client.run(peak_rss_mib).values())
            address = f"cluster.address={cluster.scheduler_address}"
            seconds = timed_run(*args, address, f"cluster.onnx_threads={onnx_threads}")
            peak = sorted(client.run(peak_rss_mib).values())
    predicted = json.loads(Path(f"{out}.json").read_text())["seconds"]
    return {"command": seconds, "predict": predicted, "idle": idle, "peak": peak}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inlines", type=int, nargs=2, default=[48, 192], help="the speed volume, the larger one")
    parser.add_argument("--crosslines", type=int, default=400)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--chunk-lines", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    cores = os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ckpt = train(
            work / "net", 10, "experiment=cpu_fast", "data=synthetic", "trainer.max_epochs=1",
            "++trainer.limit_train_batches=2", "++trainer.limit_val_batches=2",
        )  # fmt: skip
        shapes = [(n, args.crosslines, args.samples) for n in args.inlines]
        small, large = (volume(work, f"v{n}", shape, args.chunk_lines) for n, shape in zip(args.inlines, shapes))
        arms = {
            "SEG-Y, this process (one machine)": lambda out: predict_on(ckpt, small[0], out, work),
            "MDIO, this process": lambda out: predict_on(ckpt, small[1], out, work),
            f"MDIO, LocalCluster 1 worker x {cores} ONNX threads": lambda out: predict_on(
                ckpt, small[1], out, work, workers=1, onnx_threads=cores
            ),
            f"MDIO, LocalCluster {cores} workers x 1 ONNX thread": lambda out: predict_on(
                ckpt, small[1], out, work, workers=cores
            ),
        }
        runs = {name: [] for name in arms}
        for round_ in range(args.repeats):
            for k, (name, arm) in enumerate(arms.items()):
                runs[name].append(arm(work / f"p{round_}_{k}"))
        memory = {
            shape: predict_on(ckpt, source[1], work / f"m{shape[0]}", work, workers=cores)
            for shape, source in zip(shapes, (small, large))
        }
    mpx = [s[0] * s[1] * s[2] / 1e6 for s in shapes]
    base = statistics.median(r["predict"] for r in runs["SEG-Y, this process (one machine)"])
    lines = [
        f"volume {shapes[0]} (inline, crossline, samples) = {mpx[0]:.2f} Mpx, MDIO chunks ({args.chunk_lines}, 128, "
        f"128): a block is {args.chunk_lines} inlines; one network, hflip TTA, inline sections, no uncertainty;",
        "predict: the seconds predict.json gives (reading, predicting, writing; for a cluster, registering the "
        "workers' plugin too); command: the whole predict.py (start-up, ONNX export); median of "
        f"{args.repeats} alternating rounds [each round]",
        f"{'arm':52s} {'predict s':>9s} {'Mpx/s':>7s} {'vs one machine':>15s} {'command s':>10s}",
    ]
    for name, values in runs.items():
        median = statistics.median(r["predict"] for r in values)
        each = ", ".join(f"{r['predict']:.1f}" for r in values)
        whole = statistics.median(r["command"] for r in values)
        lines.append(f"{name:52s} {median:9.1f} {mpx[0] / median:7.3f} {base / median:14.3f}x {whole:10.1f}  [{each}]")
    lines.append(f"each worker's peak RSS ({cores} workers, 1 thread each), idle -> after predicting the volume:")
    for (shape, run), size in zip(memory.items(), mpx):
        change = ", ".join(f"{a:.0f} -> {b:.0f}" for a, b in zip(run["idle"], run["peak"]))
        lines.append(f"  {shape} ({size * 4:.0f} MB float32, {run['predict']:.0f} s): {change} MiB")
    for (shape, (_, _, ingest, export)), size in zip(zip(shapes, (small, large)), mpx):
        lines.append(
            f"ingest.py SEG-Y -> MDIO {shape}: {ingest:.1f} s, MDIO -> SEG-Y {export:.1f} s "
            f"(whole commands; {size * 4:.0f} MB of samples)"
        )
    record("Surveys past one machine: the Dask engine and MDIO against one machine", "\n".join(lines))


if __name__ == "__main__":
    main()
