"""Pictures for people: tile grids (image / truth / prediction), training curves and the tuning curve, saved
as PNG. Matplotlib's object API (Figure, no pyplot): no GUI backend, no global figure state."""

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from src.utils.atomic import atomic_path


def save_figure(fig, path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80, bbox_inches="tight")


def save_tile_grid(path, columns, titles, row_labels=None) -> None:
    """One row per tile, one column per array in `columns` (each (N, H, W)), titled `titles`. Images are
    shown in their own grey range; masks and probabilities (values within [0, 1]) on a fixed 0..1 scale."""
    n = len(columns[0])
    fig = Figure(figsize=(1.6 * len(columns), 1.6 * n))
    axes = fig.subplots(n, len(columns), squeeze=False)
    for r in range(n):
        for c, (array, title) in enumerate(zip(columns, titles)):
            ax = axes[r, c]
            unit = array.dtype == bool or (array.min() >= 0 and array.max() <= 1)
            ax.imshow(array[r], cmap="gray", vmin=0 if unit else None, vmax=1 if unit else None)
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8)
            if c == 0 and row_labels is not None:
                ax.set_ylabel(row_labels[r], fontsize=7)
    save_figure(fig, path)


def curve_panels(frame) -> list[tuple[str, list[str]]]:
    """(title, x column, metric columns) per panel of the training curves, for the columns `frame` (a
    metrics.csv) holds: loss and val/map per epoch, the learning rate of whichever optimiser per step."""
    panels = [
        ("loss", "epoch", ["train/loss_epoch", "val/loss"]),
        ("val/map", "epoch", ["val/map"]),
        ("lr", "step", [c for c in frame if c.startswith("lr-")]),
    ]
    panels = [(title, x, [c for c in cols if c in frame]) for title, x, cols in panels]
    return [panel for panel in panels if panel[2]]


def loss_switch(frame) -> int | None:
    """Where the loss switched to its second phase on the curves' epoch axis (a point at x = e stands for the end
    of epoch e), from train/loss_phase, the share of an epoch's steps in the second phase; None if it never did."""
    if "train/loss_phase" not in frame:
        return None
    phases = frame[["epoch", "train/loss_phase"]].dropna()
    switched = phases[phases["train/loss_phase"] > 0]
    if switched.empty:
        return None
    epoch, share = switched.iloc[0]
    return float(epoch - share)


def save_curves(metrics_csv, path) -> None:
    """The training curves from Lightning's CSVLogger metrics.csv, one panel each (curve_panels)."""
    frame = pd.read_csv(metrics_csv)
    panels, switch = curve_panels(frame), loss_switch(frame)
    fig = Figure(figsize=(4.5 * len(panels), 3.2))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (title, x, cols) in zip(axes[0], panels):
        for col in cols:
            rows = frame[[x, col]].dropna()
            ax.plot(rows[x], rows[col], marker="." if len(rows) < 30 else None, label=col)
        if title == "loss" and switch is not None:
            ax.axvline(switch, color="grey", linestyle="--", linewidth=1, label="loss switch")
        ax.set_title(title), ax.set_xlabel(x), ax.legend(fontsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    save_figure(fig, path)


def save_threshold_plot(table, path) -> None:
    """OOF mAP against the threshold from tune.py's grid: with the best minimum sizes, and with none."""
    fig = Figure(figsize=(5, 3.2))
    ax = fig.subplots()
    best = table.groupby("threshold")["map"].max()
    plain = table[(table.min_component == 0) & (table.min_mask == 0)].set_index("threshold")["map"].sort_index()
    ax.plot(best.index, best.values, marker=".", label="best min sizes")
    ax.plot(plain.index, plain.values, marker=".", label="no post-processing")
    ax.set_xlabel("threshold"), ax.set_ylabel("OOF mAP"), ax.legend(fontsize=7)
    save_figure(fig, path)


def save_reliability_plot(path, curves, title) -> None:
    """Reliability diagram: share of salt against mean probability per bin, one curve per
    {label: (confidence, frequency, counts)} (src/metrics/calibration.py), the diagonal being perfect calibration,
    with the pixel count per bin below."""
    fig = Figure(figsize=(4.5, 5.2))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    for label, (confidence, frequency, counts) in curves.items():
        seen = counts > 0
        top.plot(confidence[seen], frequency[seen], marker=".", label=label)
        bottom.semilogy(confidence[seen], counts[seen], marker=".")
    top.set_ylabel("share of salt"), top.legend(fontsize=7), top.set_title(title, fontsize=9)
    bottom.set_xlabel("predicted probability (bin mean)"), bottom.set_ylabel("pixels")
    save_figure(fig, path)


def save_line_preview(path, grey, probs, uncertainty, title) -> None:
    """One line of a predicted volume (samples down, traces across): the seismic with the salt outline at
    probability 0.5, the probability, and the uncertainty when there is one."""
    panels = 2 if uncertainty is None else 3
    fig = Figure(figsize=(4.2 * panels, 3.8))
    axes = fig.subplots(1, panels, sharey=True)
    axes[0].imshow(grey, cmap="gray", aspect="auto")
    if probs.min() < 0.5 < probs.max():
        axes[0].contour(probs, levels=[0.5], colors="red", linewidths=0.8)
    axes[0].set_title(f"{title}: seismic, salt outline (p = 0.5)", fontsize=9)
    shown = axes[1].imshow(probs, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    fig.colorbar(shown, ax=axes[1], fraction=0.046)
    axes[1].set_title("probability of salt", fontsize=9)
    if uncertainty is not None:
        shown = axes[2].imshow(uncertainty, cmap="magma", vmin=0, aspect="auto")
        fig.colorbar(shown, ax=axes[2], fraction=0.046)
        axes[2].set_title("uncertainty (mutual information, bits)", fontsize=9)
    axes[0].set_ylabel("sample")
    for ax in axes:
        ax.set_xlabel("trace")
    save_figure(fig, path)


def save_suggestion_map(path, uncertainty_map, labelled, suggested) -> None:
    """Map view (inline x crossline) of the mean uncertainty over depth, with the labelled lines (white) and the
    suggested ones (red, numbered by rank); labelled and suggested: {axis: [index]}."""
    inlines, crosslines = uncertainty_map.shape
    fig = Figure(figsize=(6, 6 * inlines / max(crosslines, 1) + 1.0))
    ax = fig.subplots()
    shown = ax.imshow(uncertainty_map, cmap="magma", interpolation="nearest", aspect="auto")
    fig.colorbar(shown, ax=ax, label="mean uncertainty over depth (bits)")
    for axis, draw in (("inline", ax.axhline), ("crossline", ax.axvline)):
        for k in labelled.get(axis, []):
            draw(k, color="white", linewidth=1)
        for rank, k in enumerate(suggested.get(axis, []), 1):
            draw(k, color="red", linewidth=1.2, linestyle="--")
            at = (crosslines - 1, k) if axis == "inline" else (k, 0)
            ax.annotate(str(rank), at, color="red", fontsize=8, ha="right", va="bottom")
    ax.set_xlabel("crossline (index)"), ax.set_ylabel("inline (index)")
    ax.set_title("labelled (white) and suggested (red, by rank) lines", fontsize=9)
    save_figure(fig, path)


def save_split_map(path, shape, axis, blocks, fold, guard) -> None:
    """Map view (inline x crossline) of a survey split: training, dropped (within `guard` lines of the
    validation block) and validation lines along `axis`, unlabelled lines blank."""
    roles = np.zeros(shape[0] if axis == "inline" else shape[1])  # 0 unlabelled, 1 train, 2 dropped, 3 validation
    validation = [k for k, f in blocks.items() if f == fold]
    first, last = min(validation), max(validation)
    for k, f in blocks.items():
        roles[k] = 3 if f == fold else (2 if first - guard <= k <= last + guard else 1)
    grid = np.repeat(roles[:, None], shape[1], axis=1) if axis == "inline" else np.repeat(roles[None], shape[0], 0)
    fig = Figure(figsize=(5, 5 * shape[0] / max(shape[1], 1) + 0.8))
    ax = fig.subplots()
    colours = ListedColormap(["white", "tab:blue", "lightgrey", "tab:orange"])
    ax.imshow(grid, cmap=colours, vmin=0, vmax=3, interpolation="nearest", aspect="auto")
    ax.set_xlabel("crossline (index)"), ax.set_ylabel("inline (index)")
    ax.set_title(f"fold {fold}: training / dropped / validation {axis}s", fontsize=9)
    ax.legend(
        handles=[
            Patch(color=colours(i), label=name)
            for i, name in ((1, "training"), (2, f"dropped (guard {guard})"), (3, "validation"))
        ],
        fontsize=7,
    )
    save_figure(fig, path)


def body_map_title(footprint, n_bodies) -> str:
    """The map's title: every body counted as the table counts them, and the drawn ones no trace shows named."""
    drawn = int(footprint.max())
    visible = set(np.unique(footprint).tolist())
    hidden = [k for k in range(1, drawn + 1) if k not in visible]
    title = f"{n_bodies} bod{'y' if n_bodies == 1 else 'ies'}, the largest {drawn} drawn (1 = largest)"
    return title + (f"; {', '.join(map(str, hidden))} hidden under larger ones" if hidden else "")


def save_body_maps(path, footprint, top, depth_unit, n_bodies) -> None:
    """Map view (inline x crossline index) of salt bodies: which of the drawn (largest) bodies is at each trace
    (0: none; a larger body on top where they overlap), with a legend of the bodies drawn and a title that counts
    all `n_bodies` and the drawn ones hidden under larger ones; and the top-of-salt depth of the largest."""
    fig = Figure(figsize=(10, 4.5))
    left, right = fig.subplots(1, 2)
    drawn = int(footprint.max())
    colours = ListedColormap([colormaps["tab20"](k % 20) for k in range(max(drawn, 1))])
    left.imshow(
        np.ma.masked_equal(footprint, 0),
        cmap=colours,
        norm=BoundaryNorm(np.arange(0.5, max(drawn, 1) + 1), colours.N),
        interpolation="nearest",
        aspect="auto",
    )
    visible = set(np.unique(footprint).tolist()) - {0}
    left.set_title(body_map_title(footprint, n_bodies), fontsize=9)
    left.legend(
        handles=[Patch(color=colours(k - 1), label=f"body {k}") for k in sorted(visible)],
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    image = right.imshow(np.ma.masked_invalid(top), cmap="viridis_r", interpolation="nearest", aspect="auto")
    right.set_title(f"top of salt, body 1 ({depth_unit})", fontsize=9)
    fig.colorbar(image, ax=right, fraction=0.046)
    for ax in (left, right):
        ax.set_xlabel("crossline (index)"), ax.set_ylabel("inline (index)")
    fig.tight_layout()
    save_figure(fig, path)
