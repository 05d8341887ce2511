"""Measurements, one question per script, each run as a module from the project root and recorded in
bench/RESULTS.md with its command, date, machine and commit:

- `python -m bench.budget`           quality for a wall-clock budget: train.py recipes vs hand-written loops
- `python -m bench.budget_breakdown` where a cpu_fast budget's minutes go (Lightning's SimpleProfiler)
- `python -m bench.bn_sample`        how many training tiles a weight average's BatchNorm recompute needs
- `python -m bench.ensembles`        best snapshot vs snapshot ensembles vs the fold ensemble, OOF and held out
- `python -m bench.throughput`       training images/s (ours vs a raw loop, precision, memory format, compile),
                                     inference tiles/s
- `python -m bench.sections`         whole-section prediction speed, PyTorch vs ONNX Runtime
- `python -m bench.semi_supervised`  pseudo-labels and mean teacher vs supervised, on held-out tiles
- `python -m bench.fixes`            what issue 13's fixes moved on a finished run
- `python -m bench.network_cost`     parameters, GFLOP per image and training images/s of networks side by side
- `python -m bench.survey`           your own survey, on synthetic ones: accuracy, active labelling, memory (a
                                     package, one module per study)
- `python -m bench.cluster`          prediction on a Dask cluster against one machine (speed, memory per worker)
- `bash bench/gpu_check.sh`          the GPU check (bench.gpu_report records it)

Shared helpers live in bench/common.py.
"""
