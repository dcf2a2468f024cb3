from __future__ import annotations

from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness.metrics import deflated_sharpe, expected_max_sharpe, sharpe_ratio

BARS = 252.0


def _trials(seed: int, n_trials: int = 20, n_bars: int = 400) -> np.ndarray:
    """[n_bars, n_trials] fat-tailed, skewed bar returns with a little skill in some trials."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_t(df=4, size=(n_bars, n_trials)) * 0.01
    skewed = rng.exponential(0.004, size=(n_bars, n_trials)) - 0.004
    return noise + skewed + rng.uniform(-0.0005, 0.0015, n_trials)


def _annualized(returns: np.ndarray) -> np.ndarray:
    return np.array([sharpe_ratio(col, bars_per_year=BARS) for col in returns.T])


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_equals_vectorbt(vbt: ModuleType, seed: int) -> None:
    returns = _trials(seed)
    acc = pd.DataFrame(returns).vbt.returns(freq="1D", year_freq=pd.Timedelta(days=BARS))
    ref = acc.deflated_sharpe_ratio().to_numpy()
    sharpes = acc.sharpe_ratio().to_numpy()  # annualized by vectorbt
    ours = [deflated_sharpe(col, sharpes, bars_per_year=BARS) for col in returns.T]
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_one_trial_is_the_probabilistic_sharpe_ratio() -> None:
    r = _trials(5)[:, 0]
    sr = r.mean() / r.std(ddof=1)
    skew, kurt = stats.skew(r), stats.kurtosis(r, fisher=False)
    z = sr * np.sqrt(r.size - 1) / np.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    ours = deflated_sharpe(r, [sr * np.sqrt(BARS)], bars_per_year=BARS)
    assert ours == pytest.approx(stats.norm.cdf(z), rel=1e-12)


def test_expected_max_sharpe_approximates_the_mean_maximum() -> None:
    # E[max of N standard normals], by simulation; the approximation is within a few percent.
    rng = np.random.default_rng(0)
    simulated = rng.standard_normal((20_000, 100)).max(axis=1).mean()
    assert expected_max_sharpe(1.0, 100) == pytest.approx(simulated, rel=0.02)
    assert expected_max_sharpe(4.0, 100) == pytest.approx(2 * expected_max_sharpe(1.0, 100))
    assert expected_max_sharpe(1.0, 1) == 0.0


def test_more_trials_deflate_more() -> None:
    returns = _trials(1)
    sharpes = _annualized(returns)
    best = returns[:, int(np.argmax(sharpes))]
    values = [deflated_sharpe(best, sharpes, bars_per_year=BARS, n_trials=n) for n in (2, 20, 200)]
    assert values[0] > values[1] > values[2]


def test_wider_spread_of_trials_deflates_more() -> None:
    returns = _trials(2)
    sharpes = _annualized(returns)
    best = returns[:, int(np.argmax(sharpes))]
    narrow = deflated_sharpe(best, sharpes, bars_per_year=BARS)
    wide = deflated_sharpe(best, 3 * sharpes, bars_per_year=BARS, n_trials=sharpes.size)
    assert wide < narrow


def test_is_a_probability_and_ignores_failed_trials() -> None:
    returns = _trials(3)
    sharpes = _annualized(returns)
    for col in returns.T:
        assert 0.0 <= deflated_sharpe(col, sharpes, bars_per_year=BARS) <= 1.0
    with_failed = np.r_[sharpes, np.nan, -np.inf]
    assert deflated_sharpe(returns[:, 0], with_failed, bars_per_year=BARS) == deflated_sharpe(
        returns[:, 0], sharpes, bars_per_year=BARS
    )


def test_constant_returns_give_no_evidence_of_skill() -> None:
    # As the probabilistic Sharpe ratio: a best trial that never trades is not a coin flip.
    assert deflated_sharpe(np.zeros(50), [0.0], bars_per_year=BARS) == 0.0


@pytest.mark.parametrize(
    ("returns", "kwargs"),
    [
        ([0.01], {}),  # one bar
        ([0.01, np.nan, 0.02], {}),
        ([0.01, 0.02, 0.0], {"n_trials": 0}),
    ],
)
def test_bad_input_is_rejected(returns: list, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        deflated_sharpe(returns, [1.0, 2.0], bars_per_year=BARS, **kwargs)
