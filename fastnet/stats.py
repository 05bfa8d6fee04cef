"""Spreads over seeds: the sample standard deviation every summary in fastnet reports.

Results over a handful of seeds are samples, so the spread is the sample
standard deviation (n - 1 in the denominator).  One seed has no spread: 0.
"""
import numpy as np

__all__ = ["sample_std", "mean_std"]


def sample_std(values):
    """The sample standard deviation (n - 1) along the first axis; 0 for one value."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return np.zeros(values.shape[1:])
    return values.std(axis=0, ddof=1)


def mean_std(values):
    """(mean, sample standard deviation) of a sequence of numbers, as floats."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(sample_std(values))
