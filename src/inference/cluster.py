"""The blocks of an MDIO prediction (src/inference/line_blocks.py) on a Dask cluster: a LocalCluster, a running
scheduler (cluster.address) or SLURM jobs through dask-jobqueue (conf/cluster/). Dask distributed schedules,
retries and reruns the blocks of a dead worker; each worker builds its ONNX Runtime session once (a
WorkerPlugin), with its thread count set here: the nanny's OMP_NUM_THREADS=1 does not bind ONNX Runtime."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from src.inference.backends import OnnxBackend
from src.inference.line_blocks import run_block
from src.inference.section_predictor import SectionPredictor
from src.utils.errors import UserError
from src.utils.progress import progress

log = logging.getLogger(__name__)
PLUGIN = "salt-predictor"


@dataclass(frozen=True)
class PredictorRecipe:
    """What a worker needs to build the SectionPredictor the task built: the ONNX graph (on storage the workers
    share), TTA, ONNX Runtime's thread count and the SectionPredictor's other settings."""

    graph: str
    tta: bool
    threads: int
    temperatures: tuple
    with_uncertainty: bool
    depth_of_row: object
    overlap: int
    taper: str
    batch_size: int

    @classmethod
    def of(cls, predictor: SectionPredictor, threads: int) -> PredictorRecipe:
        backend = predictor.backend
        if not isinstance(backend, OnnxBackend):
            raise UserError("cluster= predicts with ONNX Runtime on the workers: use backend=onnx or auto")
        return cls(
            str(backend.path),
            backend.tta,
            threads,
            predictor.temperatures,
            predictor.with_uncertainty,
            predictor.depth_of_row,
            predictor.overlap,
            predictor.taper,
            predictor.batch_size,
        )

    def build(self) -> SectionPredictor:
        return SectionPredictor(
            OnnxBackend(self.graph, tta=self.tta, threads=self.threads),
            self.temperatures,
            self.with_uncertainty,
            self.depth_of_row,
            self.overlap,
            self.taper,
            self.batch_size,
        )


def predictor_plugin(recipe: PredictorRecipe, store: str) -> object:
    """A WorkerPlugin that opens the input store and builds the predictor once per worker (again on a worker
    that was restarted)."""
    from distributed import WorkerPlugin

    from src.sections.mdio_store import MdioVolume

    class PredictorPlugin(WorkerPlugin):
        name = PLUGIN

        def setup(self, worker) -> None:
            self.volume = MdioVolume(store)
            self.predictor = recipe.build()

        def teardown(self, worker) -> None:
            self.volume.close()

    return PredictorPlugin()


def block_on_worker(job, block) -> int:
    from distributed import get_worker

    plugin = get_worker().plugins[PLUGIN]
    return run_block(plugin.volume, plugin.predictor, job, block)


class DaskRunner:
    """Runs the blocks of a stage on a Dask client's workers; one clear line for a block that kept killing its
    worker (out of memory, most often)."""

    def __init__(self, client, recipe: PredictorRecipe, store) -> None:
        self.client = client
        client.register_plugin(predictor_plugin(recipe, str(store)), name=PLUGIN)

    def run(self, job, blocks, desc) -> list[int]:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        futures = self.client.map(block_on_worker, [job] * len(blocks), blocks, pure=False)
        counts = []
        try:
            for future in progress(as_completed(futures), total=len(futures), desc=desc, unit="block"):
                counts.append(future.result())
        except KilledWorker as error:
            raise UserError(
                f"a block of the {desc} stage killed its worker each time it ran ({error}): most often memory; give "
                "the workers more (cluster.spec.memory_limit, or memory= for SLURM) or ingest with smaller chunks "
                "(ingest.py chunks=...); blocks already written are kept: run the same command again"
            ) from None
        return counts


class InProcessRunner:
    """Runs the blocks of a stage one after another in this process, with the task's own predictor."""

    def __init__(self, volume, predictor) -> None:
        self.volume, self.predictor = volume, predictor

    def run(self, job, blocks, desc) -> list[int]:
        return [
            run_block(self.volume, self.predictor, job, block) for block in progress(blocks, desc=desc, unit="block")
        ]


def wanted(cluster_cfg) -> bool:
    """Whether predict's `cluster` config asks for one (cluster=local|slurm, or cluster.address=...)."""
    return bool(cluster_cfg and (cluster_cfg.get("address") or cluster_cfg.get("spec")))


@contextmanager
def connected(cluster_cfg) -> Iterator[tuple[object, str]]:
    """(client, what it is) for predict's `cluster` config: a running scheduler at cluster.address, or the
    cluster cluster.spec instantiates (scaled to cluster.jobs jobs for dask-jobqueue), closed afterwards; one
    clear line when it cannot be reached."""
    from distributed import Client
    from hydra.utils import instantiate

    address = cluster_cfg.get("address")
    timeout = cluster_cfg.get("timeout", "10s")
    with ExitStack() as stack:
        if address:
            try:
                client = stack.enter_context(Client(str(address), timeout=timeout))
            except (OSError, TimeoutError, ValueError, TypeError) as error:
                raise UserError(
                    f"cluster.address={address}: cannot reach a Dask scheduler there ({type(error).__name__}: "
                    f"{error}); start one (dask scheduler, then dask worker ADDRESS) or give its address as "
                    "tcp://host:8786"
                ) from None
            yield client, f"the Dask scheduler at {address}"
            return
        cluster = stack.enter_context(instantiate(cluster_cfg.spec))
        if cluster_cfg.get("jobs"):
            cluster.scale(jobs=int(cluster_cfg.jobs))
        client = stack.enter_context(Client(cluster, timeout=timeout))
        yield client, f"a {type(cluster).__name__}"
