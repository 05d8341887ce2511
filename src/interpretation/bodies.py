"""3D salt bodies of a mask cube (inline, crossline, samples), labelled a line at a time.

Each inline's salt is split into 4-connected patches (OpenCV), patches touching the same (crossline, sample) on
the previous inline are joined (union-find), so a body is a 6-connected set of voxels. Memory holds two inlines
and one record per patch, never the cube: the patch labels go to a scratch cube on disk (4 bytes a voxel), and a
second pass writes the final body labels (2 bytes a voxel, 4 past 65,535 bodies, on disk) with each kept body's
first and last salt sample per trace (its top- and base-of-salt surfaces; 2 float32 maps per body, for the largest
`most` bodies).
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from src.sections.line_cube import LineCube
from src.utils.progress import progress


def body_dtype(n_bodies: int) -> type:
    """Body labels on disk: 2 bytes a voxel up to 65,535 bodies, 4 beyond (a label must never wrap to another)."""
    return np.uint16 if n_bodies <= np.iinfo(np.uint16).max else np.uint32


@dataclass(frozen=True)
class Body:
    """A salt body: its label (1 = the largest), voxel count and the index ranges it spans (first, last)."""

    id: int
    voxels: int
    inlines: tuple[int, int]
    crosslines: tuple[int, int]
    samples: tuple[int, int]


@dataclass
class Bodies:
    """The kept bodies, largest first, and their surfaces: top[k] and base[k] (inline, crossline) are the first and
    last salt sample of body k + 1 at each trace (NaN where it is absent)."""

    bodies: list[Body]
    top: np.ndarray
    base: np.ndarray


def find_roots(parent: np.ndarray) -> np.ndarray:
    """Each node's root in a union-find forest given as a parent array (pointer jumping, vectorised)."""
    roots = parent.copy()
    while True:
        jumped = roots[roots]
        if np.array_equal(jumped, roots):
            return roots
        roots = jumped


def find(parent: list[int], node: int) -> int:
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


def label_patches(
    mask_line: Callable[[int], np.ndarray], shape: tuple, scratch: LineCube
) -> tuple[np.ndarray, np.ndarray]:
    """Pass 1: every inline's 4-connected salt patches, numbered through the cube and written to `scratch`; joined
    to the previous inline's where they touch. Returns (root of each patch id (index 0: background), per patch:
    [voxels, inline, first crossline, last crossline, first sample, last sample])."""
    parent, records, previous, count = [0], [], None, 0
    for k in progress(range(shape[0]), desc="bodies: patches", unit="line"):
        mask = np.ascontiguousarray(mask_line(k), dtype=np.uint8)
        n, patches, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4, ltype=cv2.CV_32S)
        ids = np.where(patches > 0, patches + count, 0).astype(np.int32)
        left, top, width, height, area = (stats[1:, i] for i in range(5))  # columns: samples, rows: crosslines
        records.append(np.stack([area, np.full(n - 1, k), top, top + height - 1, left, left + width - 1], 1))
        parent.extend(range(count + 1, count + n))
        if previous is not None:
            touching = (ids > 0) & (previous > 0)
            for a, b in np.unique(np.stack([ids[touching], previous[touching]], 1), axis=0):
                root_a, root_b = find(parent, int(a)), find(parent, int(b))
                if root_a != root_b:
                    parent[max(root_a, root_b)] = min(root_a, root_b)
        scratch.write("inline", k, ids)
        previous, count = ids, count + n - 1
    stats = np.concatenate(records) if records else np.zeros((0, 6), np.int64)
    return find_roots(np.asarray(parent)), stats.astype(np.int64)


def label_bodies(
    mask_line: Callable[[int], np.ndarray],
    shape: tuple,
    labels_path: Path,
    min_voxels: int = 1,
    most: int = 10,
    cleaned_path: Path | None = None,
) -> Bodies:
    """Label the salt bodies of a (inline, crossline, samples) mask read a line at a time by `mask_line(k)`
    (crossline, samples) bool; write the labels cube (uint16, uint32 past 65,535 bodies; 0 = no body; bodies
    below `min_voxels` dropped) to `labels_path` and, given `cleaned_path`, the mask of the kept bodies there
    (bool: the 3D clean-up), in the same pass; return the bodies with the surfaces of the largest `most`."""
    scratch_path = Path(labels_path).with_name(Path(labels_path).stem + ".patches.npy")
    scratch = LineCube(scratch_path, shape, np.int32)
    try:
        roots, stats = label_patches(mask_line, shape, scratch)
        bodies, final_of_root = merge_patches(roots, stats, min_voxels)
        dtype = body_dtype(len(bodies))
        lookup = final_of_root[roots].astype(dtype)  # patch id -> body label
        kept = min(len(bodies), most)
        top = np.full((kept, shape[0], shape[1]), np.nan, np.float32)
        base = np.full_like(top, np.nan)
        labels = LineCube(labels_path, shape, dtype)
        cleaned = LineCube(cleaned_path, shape, np.bool_) if cleaned_path is not None else None
        try:
            for k in progress(range(shape[0]), desc="bodies: labels and surfaces", unit="line"):
                line = lookup[scratch.read("inline", k)]
                labels.write("inline", k, line)
                if cleaned is not None:
                    cleaned.write("inline", k, line > 0)
                for body in np.unique(line[line > 0]):
                    if body > kept:
                        continue
                    inside = line == body
                    traces = inside.any(1)
                    top[body - 1, k, traces] = inside[traces].argmax(1)
                    base[body - 1, k, traces] = shape[2] - 1 - inside[traces][:, ::-1].argmax(1)
        finally:
            labels.close()
            if cleaned is not None:
                cleaned.close()
    finally:
        scratch.close()
        scratch_path.unlink(missing_ok=True)
    return Bodies(bodies, top, base)


def merge_patches(roots: np.ndarray, stats: np.ndarray, min_voxels: int) -> tuple[list[Body], np.ndarray]:
    """(bodies of at least `min_voxels`, largest first, labelled 1..; the body label of every root, 0: dropped)."""
    patch_roots = roots[1:]
    unique, body_of_patch = np.unique(patch_roots, return_inverse=True)
    voxels = np.bincount(body_of_patch, weights=stats[:, 0], minlength=len(unique)).astype(np.int64)
    spans = []
    for column, reduce in (
        (1, np.minimum),
        (1, np.maximum),
        (2, np.minimum),
        (3, np.maximum),
        (4, np.minimum),
        (5, np.maximum),
    ):
        out = np.full(len(unique), np.iinfo(np.int64).max if reduce is np.minimum else -1, np.int64)
        reduce.at(out, body_of_patch, stats[:, column])
        spans.append(out)
    order = [b for b in np.argsort(-voxels, kind="stable") if voxels[b] >= min_voxels]
    final_of_root = np.zeros(len(roots), np.int64)
    bodies = []
    for label, b in enumerate(order, start=1):
        final_of_root[unique[b]] = label
        bodies.append(
            Body(
                label,
                int(voxels[b]),
                (int(spans[0][b]), int(spans[1][b])),
                (int(spans[2][b]), int(spans[3][b])),
                (int(spans[4][b]), int(spans[5][b])),
            )
        )
    return bodies, final_of_root
