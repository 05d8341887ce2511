"""Training tiles from your own survey: 101 x 101 windows of its labelled lines, served like the TGS tiles.

Windows are cut on a grid (`window_stride`) from the labelled sections along `axis` (inline, crossline or
both), kept when at least `min_labelled` of their samples are interpreted; a window's depth follows predict.py's
rule (depth_origin + top row x depth_step), so the depth channel means the same in training and prediction.
Validation is a block of lines (src/survey/split.py). Amplitudes become grey levels by one rule, fitted on
training lines only (robust percentiles, or matched to the grey levels of the network a run starts from) and
stored in the checkpoint for predict.py. Only the labelled sections are read, one at a time.
"""

import logging

import numpy as np

from src.data.datamodule import TileDataModule, TileSet
from src.data.preprocess import Preprocess
from src.data.tiles import TILE, pad_to_tile
from src.sections.mdio_store import MdioVolume
from src.sections.readers import AXES, Volume, open_seismic
from src.sections.scaling import AmplitudeScaling, interpretable
from src.sections.tiling import window_starts
from src.survey.labels import UNLABELLED, SurveyLabels
from src.survey.settings import SurveySettings
from src.survey.split import GAP, TRAIN, VALIDATION, Window, line_blocks, load_line_folds, save_line_folds, window_role
from src.survey.synthetic import ensure_survey
from src.utils.errors import UserError
from src.utils.plots import save_split_map

log = logging.getLogger(__name__)


def salty_lines(labels) -> set[int]:
    """The labelled lines (along the labels' axis) that hold salt, for folds that each validate on some."""
    return {k for k in labels.labelled if (labels.line(labels.axis, k) == 1).any()}


def training_traces(volume, label_axis, windows, roles, amplitudes, most=32) -> np.ndarray:
    """Amplitudes of the training lines (up to `most`, evenly spread), whose statistics fix the scaling: training
    traces only, never a validation line's. Without training windows along label_axis, the training windows'."""
    lines = sorted({w.line for w, role in zip(windows, roles) if role == TRAIN and w.axis == label_axis})
    if not lines:
        return amplitudes[roles == TRAIN]
    picked = [lines[i] for i in np.unique(np.linspace(0, len(lines) - 1, min(most, len(lines))).astype(int))]
    return np.stack([volume.line(label_axis, k) for k in picked])


class SurveyDataModule(TileDataModule):
    """Tiles cut from windows of a survey's labelled lines (`windows`: where each was cut), split by blocks of lines.

    survey: the data.survey config (src/survey/settings.py, conf/data/survey.yaml);
    reference: the Preprocess of the network a run starts from (fine-tuning), whose grey levels the survey's
    amplitudes are mapped onto and whose preprocessing is kept."""

    ignore_value = UNLABELLED  # the labels' own uninterpreted value is mapped onto it as they are read

    def __init__(self, *, survey: dict, **settings) -> None:
        super().__init__(**settings)
        self.survey = SurveySettings.from_config(survey)  # every setting checked here, before anything is read

    def prepare_data(self) -> None:
        """Generate the synthetic survey when the config names one that is not there yet."""
        ensure_survey(self.survey.seismic, self.survey.synthetic)

    def load_tiles(self) -> TileSet:
        s = self.survey
        volume = open_seismic(s.seismic, s.iline_byte, s.xline_byte, option="data.survey")
        if not isinstance(volume, Volume | MdioVolume):
            raise UserError(
                f"data.survey.seismic={s.seismic} is a 2D line, not a 3D volume: a survey run needs a "
                "structured SEG-Y (its inline and crossline numbers in trace header bytes "
                f"{s.iline_byte} and {s.xline_byte}: data.survey.iline_byte, data.survey.xline_byte) "
                "or a 3D .npy (inline, crossline, samples)"
            )
        self.n_samples = volume.shape[2]
        with volume:
            interpretable(volume.sample_traces(), f"seismic {s.seismic}")  # no amplitudes: refused at once
            labels = SurveyLabels(s.labels, volume, s.label_axis, s.label_every, s.ignore_value, s.salt_values)
            numbers = volume.ilines if s.label_axis == "inline" else volume.xlines
            blocks = (
                load_line_folds(self.split_file, numbers, labels.labelled, self.n_folds)
                if self.split_file
                else line_blocks(labels.labelled, self.n_folds, salty_lines(labels))
            )
            validation = [k for k, f in blocks.items() if f == self.fold]
            block = (min(validation), max(validation))
            windows, amplitudes, masks, roles = self._cut(volume, labels, block)
            train = self._balance(np.flatnonzero(roles == TRAIN), masks)
            val = np.flatnonzero(roles == VALIDATION)
            if not len(train) or not len(val):  # before the scaling, which needs training traces
                raise UserError(
                    f"fold {self.fold} leaves {len(train)} training and {len(val)} validation windows "
                    f"(data.survey.guard={s.guard} lines kept clear of the validation block): label more lines, "
                    "lower data.survey.guard or data.n_folds"
                )
            scaling = self._scaling(training_traces(volume, labels.axis, windows, roles, amplitudes))
        keep = np.concatenate([train, val])
        self.windows = [windows[i] for i in keep]
        images = np.stack([scaling.apply(a) for a in amplitudes[keep]])
        train_idx, val_idx = np.arange(len(train)), np.arange(len(train), len(keep))
        tiles = TileSet(
            ids=[
                f"{w.axis}{int((volume.ilines if w.axis == 'inline' else volume.xlines)[w.line])}-t{w.top}-x{w.left}"
                for w in self.windows
            ],
            images=images,
            masks=masks[keep],
            depths=np.array([s.depth_origin + w.top * s.depth_step for w in self.windows], np.float32),
            train_idx=train_idx,
            val_idx=val_idx,
            preprocess=self._preprocess(scaling, images[train_idx]),
        )
        if self.run is not None:
            save_line_folds(blocks, numbers, self.run.folds)
            save_split_map(self.run.split_picture, volume.shape, s.label_axis, blocks, self.fold, s.guard)
        salt = (tiles.masks == 1).any(axis=(1, 2))
        log.info(
            "survey %s, fold %d: %d training windows (%.0f%% with salt) and %d validation windows (%.0f%% with "
            "salt), %d dropped near the validation block; amplitudes: %s",
            s.seismic,
            self.fold,
            len(train),
            100 * salt[train_idx].mean(),
            len(val),
            100 * salt[val_idx].mean(),
            int((roles == GAP).sum()),
            scaling.rule,
        )
        if not salt[val_idx].any():
            log.warning(
                "fold %d's validation windows hold no salt: its val/map, out-of-fold score and anything tune.py "
                "would fit on them mean nothing; label salt in that block or choose another fold",
                self.fold,
            )
        return tiles

    def _cut(self, volume, labels, block) -> tuple[list[Window], np.ndarray, np.ndarray, np.ndarray]:
        """Windows of the labelled sections along data.survey.axis with their amplitudes (float32), labels and
        role for this fold."""
        s = self.survey
        axes = AXES if s.axis == "both" else (s.axis,)
        windows, amplitudes, masks = [], [], []
        dead = 0  # NaN or infinite samples on the labelled sections: left out of the loss, counted
        for axis in axes:
            count = volume.shape[0] if axis == "inline" else volume.shape[1]
            lines = labels.labelled if axis == labels.axis else range(count)
            for k in lines:
                label_section = pad_to_tile(labels.line(axis, k).T, fill=self.ignore_value)
                if not (label_section != self.ignore_value).any():
                    continue
                section = pad_to_tile(volume.line(axis, k).T)
                missing = ~np.isfinite(section)
                label_section[missing] = self.ignore_value  # no amplitude: not trained on
                dead += int(missing.sum())
                for top in window_starts(section.shape[0], TILE, TILE - s.window_stride):
                    for left in window_starts(section.shape[1], TILE, TILE - s.window_stride):
                        tile = label_section[top : top + TILE, left : left + TILE]
                        if (tile != self.ignore_value).mean() >= s.min_labelled:
                            windows.append(Window(axis, k, top, left))
                            amplitudes.append(section[top : top + TILE, left : left + TILE])
                            masks.append(tile)
        if not windows:
            raise UserError(
                f"no window of {s.seismic} has {s.min_labelled:.0%} of its samples labelled in "
                f"{s.labels}: check the labels, or lower data.survey.min_labelled"
            )
        if dead:
            log.warning(
                "%d samples of %s's labelled sections are NaN or infinite: left out of training as if uninterpreted",
                dead,
                s.seismic,
            )
        roles = np.array([window_role(w, block, labels.axis, s.guard) for w in windows])
        return windows, np.stack(amplitudes).astype(np.float32), np.stack(masks), roles

    def _balance(self, train, masks) -> np.ndarray:
        """Drop empty training windows at random (seeded) until salt windows are data.survey.salt_share of them."""
        salty = (masks[train] == 1).any(axis=(1, 2))
        share = self.survey.salt_share
        if not salty.any() or salty.mean() >= share:
            return train
        keep_empty = int(round(salty.sum() * (1 - share) / share))
        empty = np.random.default_rng(self.seed).permutation(train[~salty])[:keep_empty]
        return np.sort(np.concatenate([train[salty], empty]))

    def _scaling(self, training_amplitudes) -> AmplitudeScaling:
        if self.reference is not None:
            return AmplitudeScaling.matched(
                training_amplitudes, self.reference.mean, self.reference.std, source=f"seismic {self.survey.seismic}"
            )
        return AmplitudeScaling.percentile(
            training_amplitudes, *self.survey.clip_percentiles, source=f"seismic {self.survey.seismic}"
        )

    def _preprocess(self, scaling, training_images) -> Preprocess:
        s = self.survey
        depth_rule = (float(s.depth_origin), float(s.depth_step))
        if self.reference is not None:  # the network's own preprocessing, with this survey's amplitude and depths
            return Preprocess(**{**self.reference.__dict__, "amplitude": scaling.pair, "depth_rule": depth_rule})
        deepest = s.depth_origin + (self.n_samples - 1) * s.depth_step  # any window's depth lies in here
        return Preprocess.fit(
            training_images,
            [s.depth_origin, deepest],
            self.channels,
            self.input_size,
            amplitude=scaling.pair,
            depth_rule=depth_rule,
        )
