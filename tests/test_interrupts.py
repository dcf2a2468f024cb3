"""Ctrl-C as a request: raised by check() where the caller can close up, never in between."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

from harness import interrupts
from harness.search.workers import StopFlag, _one_trial


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)  # delivered to the main thread before the next bytecode


def test_ctrl_c_in_a_deferred_block_waits_for_check() -> None:
    with pytest.raises(KeyboardInterrupt), interrupts.deferred():
        ctrl_c()
        assert interrupts.requested()  # no KeyboardInterrupt here
        interrupts.check()
    assert not interrupts.requested()  # the next command starts afresh


def test_one_pressed_after_the_last_check_is_raised_when_the_block_ends() -> None:
    with pytest.raises(KeyboardInterrupt):
        with interrupts.deferred(), interrupts.deferred():  # fit inside a search worker
            ctrl_c()
        pytest.fail("not raised by the inner block")


def test_a_third_ctrl_c_raises_at_once() -> None:
    with pytest.raises(KeyboardInterrupt), interrupts.deferred():
        ctrl_c()
        ctrl_c()
        ctrl_c()
        pytest.fail("not raised at once")


def test_a_ctrl_c_while_optuna_creates_a_trial_fails_that_trial() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study()
    ran = []

    def objective(trial: optuna.Trial) -> float:
        ran.append(trial.number)
        return 0.0

    with pytest.raises(KeyboardInterrupt), interrupts.deferred():
        interrupts.request()
        _one_trial(study, objective)
    assert ran == []
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == "interrupted (Ctrl-C)"


def _worker_that_waits_for_the_request(stop: StopFlag) -> None:
    stop.relay()
    deadline = time.monotonic() + 30
    while not interrupts.requested():
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.05)


def _worker_that_exits_while_its_relay_waits(stop: StopFlag) -> None:
    stop.relay()


def test_the_parents_stop_flag_is_a_ctrl_c_request_in_a_worker() -> None:
    ctx = mp.get_context("spawn")
    stop = StopFlag(ctx)
    worker = ctx.Process(target=_worker_that_waits_for_the_request, args=(stop,))
    worker.start()
    stop.set()
    worker.join(60)
    assert worker.exitcode == 0


def test_setting_the_stop_flag_never_waits_for_a_worker_that_has_exited() -> None:
    ctx = mp.get_context("spawn")
    stop = StopFlag(ctx)
    worker = ctx.Process(target=_worker_that_exits_while_its_relay_waits, args=(stop,))
    worker.start()
    worker.join(60)
    assert worker.exitcode == 0
    setter = threading.Thread(target=stop.set, daemon=True)
    setter.start()
    setter.join(10)
    assert not setter.is_alive(), "set() hangs: it waits for the exited worker's relay"
    assert stop.is_set()


def sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_in_a_deferred_block_is_a_request_raised_as_terminated() -> None:
    with pytest.raises(interrupts.Terminated), interrupts.deferred():
        sigterm()
        assert interrupts.requested() and interrupts.reason() == "SIGTERM"
        interrupts.check()
    assert not interrupts.requested()


def test_a_second_sigterm_raises_at_once() -> None:
    with pytest.raises(interrupts.Terminated), interrupts.deferred():
        sigterm()
        sigterm()
        pytest.fail("not raised at once")


def test_sigterm_outside_a_deferred_block_raises_at_once_as_ctrl_c_would() -> None:
    previous = signal.signal(signal.SIGTERM, interrupts.on_sigterm)
    try:
        with pytest.raises(interrupts.Terminated):
            sigterm()
            time.sleep(1)
            pytest.fail("not raised")
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_sigterm_while_optuna_creates_a_trial_fails_that_trial_saying_so() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study()
    with pytest.raises(interrupts.Terminated), interrupts.deferred():
        interrupts.request(terminated=True)
        _one_trial(study, lambda trial: 0.0)
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == "interrupted (SIGTERM)"
