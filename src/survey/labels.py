"""Salt labels of a survey, read a line at a time: a label volume on the seismic grid (.npy or SEG-Y), or a folder
of labelled lines (`inline_<number>.npy|png` or `crossline_<number>...`, each (samples, traces)). With a label
volume, `every` keeps every n-th line along `axis` as labelled and the rest as unlabelled, as a sparse
interpretation; without it, a line is labelled when it holds at least one interpreted sample.

Values, as interpretation software writes them: `ignore_value` (any number) and NaN mark samples nobody interpreted;
of the rest, `salt_values` are salt and everything else is not. Without `salt_values` the labels must be two
classes at most, 0 and one other (salt: 1, 255 or a class id); more than that is refused rather than guessed,
since class ids (salt 3, sediment 7) would otherwise all read as salt. Inside the project every line comes out as
uint8 0 (no salt), 1 (salt) or UNLABELLED.
"""

import re
from pathlib import Path

import cv2
import numpy as np

from src.sections.mdio_store import MdioVolume, is_mdio
from src.sections.readers import AXES, Volume, open_volume
from src.utils.errors import UserError

LINE_FILE = re.compile(r"(inline|crossline)_(-?\d+)$")
UNLABELLED = 255  # the uint8 label of samples nobody interpreted, whatever value the user's files give them


class SurveyLabels:
    def __init__(self, path, volume, axis="inline", every=None, ignore_value=255, salt_values=None) -> None:
        self.path, self.volume, self.axis, self.ignore_value = Path(path).expanduser(), volume, axis, ignore_value
        self.salt_values = None if salt_values is None else [float(v) for v in salt_values]
        self._classes = set()  # the interpreted values seen so far (without salt_values: two at most)
        if axis not in AXES:
            raise UserError(f"data.survey.label_axis={axis} is not one of inline, crossline")
        if not self.path.exists():
            raise UserError(
                f"label file or folder {self.path} not found: pass a label volume (.npy, SEG-Y, MDIO) or a "
                "folder of inline_<n>.npy / .png files"
            )
        self.files = self._line_files() if self.path.is_dir() and not is_mdio(self.path) else None
        self._file_labels = {}  # labelled line -> its normalised labels, each file read once
        self.cube = None if self.files is not None else self._label_volume()
        count = volume.shape[0] if axis == "inline" else volume.shape[1]
        if self.files is not None:
            self.labelled = sorted(self.files)
        else:
            self.labelled = list(range(0, count, every)) if every else self._interpreted_lines()

    def _label_volume(self) -> np.ndarray | Volume | MdioVolume:
        cube = (
            load_npy(self.path, mmap_mode="r")
            if self.path.suffix.lower() == ".npy"
            else open_volume(self.path, option="data.survey.labels")
        )
        shape = cube.shape
        if tuple(shape) != tuple(self.volume.shape):
            raise UserError(
                f"labels {self.path} are {tuple(shape)} but the seismic {self.volume.path} is "
                f"{tuple(self.volume.shape)} (inline, crossline, samples): they must share one grid"
            )
        if not isinstance(cube, np.ndarray) and self.volume.kind in ("segy", "mdio"):
            for axis, mine, theirs in (
                ("inline", cube.ilines, self.volume.ilines),
                ("crossline", cube.xlines, self.volume.xlines),
            ):
                if not np.array_equal(mine, theirs):
                    raise UserError(
                        f"labels {self.path} hold {axis}s {mine[0]}..{mine[-1]} but the seismic "
                        f"{self.volume.path} holds {theirs[0]}..{theirs[-1]}: same shape, another part of "
                        "the survey; export the labels on the seismic's lines"
                    )
        return cube

    def _cube_line(self, axis, k) -> np.ndarray:
        cube = self.cube
        return np.asarray(
            (cube[k] if axis == "inline" else cube[:, k]) if isinstance(cube, np.ndarray) else cube.line(axis, k)
        )

    def _interpreted_lines(self) -> list[int]:
        """The lines along `axis` of the label volume holding at least one interpreted sample, in one pass over
        it inline by inline (lines left all NaN or `ignore_value` are not labelled ones)."""
        n_inlines = self.volume.shape[0]
        interpreted = np.zeros(n_inlines if self.axis == "inline" else self.volume.shape[1], bool)
        for i in range(n_inlines):
            known = self._normalise(self._cube_line("inline", i)) != UNLABELLED  # (crosslines, samples)
            if self.axis == "inline":
                interpreted[i] = known.any()
            else:
                interpreted |= known.any(1)
        if not interpreted.any():
            raise UserError(
                f"labels {self.path} hold no interpreted sample (all NaN or data.survey.ignore_value="
                f"{self.ignore_value}): check the uninterpreted value, or label a line"
            )
        return np.flatnonzero(interpreted).tolist()

    def _line_files(self) -> dict[int, Path] | None:
        numbers = self.volume.ilines if self.axis == "inline" else self.volume.xlines
        index_of = {int(n): k for k, n in enumerate(numbers)}
        files = {}
        for path in sorted(self.path.iterdir()):
            match = LINE_FILE.match(path.stem)
            if not match or path.suffix.lower() not in (".npy", ".png") or match[1] != self.axis:
                continue
            if int(match[2]) not in index_of:
                raise UserError(
                    f"label file {path} names {self.axis} {match[2]}, which {self.volume.path} does not "
                    f"have ({numbers[0]}..{numbers[-1]}): rename it to an existing line number"
                )
            files[index_of[int(match[2])]] = path
        if not files:
            raise UserError(f"no {self.axis}_<number>.npy or .png label files in {self.path}")
        return files

    def _read_file(self, k) -> np.ndarray:
        path = self.files[k]
        image = load_npy(path) if path.suffix.lower() == ".npy" else cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        expected = (self.volume.shape[2], self.volume.shape[1 if self.axis == "inline" else 0])
        if image is None or image.shape != expected:
            raise UserError(
                f"label file {path} is {None if image is None else image.shape}, but {self.axis} "
                f"sections of {self.volume.path} are {expected} (samples, traces): fix its size"
            )
        return np.asarray(image).T  # (traces, samples), as Volume.line

    def line(self, axis, k) -> np.ndarray:
        """Labels (traces, samples) uint8 of the k-th inline or crossline; `UNLABELLED` where nobody interpreted."""
        if self.files is None:
            labels = self._normalise(self._cube_line(axis, k))
            if len(self.labelled) < (self.volume.shape[0] if self.axis == "inline" else self.volume.shape[1]):
                labels = self._keep_labelled(labels, axis, k)
            return labels
        traces = self.volume.shape[1] if axis == "inline" else self.volume.shape[0]
        if axis == self.axis:
            return (
                self._file_line(k) if k in self.files else np.full((traces, self.volume.shape[2]), UNLABELLED, np.uint8)
            )
        labels = np.full((traces, self.volume.shape[2]), UNLABELLED, np.uint8)
        for j in self.files:  # the orthogonal section crosses each labelled line in one trace
            labels[j] = self._file_line(j)[k]
        return labels

    def _file_line(self, k) -> np.ndarray:
        """The labelled line k's labels, read from its file once: every orthogonal section needs a trace of each
        (holding them costs what the labelled lines' training windows cost anyway)."""
        if k not in self._file_labels:
            self._file_labels[k] = self._normalise(self._read_file(k))
        return self._file_labels[k]

    def _keep_labelled(self, labels, axis, k) -> np.ndarray:
        """Blank out what lies off the labelled lines (a sparse interpretation of a dense label volume)."""
        if axis == self.axis:
            return labels if k in self.labelled else np.full_like(labels, UNLABELLED)
        kept = np.full_like(labels, UNLABELLED)
        kept[self.labelled] = labels[self.labelled]
        return kept

    def _normalise(self, labels) -> np.ndarray:
        """0 / 1 / UNLABELLED (uint8) of a line as the user's file codes it (module docstring)."""
        values = np.asarray(labels, dtype=np.float64)
        unlabelled = ~np.isfinite(values)
        if self.ignore_value is not None:
            unlabelled |= values == float(self.ignore_value)
        if self.salt_values is not None:
            salt = np.isin(values, self.salt_values)
        else:
            self._classes |= set(np.unique(values[~unlabelled]).tolist())
            if len(self._classes) > 2 or (len(self._classes) == 2 and 0.0 not in self._classes):
                shown = ", ".join(f"{v:g}" for v in sorted(self._classes)[:8])
                raise UserError(
                    f"labels {self.path} hold the values {shown} besides the uninterpreted "
                    f"{self.ignore_value}: say which are salt with data.survey.salt_values=[...] (the "
                    "rest is no salt), or give the uninterpreted value as data.survey.ignore_value"
                )
            salt = values > 0
        return np.where(unlabelled, UNLABELLED, salt).astype(np.uint8)


def load_npy(path, mmap_mode=None) -> np.ndarray:
    """A .npy of numbers (never a pickle), or one clear error naming the file."""
    try:
        array = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise UserError(f"cannot read labels {path} ({error}): save them with numpy.save as numbers") from None
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise UserError(
            f"labels {path} hold {array.dtype} values: save them as numbers (0 no salt, salt, and an "
            "uninterpreted value)"
        )
    return array
