"""Pure tile geometry and channel construction: reflect padding to the network size and the input channels."""

import numpy as np
import torch
import torch.nn.functional as F

TILE = 101


def pad_amounts(size, target) -> tuple[int, int]:
    """(before, after) so that size + before + after == target; 101 -> 128 gives (13, 14)."""
    total = target - size
    if total < 0:
        raise ValueError(f"cannot pad size {size} to smaller target {target}")
    return total // 2, total - total // 2


def reflect_pad(array, target=128) -> np.ndarray:
    """Reflect-pad the last two axes of `array` (..., H, W) to (target, target)."""
    (top, bottom), (left, right) = pad_amounts(array.shape[-2], target), pad_amounts(array.shape[-1], target)
    widths = [(0, 0)] * (array.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(array, widths, mode="reflect")


def pad_to_tile(section, fill=None, tile=TILE) -> np.ndarray:
    """A (rows, columns) section padded at its bottom and right to at least `tile` each way: reflected, or with the
    constant `fill` (labels). A section already that large is returned as it is."""
    pad = ((0, max(tile - section.shape[0], 0)), (0, max(tile - section.shape[1], 0)))
    if fill is None:
        return np.pad(section, pad, mode="reflect")
    return np.pad(section, pad, mode="constant", constant_values=fill)


def crop_center(array, size=TILE) -> np.ndarray | torch.Tensor:
    """Inverse of reflect_pad: crop the last two axes of an array or tensor back to (size, size)."""
    top, _ = pad_amounts(size, array.shape[-2])
    left, _ = pad_amounts(size, array.shape[-1])
    return array[..., top : top + size, left : left + size]


def mirror_padded(x, size=TILE) -> torch.Tensor:
    """The horizontal mirror of padded tiles (..., S, S) tensor, built as training builds an hflipped tile:
    the tile flipped, then reflect-padded. Flipping the padded tensor itself would shift the tile one pixel
    (101 -> 128 pads 13 left and 14 right, a flip swaps them). Every input channel commutes with a column flip."""
    (top, bottom), (left, right) = pad_amounts(size, x.shape[-2]), pad_amounts(size, x.shape[-1])
    return F.pad(crop_center(x, size).flip(-1), (left, right, top, bottom), mode="reflect")


def relative_depth(z, zmin, zmax) -> np.ndarray:
    """The seed's depth feature (z - zmin) / (zmax - zmin)."""
    return (np.asarray(z, dtype=np.float32) - zmin) / max(zmax - zmin, 1e-6)


def build_channels(image_u8, depth, channels, mean, std) -> np.ndarray:
    """Stack the configured input channels for one grey tile (H, W) uint8 -> (C, H, W) float32.

    image: (x/255 - mean) / std; depth: a constant plane of the relative depth; coord: the seed's CoordConv
    variant, the [0, 1] image times a top-to-bottom ramp. depth_255 and coord_255 are those two as the 28th-place
    team's dataset builds them, in uint8 before any padding: int(255 x relative depth), and the uint8 image times
    linspace(0.001, 1, rows) truncated to uint8; both / 255 here (their scaling to the network is not published).
    """
    image = image_u8.astype(np.float32) / 255.0
    planes = []
    for name in channels:
        if name == "image":
            planes.append((image - mean) / std)
        elif name == "depth":
            planes.append(np.full_like(image, depth))
        elif name == "coord":
            ramp = np.linspace(0.0, 1.0, image.shape[0], dtype=np.float32)[:, None]
            planes.append(image * ramp)
        elif name == "depth_255":
            planes.append(np.full_like(image, int(255 * depth) / 255.0))
        elif name == "coord_255":
            ramp = np.linspace(0.001, 1.0, image.shape[0])[:, None]
            planes.append((image_u8.astype(np.float64) * ramp).astype(np.uint8).astype(np.float32) / 255.0)
        else:
            raise ValueError(f"unknown input channel {name!r}: use image, depth, coord, depth_255 or coord_255")
    return np.stack(planes)
