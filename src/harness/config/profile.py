"""Profiles: the sizes a study trains at, chosen by the hardware and kept by the study.

A search space holds the seed's sizes at its top level (profile ``seed``, sized for a GPU) and,
under ``profiles:``, sections that replace some of them (``cpu``: sized for a few CPU cores).
An objective holds the seed's budget and, under ``profiles:``, a budget per profile. The default
profile follows the training device (CUDA -> ``seed``, CPU -> ``cpu``); ``--profile`` overrides
it. A study records its profile and is named after it, so two profiles never share a study;
finalize retrains at the profile its study recorded, whatever the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.config.files import SpaceError

if TYPE_CHECKING:
    import torch

SEED = "seed"
"""The top level of a space or objective file: the seed's sizes and budget, for a GPU."""
CPU = "cpu"
"""Sized for a few CPU cores; where a file has no `cpu` section, its top level applies."""
BUILTIN = (SEED, CPU)
NAME_PATTERN = r"^[a-z0-9_]+$"  # part of a study name `{model}-{profile}-{data}`: no dashes


@dataclass(frozen=True)
class ProfileChoice:
    """A profile and why it was chosen, for the first line a command prints."""

    name: str
    reason: str

    @property
    def line(self) -> str:
        return f"profile {self.name}: {self.reason}"


def default_profile(device: torch.device) -> str:
    return SEED if device.type == "cuda" else CPU


def choose_profile(given: str | None, device: torch.device) -> ProfileChoice:
    """`--profile` when given, else the training device's profile; the reason says which."""
    where = _describe(device)
    if given is not None:
        return ProfileChoice(given, f"chosen with --profile (training on {where})")
    name = default_profile(device)
    other = CPU if name == SEED else SEED
    return ProfileChoice(
        name, f"the default when training on {where} (--profile {other} for the {other} sizes)"
    )


def recorded_choice(
    studies: dict[str, tuple[str, str | None]], fallback: ProfileChoice
) -> ProfileChoice:
    """The profile line of `finalize`: model -> (study name, the profile it recorded or None).
    `fallback` (the device's) stands where no study recorded one: finalize then fails to find
    the study and says so."""
    found = {m: (s, p) for m, (s, p) in studies.items() if p is not None}
    names = {p for _, p in found.values()}
    if not names:
        return ProfileChoice(fallback.name, f"{fallback.reason}; no study has recorded one yet")
    if len(names) == 1:
        listed = ", ".join(repr(s) for s, _ in found.values())
        return ProfileChoice(names.pop(), f"as recorded by study {listed}, whatever the device")
    each = ", ".join(f"{m} {p} ({s!r})" for m, (s, p) in found.items())
    return ProfileChoice("per study", f"as each study recorded it, whatever the device: {each}")


def _describe(device: torch.device) -> str:
    if device.type != "cuda":
        return "the CPU, no CUDA GPU seen"
    import torch

    try:
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    except (AssertionError, RuntimeError):  # a CUDA device named where none can be queried
        return "CUDA"


def check_name(name: str, known: Sequence[str], *, files: Sequence[object]) -> None:
    """Raise a SpaceError naming the known profiles and the files when `name` is not one."""
    if name in known:
        return
    raise SpaceError(
        f"unknown profile {name!r}: the known ones are {', '.join(known)} "
        f"({' and '.join(str(f) for f in files)})"
    )
