"""How the chance of buying again rises with the satisfaction score: a logistic regression (statsmodels ``Logit``)
of a 0/1 outcome (the customer bought again within the horizon after their survey) on the score (1–5, a number),
P(retained | s) = 1 / (1 + exp(−(a + b s))), drawn as a curve with its 95 % band (the interval of the linear
predictor a + b s from the coefficients' covariance, mapped through the logistic function).

The fit is refused (``problem``) with fewer than :data:`MIN_RESPONSES` responses or :data:`MIN_EACH` of either
outcome, without two different scores, or when the maximum likelihood does not converge or separates perfectly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from numpy.typing import ArrayLike
from scipy.special import expit
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

Z95 = 1.959963984540054
#: Responses a fit needs, and of each outcome.
MIN_RESPONSES = 30
MIN_EACH = 5
#: The scores the curve is drawn at (1 to 5 in tenths).
CURVE_AT = np.round(np.arange(1.0, 5.0001, 0.1), 1)


@dataclass(frozen=True)
class RetentionCurve:
    """The fitted relation: responses ``n`` and ``retained``; ``intercept`` a and ``slope`` b with their standard
    errors, the slope's p-value and the coefficients' covariance; ``curve``: ``score``, ``probability``, ``low``,
    ``high`` at :data:`CURVE_AT`; ``problem`` (then no coefficients) when the fit was refused."""

    n: int
    retained: int
    intercept: float
    slope: float
    intercept_se: float
    slope_se: float
    slope_p_value: float
    covariance: np.ndarray | None
    curve: pd.DataFrame | None
    problem: str | None = None

    def at(self, score: float) -> tuple[float, float, float]:
        """P(retained | score) with its 95 % interval."""
        p, low, high = _predict(self.intercept, self.slope, self.covariance, np.array([float(score)]))[0]
        return float(p), float(low), float(high)


def _predict(a: float, b: float, covariance: np.ndarray, scores: np.ndarray) -> np.ndarray:
    x = np.column_stack([np.ones(len(scores)), scores])
    eta = x @ np.array([a, b])
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", x, covariance, x), 0.0))
    return np.column_stack([expit(eta), expit(eta - Z95 * se), expit(eta + Z95 * se)])


def _refused(n: int, retained: int, problem: str) -> RetentionCurve:
    nan = float("nan")
    return RetentionCurve(n, retained, nan, nan, nan, nan, nan, None, None, problem)


def fit_retention(scores: ArrayLike, retained: ArrayLike) -> RetentionCurve:
    """:class:`RetentionCurve` of ``retained`` (0/1 per response) on ``scores`` (the module docstring's model)."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(retained, dtype=float)
    ok = np.isfinite(s) & np.isfinite(y)
    s, y = s[ok], y[ok]
    n, kept = len(y), int(y.sum())
    if n < MIN_RESPONSES or min(kept, n - kept) < MIN_EACH:
        return _refused(n, kept, "too_few")
    if len(np.unique(s)) < 2:
        return _refused(n, kept, "one_score")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        try:
            result = sm.Logit(y, sm.add_constant(s, has_constant="add")).fit(disp=0, maxiter=100)
        except (np.linalg.LinAlgError, ValueError) as error:  # (a singular Hessian)
            return _refused(n, kept, f"failed: {error}")
    if any(issubclass(w.category, PerfectSeparationWarning) for w in said):
        return _refused(n, kept, "separated")
    if not result.mle_retvals.get("converged", False):
        return _refused(n, kept, "not_converged")
    a, b = (float(v) for v in result.params)
    covariance = np.asarray(result.cov_params(), dtype=float)
    band = _predict(a, b, covariance, CURVE_AT)
    curve = pd.DataFrame({"score": CURVE_AT, "probability": band[:, 0], "low": band[:, 1], "high": band[:, 2]})
    se = np.sqrt(np.diag(covariance))
    return RetentionCurve(n, kept, a, b, float(se[0]), float(se[1]), float(result.pvalues[1]), covariance, curve)
