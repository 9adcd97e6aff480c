"""ert_math (the libm-free math kernels use) against numpy's libm."""
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from edgert.native import lib

RNG = np.random.default_rng(7)
WIDE = np.concatenate([RNG.uniform(-700, 700, 2000), RNG.uniform(-5, 5, 2000),
                       RNG.standard_normal(500) * 1e-6, [0.0, -0.0, 1.0, -1.0, 0.5]])
POSITIVE = np.concatenate([np.exp(RNG.uniform(-700, 700, 3000)), [5e-324, 2.2e-308, 1.0, 2.0, 1e300]])


def ulps(a, b):
    """Distance in units of the last place of b's own dtype."""
    b = np.asarray(b)
    spacing = np.spacing(np.abs(b)).astype(np.float64)
    return np.abs(np.asarray(a, np.float64) - b.astype(np.float64)) / spacing


def test_sqrt_is_correctly_rounded():
    got = np.array([lib.ert_sqrt(v) for v in POSITIVE])
    np.testing.assert_array_equal(got, np.sqrt(POSITIVE))
    f = POSITIVE[(POSITIVE < 1e30) & (POSITIVE > 1e-30)].astype(np.float32)
    np.testing.assert_array_equal(np.array([lib.ert_sqrtf(v) for v in f], np.float32), np.sqrt(f))


def test_exp_log_within_one_ulp():
    assert ulps([lib.ert_exp(v) for v in WIDE], np.exp(WIDE)).max() <= 1.0
    assert ulps([lib.ert_log(v) for v in POSITIVE], np.log(POSITIVE)).max() <= 1.0


def test_float_versions_are_float64_rounded_once():
    x = RNG.uniform(-80, 80, 3000).astype(np.float32)
    wide = x.astype(np.float64)   # the float64 result rounded once: the correctly rounded float32
    assert ulps(np.array([lib.ert_expf(v) for v in x], np.float32), np.exp(wide).astype(np.float32)).max() <= 1.0
    assert ulps(np.array([lib.ert_tanhf(v) for v in x], np.float32), np.tanh(wide).astype(np.float32)).max() <= 1.0
    sig = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert ulps(np.array([lib.ert_logisticf(v) for v in x], np.float32), sig.astype(np.float32)).max() <= 1.0


@pytest.mark.parametrize("v", [0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994, 4503599627370497.0])
def test_rounding_modes(v):
    assert lib.ert_rint(v) == np.rint(v)
    assert lib.ert_round(v) == float(Decimal(v).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert lib.ert_floor(v) == np.floor(v)


def test_special_values():
    assert lib.ert_exp(1000) == np.inf and lib.ert_exp(-1000) == 0
    assert lib.ert_log(0) == -np.inf and np.isnan(lib.ert_log(-1))
    assert np.isnan(lib.ert_sqrt(-1)) and lib.ert_sqrt(np.inf) == np.inf
    assert lib.ert_pow(2.0, 10.0) == pytest.approx(1024.0, rel=1e-15)
    assert lib.ert_pow(-2.0, 3.0) == pytest.approx(-8.0, rel=1e-15)
