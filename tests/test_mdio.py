"""MDIO stores and prediction past one machine: SEG-Y in and out through MDIO's API, a store predicted block by
block (in this process, on a 2-worker LocalCluster, on a running scheduler) with the same answer as the
one-machine path on the SEG-Y it came from, a killed job taken up where it stopped, and one clear line for what
cannot work."""

import json
import logging
import os
import signal
import threading
import time
from contextlib import contextmanager

import numpy as np
import pytest
import segyio
import zarr

from conftest import compose_config, last_line, run_cli, run_task
from src.inference import cluster as cluster_module
from src.sections.mdio_store import MdioVolume, segy_to_store, store_to_segy
from src.sections.writers import write_segy_volume
from src.survey.synthetic import generate_survey
from src.tasks.predict import predict
from src.utils.errors import UserError

SHAPE = (10, 14, 64)
CHUNKS = (4, 4, 64)  # blocks of 4 lines: 3 inline blocks, 4 crossline blocks
DEPTH = ("predict.depth_origin=0", "predict.depth_step=4")
TEMPERATURE = ("predict.temperature=2",)
BOTH = ("predict.axis=both", "predict.smooth_lines=1")


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """A synthetic SEG-Y and its MDIO store, chunked small so that a prediction has several blocks."""
    folder = generate_survey(tmp_path_factory.mktemp("mdio") / "survey", shape=SHAPE, seed=1)
    store = segy_to_store(folder / "seismic.sgy", folder / "seismic.mdio", chunks=CHUNKS, cpus=1)
    return folder / "seismic.sgy", store


@pytest.fixture(scope="module")
def scheduler():
    """A running 2-worker LocalCluster, reached by its address as a user's scheduler would be."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def run_predict(ckpt, source, out, *extra, tmp_path):
    cfg = compose_config(
        "predict", f"ckpt={ckpt}", f"input={source}", f"out={out}", "snapshots=1", *DEPTH, *extra, run_dir=tmp_path
    )
    return run_task(predict, cfg)


@pytest.fixture(scope="module")
def threshold(trained_run, survey, tmp_path_factory):
    """threshold=<the probability as trained that puts about half the voxels in salt at temperature 2>, so that
    the masks compared are not all empty: a briefly trained network's probabilities all lie near 0.46."""
    folder = tmp_path_factory.mktemp("threshold")
    run_predict(trained_run, survey[0], folder / "one", *TEMPERATURE, tmp_path=folder / "h")
    median = np.median(np.load(folder / "one.probs.npy"))
    return f"threshold={1 / (1 + np.exp(-np.log(median / (1 - median)) * 2))}"


@pytest.fixture(scope="module")
def whole_both(trained_run, survey, tmp_path_factory):
    """The store predicted along both axes with smoothing, in this process: the answer a disturbed job must give."""
    folder = tmp_path_factory.mktemp("whole")
    run_predict(trained_run, survey[1], folder / "whole", *BOTH, tmp_path=folder / "h")
    return zarr.open_group(str(folder / "whole.mdio"), mode="r")


def test_a_segy_goes_into_mdio_and_back_with_its_samples_and_headers(survey, tmp_path):
    segy, store = survey
    volume = MdioVolume(store)
    assert volume.shape == SHAPE and volume.chunks == CHUNKS and volume.trace_mask.all()
    back = store_to_segy(store, tmp_path / "back.sgy", cpus=1)
    with segyio.open(str(segy)) as a, segyio.open(str(back)) as b:
        assert np.array_equal(segyio.tools.cube(a), segyio.tools.cube(b))
        assert list(a.ilines) == list(b.ilines) and list(a.samples) == list(b.samples)
        assert all(a.header[i] == b.header[i] for i in range(a.tracecount))
        assert b.bin[segyio.BinField.Format] == a.bin[segyio.BinField.Format] == 5
    with segyio.open(str(segy)) as a:
        assert np.array_equal(volume.line("crossline", 3), segyio.tools.cube(a)[:, 3])


@pytest.mark.parametrize("axis", ["inline", "crossline", "both"])
def test_the_cluster_gives_the_one_machine_answer(trained_run, survey, scheduler, threshold, tmp_path, axis):
    segy, store = survey
    settings = [f"predict.axis={axis}", "predict.smooth_lines=1", *TEMPERATURE, threshold]
    run_predict(trained_run, segy, tmp_path / "one", *settings, tmp_path=tmp_path / "h1")
    run_predict(
        trained_run, store, tmp_path / "cluster", *settings, f"cluster.address={scheduler}", tmp_path=tmp_path / "h2"
    )
    expected = {kind: np.load(tmp_path / f"one.{kind}.npy") for kind in ("probs", "mask", "uncertainty")}
    got = zarr.open_group(str(tmp_path / "cluster.mdio"), mode="r")
    assert np.abs(got["probability"][:] - expected["probs"]).max() <= 1e-6
    assert np.abs(got["uncertainty"][:] - expected["uncertainty"]).max() <= 1e-6
    assert np.array_equal(got["mask"][:].astype(bool), expected["mask"]) and expected["mask"].any()
    assert "blocks" not in got and not (tmp_path / "cluster.mdio.partial").exists()
    meta = json.loads((tmp_path / "cluster.json").read_text())
    assert meta["blocks_already_written"] == 0 and meta["axis"] == axis
    provenance = json.loads(got["probability"].attrs["salt_prediction"])
    assert provenance["smooth_lines"] == 1 and provenance["temperatures"][0]["temperature"] == 2.0


def test_a_local_cluster_predicts_and_the_store_goes_back_to_segy_with_the_source_headers(
    trained_run, survey, tmp_path
):
    segy, store = survey
    run_predict(trained_run, store, tmp_path / "pred", "cluster=local", "cluster.spec.n_workers=2", tmp_path=tmp_path)
    probs = zarr.open_array(str(tmp_path / "pred.mdio" / "probability"), mode="r")[:]
    assert probs.shape == SHAPE and 0 <= probs.min() and probs.max() <= 1
    assert (tmp_path / "pred.preview.png").stat().st_size > 0
    back = store_to_segy(tmp_path / "pred.mdio", tmp_path / "pred.sgy", cpus=1)
    with segyio.open(str(segy)) as a, segyio.open(str(back)) as b:
        assert np.allclose(segyio.tools.cube(b), probs, atol=0)
        assert all(a.header[i] == b.header[i] for i in range(a.tracecount))


def test_a_killed_job_run_again_does_only_the_blocks_not_yet_written(
    trained_run, survey, whole_both, tmp_path, monkeypatch, caplog
):
    segy, store = survey
    settings = BOTH
    real, calls = cluster_module.run_block, []

    def dies_after_five(*args):
        if len(calls) == 5:
            raise KeyboardInterrupt  # as a job killed midway
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(cluster_module, "run_block", dies_after_five)
    with pytest.raises(KeyboardInterrupt):
        run_predict(trained_run, store, tmp_path / "again", *settings, tmp_path=tmp_path / "h1")
    assert (tmp_path / "again.mdio.partial").is_dir() and not (tmp_path / "again.mdio").exists()
    monkeypatch.setattr(cluster_module, "run_block", real)
    caplog.set_level(logging.INFO)
    run_predict(trained_run, store, tmp_path / "again", *settings, tmp_path=tmp_path / "h2")
    assert "5 of 17 blocks were already written and were skipped" in caplog.text  # 3 + 4 + 3 + 4 + 3
    again = zarr.open_group(str(tmp_path / "again.mdio"), mode="r")
    for kind in ("probability", "mask", "uncertainty"):
        assert np.array_equal(whole_both[kind][:], again[kind][:])
    assert json.loads((tmp_path / "again.json").read_text())["blocks_already_written"] == 5


def kill_a_worker_once_blocks_are_written(client, partial, killed) -> None:
    """Waits for the first completion record of `partial`, then kill -9s one worker process."""
    while not killed:
        try:
            if zarr.open_array(str(partial / "blocks" / "done.0"), mode="r")[:].any():
                pid = next(iter(client.run(os.getpid).values()))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        except (FileNotFoundError, KeyError, ValueError):
            pass
        time.sleep(0.02)


@contextmanager
def killing_a_worker(client, partial):
    """Kills one worker with SIGKILL once `partial` has its first block; yields the pid killed (in a list, filled
    when it happens: None when the job ended first)."""
    killed = []
    watcher = threading.Thread(target=kill_a_worker_once_blocks_are_written, args=(client, partial, killed))
    watcher.start()
    try:
        yield killed
    finally:
        killed.append(None)  # stops the watcher if it has not fired
        watcher.join()


def test_a_worker_killed_mid_job_costs_its_block_only_and_the_answer_stays(trained_run, survey, whole_both, tmp_path):
    from distributed import Client, LocalCluster

    store = survey[1]
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as client:
        address, before = f"cluster.address={cluster.scheduler_address}", set(client.run(os.getpid).values())
        with killing_a_worker(client, tmp_path / "killed.mdio.partial") as killed:
            run_predict(trained_run, store, tmp_path / "killed", *BOTH, address, tmp_path=tmp_path / "h1")
        assert killed[0] in before and killed[0] not in set(client.run(os.getpid).values())  # the nanny restarted it
        again = zarr.open_group(str(tmp_path / "killed.mdio"), mode="r")
        for kind in ("probability", "mask", "uncertainty"):
            assert np.array_equal(whole_both[kind][:], again[kind][:])
        # a block that kills its worker as often as the scheduler allows (here once: out of memory, say)
        cluster.scheduler.allowed_failures = 0
        with killing_a_worker(client, tmp_path / "lost.mdio.partial") as killed, pytest.raises(UserError) as error:
            run_predict(trained_run, store, tmp_path / "lost", *BOTH, address, tmp_path=tmp_path / "h2")
        assert "killed its worker each time it ran" in str(error.value) and "\n" not in str(error.value)
        assert (tmp_path / "lost.mdio.partial").is_dir() and killed[0] is not None
        cluster.scheduler.allowed_failures = 3
        run_predict(trained_run, store, tmp_path / "lost", *BOTH, address, tmp_path=tmp_path / "h3")
    assert json.loads((tmp_path / "lost.json").read_text())["blocks_already_written"] >= 1  # kept, not redone
    again = zarr.open_group(str(tmp_path / "lost.mdio"), mode="r")
    for kind in ("probability", "mask", "uncertainty"):
        assert np.array_equal(whole_both[kind][:], again[kind][:])


def test_a_folder_that_is_not_an_mdio_volume_is_one_clear_line(survey, tmp_path):
    segy, store = survey
    empty = tmp_path / "empty.mdio"
    empty.mkdir()
    with pytest.raises(UserError, match="is not an MDIO store"):
        MdioVolume(empty)
    bare = tmp_path / "bare.mdio"
    zarr.open_group(str(bare), mode="w").create_array(
        "amplitude", shape=(2, 2, 2), dtype=np.float32, dimension_names=["inline", "crossline", "time"]
    )
    with pytest.raises(UserError, match="without trace_mask, headers: it is not an MDIO post-stack volume"):
        MdioVolume(bare)


@pytest.mark.slow
def test_a_cluster_for_a_segy_input_is_one_line_saying_to_ingest_it(survey, tmp_path):
    segy, store = survey
    model = tmp_path / "model.onnx"  # never loaded: the input and the cluster are refused first
    result = run_cli("predict.py", f"ckpt={model}", f"input={segy}", f"out={tmp_path / 'p'}", "cluster=local")
    assert result.returncode == 1 and "cluster= predicts MDIO stores" in last_line(result)
    assert "python ingest.py input=" in last_line(result)


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:9", "not-a-scheduler"])
def test_a_scheduler_that_cannot_be_reached_is_one_clear_line(tmp_path, address):
    cfg = compose_config("predict", "ckpt=x", "input=y", "out=z", f"cluster.address={address}", "cluster.timeout=2s")
    with pytest.raises(UserError, match=f"cluster.address={address}: cannot reach a Dask scheduler there") as error:
        with cluster_module.connected(cfg.cluster):
            pass
    assert "\n" not in str(error.value)


def test_dead_traces_are_not_predicted_and_stay_without_salt(trained_run, survey, threshold, tmp_path):
    import shutil

    store = shutil.copytree(survey[1], tmp_path / "sparse.mdio")
    live = zarr.open_array(str(store / "trace_mask"), mode="r+")
    dead = np.zeros(SHAPE[:2], bool)
    dead[2] = True  # a whole inline without traces
    dead[5, 3:9] = True
    live[:] = ~dead
    run_predict(trained_run, store, tmp_path / "pred", *TEMPERATURE, threshold, tmp_path=tmp_path / "h")
    got = zarr.open_group(str(tmp_path / "pred.mdio"), mode="r")
    assert np.array_equal(got["trace_mask"][:], ~dead)  # the input's, carried over
    for kind in ("probability", "mask", "uncertainty"):
        assert not got[kind][:][dead].any() and got[kind][:][~dead].any()
    assert json.loads((tmp_path / "pred.json").read_text())["non_finite_samples"] == dead.sum() * SHAPE[2]


def test_the_slurm_preset_writes_a_job_script_for_its_workers():
    from hydra.utils import instantiate

    cfg = compose_config("predict", "ckpt=x", "input=y", "out=z", "cluster=slurm", "cluster.spec.queue=gpu")
    with instantiate(cfg.cluster.spec) as cluster:  # nothing is submitted before cluster.scale
        script = cluster.job_script()
    assert "#SBATCH -p gpu" in script and "--nworkers 8" in script and "distributed.cli.dask_worker" in script


@pytest.mark.slow
def test_a_survey_trains_from_mdio_seismic_and_labels_as_from_segy_and_npy(tmp_path):
    from src.survey.datamodule import SurveyDataModule
    from src.survey.synthetic import FIRST_CROSSLINE, FIRST_INLINE

    folder = generate_survey(tmp_path / "survey", shape=(12, 110, 110), seed=3)
    labels = np.load(folder / "labels.npy").astype(np.float32)
    ilines, xlines = np.arange(FIRST_INLINE, FIRST_INLINE + 12), np.arange(FIRST_CROSSLINE, FIRST_CROSSLINE + 110)
    write_segy_volume(tmp_path / "labels.sgy", labels, ilines, xlines)
    stores = [
        segy_to_store(p, p.with_suffix(".mdio"), cpus=1) for p in (folder / "seismic.sgy", tmp_path / "labels.sgy")
    ]
    modules = []
    for seismic, label_volume in ((folder / "seismic.sgy", folder / "labels.npy"), stores):
        cfg = compose_config(
            "train", "data=survey", f"data.survey.seismic={seismic}", f"data.survey.labels={label_volume}",
            "data.survey.label_every=3", "data.survey.guard=0", run_dir=tmp_path / "hydra",
        )  # fmt: skip
        module = SurveyDataModule(survey=cfg.data.survey, fold=0, n_folds=2, seed=0)
        module.setup()
        modules.append(module)
    segy, mdio = modules
    assert len(segy.ids) > 0 and segy.ids == mdio.ids
    assert np.array_equal(segy.images, mdio.images) and np.array_equal(segy.masks, mdio.masks)


def test_bodies_and_suggest_read_a_predicted_store_as_the_npy_cubes(trained_run, survey, threshold, tmp_path):
    from src.interpretation.suggest import line_means
    from src.sections.line_cube import LineCube
    from src.sections.mdio_store import StoreCube
    from src.tasks.bodies import bodies

    segy, store = survey
    run_predict(trained_run, segy, tmp_path / "one", *TEMPERATURE, threshold, tmp_path=tmp_path / "h1")
    run_predict(trained_run, store, tmp_path / "store", *TEMPERATURE, threshold, tmp_path=tmp_path / "h2")
    tables = []
    for source, geometry in ((tmp_path / "one.mask.npy", [f"geometry={segy}"]), (tmp_path / "store.mdio", [])):
        out = tmp_path / source.name.replace(".", "_")
        cfg = compose_config(
            "bodies", f"input={source}", f"out={out}", "bodies.min_voxels=1", *geometry, run_dir=tmp_path / "h3"
        )
        run_task(bodies, cfg)
        tables.append(((out / "bodies.csv").read_text(), np.load(out / "bodies.npy")))
    assert tables[0][0] == tables[1][0] and tables[0][0].count("\n") > 1
    assert np.array_equal(tables[0][1], tables[1][1])
    expected, got = (
        LineCube.existing(tmp_path / "one.uncertainty.npy"),
        StoreCube(tmp_path / "store.mdio", "uncertainty"),
    )
    assert np.allclose(line_means(expected).map, line_means(got).map, atol=1e-6)
    expected.close(), got.close()


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["input=nothing.sgy", "out=x.mdio"], "input=nothing.sgy not found: pass a post-stack 3D SEG-Y file"),
        (["input=a.npy", "out=x.mdio"], "input=a.npy out=x.mdio: ingest turns a SEG-Y"),
        (["input=SEGY", "out=x.mdio", "chunks=[4,4]"], r"chunks=\[4, 4\]: give three whole numbers above 0"),
        (["input=SEGY", "out=x.mdio", "domain=offset"], "domain=offset is not one of time, depth"),
        (["input=nothing.mdio", "out=x.sgy"], "input=nothing.mdio not found: pass an MDIO store"),
    ],
)
def test_ingest_refuses_what_it_cannot_turn_in_one_line(survey, tmp_path, monkeypatch, overrides, message):
    from src.tasks.ingest import ingest

    monkeypatch.chdir(tmp_path)
    overrides = [o.replace("SEGY", str(survey[0])) for o in overrides]
    with pytest.raises(UserError, match=message) as error:
        run_task(ingest, compose_config("ingest", *overrides, run_dir=tmp_path / "h"))
    assert "\n" not in str(error.value) and not (tmp_path / "x.mdio").exists()
