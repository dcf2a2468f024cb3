"""The device that trains and predicts: the GPU where PyTorch sees one, else the CPU."""

from __future__ import annotations

import torch


def device_for_training() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
