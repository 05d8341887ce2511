from conftest import compose_config


def compose_train(*overrides):
    return compose_config("train", *overrides)


def test_experiment_seed_composes_to_the_recipe():
    cfg = compose_train("experiment=seed")
    assert cfg.encoder.name == "se_resnext50_32x4d" and cfg.encoder.weights is None
    assert cfg.model._target_ == "src.models.seed_unet.SeedUnet" and cfg.model.encoder_name == "se_resnext50_32x4d"
    assert cfg.model.filters == 32 and cfg.loss.second.lovasz._target_ == "src.losses.terms.LovaszHingeELU"
    assert cfg.data.channels == ["image", "depth_255", "coord_255"] and len(set(cfg.data.exclude_ids)) == 80
    assert cfg.batch_size == 20 and cfg.optimizer._target_ == "torch.optim.Adam" and cfg.optimizer.lr == 1e-4
    s = cfg.scheduler.scheduler
    assert (s._target_, s.mode, s.base_lr, s.max_lr, s.step_size_up, s.cycle_momentum) == (
        "torch.optim.lr_scheduler.CyclicLR",
        "triangular2",
        1e-4,
        3e-4,
        1500,
        False,
    )
    assert cfg.scheduler.interval == "step"
    weights = {phase: {name: term.weight for name, term in cfg.loss[phase].items()} for phase in ("first", "second")}
    assert weights == {"first": {"bce": 1.0}, "second": {"bce": 0.1, "lovasz": 0.9}}
    assert cfg.loss.second.lovasz.per_image is False  # the published loss: over the whole batch (ELU)
    assert cfg.loss.second.bce._target_ == "src.losses.terms.BCEWithLogitsOfProbabilities"
    assert cfg.loss.switch_epoch == 80 and cfg.trainer.max_epochs == 500
    assert cfg.callbacks.early_stopping.monitor == "val/map" and cfg.ensemble.top_k == 10
    assert cfg.callbacks.snapshots.save_top_k == 10
    targets = [t._target_.split(".")[-1] for t in cfg.aug.transforms]
    assert "VerticalFlip" not in targets and "HorizontalFlip" in targets
    assert cfg.data.n_folds == 5  # the channels: as the team built them (above)


def test_default_is_the_seed_recipe():
    default, seed = compose_train(), compose_train("experiment=seed")
    for key in ("encoder", "model", "loss", "optimizer", "scheduler", "batch_size", "aug"):
        assert default[key] == seed[key], key


def test_ddp_on_cpu_is_the_gpu_ddp_path_on_other_hardware():
    from omegaconf import OmegaConf

    gpu, cpu = (OmegaConf.to_container(compose_train(f"trainer={t}").trainer) for t in ("ddp", "ddp_cpu"))
    assert gpu["strategy"] == cpu["strategy"] == "ddp" and (gpu["accelerator"], cpu["accelerator"]) == ("gpu", "cpu")
    assert cpu["devices"] == 2 and not cpu["sync_batchnorm"]  # SyncBatchNorm needs GPUs
    differing = {k for k in set(gpu) | set(cpu) if gpu.get(k) != cpu.get(k)}
    assert differing == {"accelerator", "devices", "sync_batchnorm", "precision", "benchmark"}


def test_the_documented_scale_out_commands_compose():
    import shlex

    from src.utils.config import PROJECT_ROOT

    commands = [
        line
        for line in (PROJECT_ROOT / "docs" / "how-to" / "scale-out.md").read_text().splitlines()
        if line.startswith("python train.py") and "hydra/launcher=" in line
    ]
    launchers = set()
    for command in commands:
        args = [a for a in shlex.split(command.split("#")[0])[2:] if a != "-m"]
        cfg = compose_train(*[a for a in args if not a.startswith("fold=")])
        launcher = cfg.hydra.launcher
        launchers.add(launcher._target_.rsplit(".", 1)[-1])
        if "submitit_slurm" in command:
            assert launcher.partition and launcher.gpus_per_node and launcher.tasks_per_node and launcher.timeout_min
    assert launchers == {"JoblibLauncher", "SlurmLauncher"}


def test_cpu_fast_is_the_budget_aware_preset():
    cfg = compose_train("experiment=cpu_fast")
    assert cfg.encoder.name == "resnet34" and cfg.model.stem == "standard" and cfg.model.filters == 16
    assert cfg.model._target_ == "src.models.hyper_unet.HyperUnet"  # the project's own network, unchanged
    assert cfg.scheduler.scheduler.floor == 0.01 and cfg.loss.switch_at == 0.6 and cfg.batch_size == 20
    assert cfg.trainer.max_time == "00:00:30:00" and cfg.ensemble.stretch == 0.3


def test_a_wall_clock_budget_reaches_the_trainer():
    from hydra.utils import instantiate
    from pytorch_lightning.callbacks import Timer

    cfg = compose_train("trainer.max_time=00:00:30:00", "trainer.default_root_dir=.")
    timers = [c for c in instantiate(cfg.trainer).callbacks if isinstance(c, Timer)]
    assert len(timers) == 1 and timers[0].time_remaining() == 30 * 60
    unlimited = instantiate(compose_train("trainer.default_root_dir=.").trainer)
    assert not any(isinstance(c, Timer) for c in unlimited.callbacks)
