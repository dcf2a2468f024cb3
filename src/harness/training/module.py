"""The one LightningModule that trains any model: weighted multi-horizon CE, Phase 2 metrics.

The plain nn.Module (models/) knows nothing of losses, optimizers or metrics; this owns them.
Every epoch it evaluates, in eval mode, the validation rows and the train rows, and logs the score
under the name the pruning callback and the objective read (``metrics.SCORE``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.config.run import Budget, ScoreConfig, TrainConfig
from harness.data import Batch, PreparedData, logits_key
from harness.metrics import SCORE, BarsPerYear, combine_score, evaluate_split

VAL_LOSS = "val_loss"
TRAIN_LOSS = "train_loss"
EVAL_SPLITS = ("val", "train")  # validation dataloader 0 and 1


class DivergedError(RuntimeError):
    """The training loss became NaN or inf."""


@dataclass(frozen=True)
class ValPredictions:
    """The classes one epoch predicted for the val rows it evaluated (the probability of
    backtest overfitting compares trials on them, row by row)."""

    rows: np.ndarray  # [N] int64 frame positions, ascending
    classes: np.ndarray  # [N, H] int8 predicted class per horizon (0 short, 1 flat, 2 long)


def weighted_loss(
    outputs: dict[str, torch.Tensor],
    batch: Batch,
    *,
    horizons: tuple[int, ...],
    alphas: list[float],
    class_weights: torch.Tensor | None,
) -> torch.Tensor:
    """sum_h alpha_h * CE(logits_h, y_h) averaged with the sample weights w_h."""
    total = torch.zeros((), device=batch.x.device)
    for k, h in enumerate(horizons):
        ce = F.cross_entropy(  # [B]
            outputs[logits_key(h)].float(),
            batch.y[:, k],
            weight=None if class_weights is None else class_weights[k],
            reduction="none",
        )
        w = batch.w[:, k]
        total = total + alphas[k] * (ce * w).sum() / w.sum().clamp_min(1e-12)
    return total


def balanced_class_weights(data: PreparedData) -> torch.Tensor:
    """[H, 3] inverse class frequencies of the train rows, mean 1 over the classes present per
    horizon (a class absent from train gets 0: it is never a target)."""
    y = data.labels[data.train]  # [N_train, H]
    counts = torch.stack([torch.bincount(y[:, k], minlength=3) for k in range(y.shape[1])]).float()
    present = counts > 0
    inv = torch.where(present, counts.sum(1, keepdim=True) / counts.clamp_min(1.0), 0.0)
    return inv * present.sum(1, keepdim=True) / inv.sum(1, keepdim=True)


class Phase2Module(pl.LightningModule):
    class_weights: torch.Tensor | None  # a buffer (register_buffer), None unless "balanced"

    def __init__(
        self,
        net: nn.Module,
        *,
        data: PreparedData,
        config: TrainConfig,
        score: ScoreConfig,
        budget: Budget,
        bars_per_year: BarsPerYear,
    ) -> None:
        super().__init__()
        self.net = net
        self.data = data
        self.config = config
        self.score = score
        self.budget = budget  # the cosine schedule's length, the plateau's patience
        self.bars_per_year = bars_per_year
        self.horizons = data.spec.horizons
        self.alphas = config.alphas(self.horizons)
        weights = balanced_class_weights(data) if config.class_weights == "balanced" else None
        self.register_buffer("class_weights", weights, persistent=False)
        self.history: list[dict[str, Any]] = []  # one entry per epoch, see on_validation_epoch_end
        self.val_predictions: ValPredictions | None = None  # of the last epoch evaluated
        self._collected: dict[int, list[tuple[torch.Tensor, torch.Tensor, float, int]]] = {}

    def forward(self, x: torch.Tensor, symbol: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.net(x, symbol)

    def loss(self, outputs: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        return weighted_loss(
            outputs,
            batch,
            horizons=self.horizons,
            alphas=self.alphas,
            class_weights=self.class_weights,
        )

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss = self.loss(self(batch.x, batch.symbol), batch)
        if not torch.isfinite(loss):
            raise DivergedError(
                f"training loss is {loss.item()} at epoch {self.current_epoch}, batch {batch_idx}"
            )
        self.log(TRAIN_LOSS, loss, on_step=False, on_epoch=True, batch_size=len(batch.x))
        return loss

    def validation_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        outputs = self(batch.x, batch.symbol)
        loss = self.loss(outputs, batch)
        pred = torch.stack([outputs[logits_key(h)].argmax(-1) for h in self.horizons], 1)  # [B, H]
        self._collected.setdefault(dataloader_idx, []).append(
            (batch.rows, pred, float(loss) * len(batch.x), len(batch.x))
        )

    def on_validation_epoch_end(self) -> None:
        entry: dict[str, Any] = {"epoch": self.current_epoch}
        for idx, split in enumerate(EVAL_SPLITS):
            parts = self._collected.get(idx)
            if not parts:
                continue
            rows = torch.cat([p[0] for p in parts]).cpu().numpy()
            pred = torch.cat([p[1] for p in parts]).cpu().numpy()
            entry[f"{split}_eval_loss"] = sum(p[2] for p in parts) / sum(p[3] for p in parts)
            entry[split] = self.evaluate(rows, pred)
            if split == "val":
                order = np.argsort(rows, kind="stable")
                self.val_predictions = ValPredictions(rows[order], pred[order].astype(np.int8))
        self._collected = {}
        if "val" not in entry:
            return
        score = combine_score(
            entry["val"],
            sharpe_weight=self.score.sharpe_weight,
            f1_weight=self.score.f1_weight,
            horizons=self.score.horizons,
            reduce=self.score.reduce,
            sharpe_term=self.score.sharpe_term,
        )
        entry[SCORE] = score
        entry[VAL_LOSS] = entry["val_eval_loss"]
        self.log(SCORE, score if math.isfinite(score) else float("nan"))
        self.log(VAL_LOSS, entry[VAL_LOSS])
        if not self.trainer.sanity_checking:
            self.history.append(entry)

    def evaluate(self, rows: np.ndarray, pred: np.ndarray) -> dict[int, dict[str, Any]]:
        """Every Phase 2 metric per horizon for predictions `pred` [N, H] of positions `rows`."""
        order = np.argsort(rows, kind="stable")  # the backtest walks bars in time order
        rows, pred = rows[order], pred[order]
        labels = self.data.labels[torch.as_tensor(rows, device=self.data.device)].cpu().numpy()
        return evaluate_split(
            {h: pred[:, k] for k, h in enumerate(self.horizons)},
            {h: labels[:, k] for k, h in enumerate(self.horizons)},
            self.data.close[rows],
            self.data.symbols[rows],
            bars_per_year=self.bars_per_year,
            cost_bps=self.score.cost_bps,
            positions=rows,  # a hole in the split breaks the backtest, as a symbol seam does
        )

    def make_optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        optimizer_type = torch.optim.AdamW if c.optimizer == "adamw" else torch.optim.Adam
        return optimizer_type(
            self.net.parameters(), lr=c.learning_rate, weight_decay=c.weight_decay
        )

    def configure_optimizers(self) -> Any:
        c = self.config
        optimizer = self.make_optimizer()
        schedulers: list[dict[str, Any]] = []
        if c.warmup_batches:
            # Per batch; torch's schedulers chain by multiplying the current rate, so the epoch
            # schedule below still applies on top of it.
            warmup = torch.optim.lr_scheduler.LinearLR(
                optimizer, start_factor=1 / c.warmup_batches, total_iters=c.warmup_batches
            )
            schedulers.append({"scheduler": warmup, "interval": "step"})
        if c.scheduler == "cosine":
            cosine = torch.optim.lr_scheduler.CosineAnnealingLR(
                optimizer, T_max=self.budget.max_epochs
            )
            schedulers.append({"scheduler": cosine, "interval": "epoch"})
        elif c.scheduler == "plateau":
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=0.5, patience=max(1, self.budget.patience // 2)
            )
            schedulers.append({"scheduler": plateau, "monitor": VAL_LOSS})
        return [optimizer], schedulers
