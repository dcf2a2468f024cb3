"""The recipe of a trial: how one model trains on one dataset, told once.

A ``Recipe`` holds the search space and the objective (sized for its profile: see
harness.config.profile), the command line's caps and the data. ``harness train`` (the space's
default config), a search trial (a sampled config) and a finalize member (a stored trial's
config) each make the same one call, ``recipe.train(run, seed=...)``, under the same budget:
the objective's, capped by the caps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import Callback

from harness.config import (
    SEED,
    Budget,
    Caps,
    ModelFiles,
    ObjectiveSpec,
    PresetParam,
    RunConfig,
    ScoreConfig,
    SearchSpace,
    default_profile,
    load_files,
)
from harness.constants import FORMAT_VERSION, __version__, source_commit
from harness.data import DataError, Phase1Data, PreparedData, check_windows, prepare
from harness.devices import device_for_training
from harness.errors import HarnessError
from harness.training.curves import Curves
from harness.training.fit import FitResult, fit


@dataclass
class Recipe:
    space: SearchSpace  # sized for the profile (its section merged in)
    objective: ObjectiveSpec  # its budget: the profile's
    data: Phase1Data
    caps: Caps = field(default_factory=Caps)
    profile: str = SEED  # what `space` and `spec` were sized for; a study records it
    device: torch.device | None = None  # None: the training device of the process that trains
    # the files `space` and `spec` came from, every profile in them: what a study records
    files: ModelFiles | None = field(default=None, repr=False)
    _prepared: dict[tuple[int, str], PreparedData] = field(default_factory=dict, repr=False)

    @classmethod
    def load(
        cls,
        model: str,
        data: Phase1Data,
        *,
        profile: str | None = None,
        space_file: Path | None = None,
        objective_file: Path | None = None,
        caps: Caps | None = None,
        files: ModelFiles | None = None,
    ) -> Recipe:
        """The recipe of `model` from `files` (a study's recorded pair) or else its YAML files
        (default: the project's), sized for `profile` (default: the training device's); a
        profile that neither file knows is a SpaceError naming the known ones."""
        profile = profile or default_profile(device_for_training())
        if files is None:
            files = load_files(model, space_file, objective_file, profile=profile)
        else:
            files.check_profile(profile)
        space, spec = files.space, files.objective
        lacking = [h for h in spec.score.horizons or () if h not in data.horizons]
        if lacking:
            raise HarnessError(
                f"{files.objective_text.source}: score.horizons: "
                f"{', '.join(map(str, lacking))} not in the data, whose horizons are "
                f"{', '.join(map(str, data.horizons))} (its label_* columns); name those, or "
                "leave the key out for all of them"
            )
        return cls(
            space=space.for_profile(profile),
            objective=spec.for_profile(profile),
            data=data,
            caps=caps or Caps(),
            profile=profile,
            files=files,
        )

    def __getstate__(self) -> dict[str, Any]:
        # A spawned worker prepares its own copy of the data, on its own device.
        return {**self.__dict__, "_prepared": {}}

    def release(self) -> None:
        """Drop the data prepared here (the workers that train hold their own copies)."""
        self._prepared.clear()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    @property
    def model(self) -> str:
        return self.space.model

    @property
    def budget(self) -> Budget:
        """The objective's budget for this profile, under the caps."""
        return self.objective.budget.capped(self.caps)

    @property
    def score(self) -> ScoreConfig:
        return self.objective.score

    def default_run(self, overrides: Mapping[str, Any] | None = None) -> RunConfig:
        """The space's fixed config (the seed's defaults, sized for the profile), then
        `overrides`."""
        return self.space.default_run(overrides, where="--set")

    def prepared(self, run: RunConfig) -> PreparedData:
        """The data windowed for `run`, prepared once per window length and window end."""
        key = (run.seq_len, run.train.window_end)
        if key not in self._prepared:
            check_windows(self.data, seq_len=run.seq_len, window_end=run.train.window_end)
            self._prepared[key] = prepare(
                self.data,
                seq_len=run.seq_len,
                window_end=run.train.window_end,
                device=self.device or device_for_training(),
            )
        return self._prepared[key]

    def train(
        self,
        run: RunConfig,
        *,
        seed: int,
        callbacks: Sequence[Callback] = (),
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
        progress: bool = False,
        curves: Curves | None = None,
    ) -> FitResult:
        """Train `run` under this recipe's budget and score: the one way a config is trained;
        `curves`: the run its training curves are logged as (None: none)."""
        return fit(
            run,
            self.prepared(run),
            self.score,
            budget=self.budget,
            seed=seed,
            callbacks=callbacks,
            on_epoch=on_epoch,
            progress=progress,
            curves=curves,
        )

    def check_windows(self) -> None:
        """Refuse, before any trial, a space whose longest window leaves a split without one."""
        default = self.default_run()
        seq_lens = {default.seq_len}
        exclusive = default.train.window_end == "exclusive"
        for name, param in self.space.params.items():
            bundles: list[dict[str, Any]] = (
                list(param.choices.values())
                if isinstance(param, PresetParam)
                else [{name: value} for value in param.corners()]
            )
            for bundle in bundles:
                if "seq_len" in bundle:
                    seq_lens.add(int(bundle["seq_len"]))
                exclusive |= bundle.get("window_end") == "exclusive"
        longest = max(seq_lens)
        try:  # an exclusive window reaches one row further back than an inclusive one
            check_windows(
                self.data, seq_len=longest, window_end="exclusive" if exclusive else "inclusive"
            )
        except DataError as exc:
            raise DataError(
                f"the search space of {self.model} allows seq_len {longest}: {exc}"
            ) from None

    def worker(self) -> dict[str, str]:
        """What trains this recipe here (provenance): the machine, the harness version and the
        commit of its checkout (when run from one), library versions, device kind and
        precision. Every trial stores it; a study stores its first worker's."""
        import socket

        import lightning
        import optuna

        device = self.device or device_for_training()
        sampled = "precision" in self.space.params or any(
            "precision" in bundle
            for p in self.space.params.values()
            if isinstance(p, PresetParam)
            for bundle in p.choices.values()
        )
        precision = "per trial" if sampled else self.default_run().train.precision
        matmul = torch.get_float32_matmul_precision()  # "high", "medium": TF32 or bf16 matmuls
        commit = source_commit()
        return {
            "host": socket.gethostname(),
            "harness": __version__,
            **({} if commit is None else {"commit": commit}),
            "torch": torch.__version__,
            "lightning": lightning.__version__,
            "optuna": optuna.__version__,
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else device.type,
            "precision": precision if matmul == "highest" else f"{precision}, matmul {matmul}",
        }

    def digest(self) -> str:
        """What trials of one study must share: objective, budget under the caps, space, format."""
        text = json.dumps(
            {
                "format": FORMAT_VERSION,
                "objective": self.objective.model_dump(mode="json"),
                "budget": self.budget.model_dump(mode="json"),
                "space": self.space.digest(),
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]
