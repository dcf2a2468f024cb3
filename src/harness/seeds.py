"""Seed mixing: one derived seed from a base seed and a counter, the same rule everywhere."""

from __future__ import annotations


def mix(seed: int, n: int) -> int:
    """A seed for the n-th thing drawn from `seed` (a trial, an epoch's shuffle, a worker):
    distinct for distinct (seed, n) pairs in practice, and a valid seed for torch and numpy."""
    return (seed * 1_000_003 + n) % (2**31 - 1)
