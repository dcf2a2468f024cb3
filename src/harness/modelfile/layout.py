"""Where every exported file lives under the results folder (docs/contracts.md, fixed).

Export, the comparison report and ``verify_results`` all name files through these functions, so
the contract is written down once.
"""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = "models"
PREDICTIONS_DIR = "predictions"
REPORTS_DIR = "reports"
LOGS_DIR = "logs"

REFERENCE = "reference"
"""The reference model's name: exported like a model, its model file JSON (harness.reference)."""

VAL_INDEX = f"{PREDICTIONS_DIR}/val_index.parquet"
COMPARISON = f"{REPORTS_DIR}/phase2_model_comparison.md"


def checkpoint(model: str) -> str:
    return f"{MODELS_DIR}/{model}_final.pth"


def model_file(model: str) -> str:
    """The file a model is rebuilt from: its checkpoint, or the reference's JSON."""
    return f"{MODELS_DIR}/{REFERENCE}_model.json" if model == REFERENCE else checkpoint(model)


def scaler(model: str) -> str:
    return f"{MODELS_DIR}/{model}_scaler.pkl"


def scaler_json(model: str) -> str:
    """The scaler's mean, scale and feature names as JSON: what readers load without pickle."""
    return f"{MODELS_DIR}/{model}_scaler.json"


def manifest(model: str) -> str:
    """Size and SHA-256 of every file of the model's set (``model_files``), and the format."""
    return f"{MODELS_DIR}/{model}_manifest.json"


def val_probs(model: str, horizon: int) -> str:
    return f"{PREDICTIONS_DIR}/{model}_val_probs_{horizon}.npy"


def metrics(model: str) -> str:
    return f"{REPORTS_DIR}/{model}_metrics.json"


def pbo_logits(model: str) -> str:
    """The CSCV logits of the probability of backtest overfitting, one array per horizon
    (``h{h}``), kept out of metrics.json (12,870 numbers a horizon at 16 blocks)."""
    return f"{REPORTS_DIR}/{model}_pbo_logits.npz"


def tearsheet(model: str, horizon: int) -> str:
    return f"{REPORTS_DIR}/{model}_{horizon}bar_tearsheet.html"


def interpretation(model: str) -> str:
    return f"{REPORTS_DIR}/{model}_interpretation.json"  # tft_interpretation.json for TFT


def training_log(model: str) -> str:
    return f"{LOGS_DIR}/{model}_training.log"


def model_files(model: str, horizons: tuple[int, ...], *, interpretable: bool) -> list[str]:
    """Every file of one model's set, relative to the results folder (its manifest aside)."""
    if model == REFERENCE:  # its scaler is inside its JSON; no epochs, no tearsheet
        return [
            model_file(model),
            *(val_probs(model, h) for h in horizons),
            VAL_INDEX,
            metrics(model),
        ]
    files = [
        checkpoint(model),
        scaler(model),
        scaler_json(model),
        *(val_probs(model, h) for h in horizons),
        VAL_INDEX,
        metrics(model),
        pbo_logits(model),
        *(tearsheet(model, h) for h in horizons),
        training_log(model),
    ]
    if interpretable:
        files.append(interpretation(model))
    return files


def resolve(out: Path, relative: str) -> Path:
    return Path(out) / relative
