"""Where tensors run."""

import torch


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> the GPU when there is one, else the CPU; any other name as torch spells it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
