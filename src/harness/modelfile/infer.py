"""The one batched inference: the windows of chosen rows -> class probabilities per horizon.

finalize (val probabilities, train metrics, inference speed), verify-results and predict all
call ``class_probs``; training's own validation loop is Lightning's and keeps only classes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from harness.data import N_CLASSES, PreparedData, Split, WindowEnd, cut_windows, logits_key

# Windows per forward pass (every pass has exactly this many). On the 2-core CPU
# (benchmarks/predict.py --batch-sizes 64 128 256 512 1024), 128 came within 11% of the fastest
# batch of every model at demo size and within 25% at seed size (where 64 was fastest); larger
# batches fall out of cache (TFT at seed size: 113 windows/s at 128, 61 at 512), and a call
# that predicts one new bar still computes a whole batch.
BATCH_SIZE = 128


@torch.inference_mode()
def class_probs(
    net: nn.Module,
    features: torch.Tensor,
    rows: torch.Tensor,
    *,
    seq_len: int,
    window_end: WindowEnd,
    horizons: tuple[int, ...],
    symbol_ids: torch.Tensor | None,
    batch_size: int = BATCH_SIZE,
) -> dict[int, np.ndarray]:
    """float32 [T, 3] per horizon for `rows` [T] (positions in `features` [N, F], each with a
    full window), in the order given; `symbol_ids` [N], or None for a net that reads none.

    Every forward pass has exactly `batch_size` windows, the last one padded with copies: CPU
    kernels choose their blocking by batch size, so a row's last bits would otherwise depend on
    how many rows were predicted with it, and appending bars would move them.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    net.eval()
    device = features.device
    rows = rows.to(device)
    found: dict[int, list[torch.Tensor]] = {h: [] for h in horizons}
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        n = len(batch)
        batch = torch.cat([batch, batch[-1:].expand(batch_size - n)])  # [batch_size]
        x = cut_windows(features, batch, seq_len=seq_len, window_end=window_end)  # [B, L, F]
        out = net(x, None if symbol_ids is None else symbol_ids[batch])
        for h in horizons:
            found[h].append(torch.softmax(out[logits_key(h)][:n].float(), dim=-1).cpu())
    return {
        h: torch.cat(p).numpy() if p else np.empty((0, N_CLASSES), np.float32)
        for h, p in found.items()
    }


def split_probs(
    net: nn.Module, data: PreparedData, split: Split | torch.Tensor
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Rows [N] of a split (or the rows given) in order, and their probabilities per horizon."""
    rows = data.split(split) if isinstance(split, str) else split
    probs = class_probs(
        net,
        data.features,
        rows,
        seq_len=data.seq_len,
        window_end=data.window_end,
        horizons=data.spec.horizons,
        symbol_ids=data.symbol_ids,
    )
    return rows.cpu().numpy(), probs
