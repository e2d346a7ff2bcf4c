"""OpenL3's framing: the one place that says how a signal is cut into 1-s windows.

Every other module (the audio preprocessing, the embedders' frame alignment, the
metrics' 1-s segments, the HEAR timestamps) asks this module how many windows a
signal has and where each window is centred, so the rule cannot drift between them.
The rule is openl3 0.4.2's (unchanged since 0.3.1): with ``center`` the signal gets
half a window of zeros in front, it is zero-padded at the end so that every sample
falls into a window, and the hop in samples is ``int(hop_size * 48000)`` (openl3
truncates: 0.29 s -> 13919 samples) while timestamps use ``hop_size`` itself.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SAMPLE_RATE", "WINDOW_SAMPLES", "hop_length", "window_count", "window_centres"]

#: Sample rate of the OpenL3 audio networks (Hz); window counts are defined at this rate.
SAMPLE_RATE = 48000
#: Length of one analysis window in samples (1 s).
WINDOW_SAMPLES = SAMPLE_RATE


def hop_length(hop_size: float) -> int:
    """Hop between windows in samples at 48 kHz, truncated as openl3 does.

    Parameters
    ----------
    hop_size : float
        Hop between windows in seconds.

    Returns
    -------
    hop : int
        ``int(hop_size * 48000)``.

    Examples
    --------
    >>> hop_length(0.1), hop_length(0.29)  # 0.29 * 48000 is 13919.999... in binary
    (4800, 13919)
    """
    return int(hop_size * SAMPLE_RATE)


def window_count(n_samples: int, hop_size: float, center: bool = True) -> int:
    """Number of OpenL3 windows for a signal of ``n_samples`` samples at 48 kHz.

    ``1 + ceil((length - 48000) / hop)`` on the (centred) length, at least 1.

    Parameters
    ----------
    n_samples : int
        Length of the signal in samples at 48 kHz.
    hop_size : float
        Hop between windows in seconds.
    center : bool, default=True
        Whether half a window of zeros is prepended (openl3's ``center``).

    Returns
    -------
    n_windows : int
        Number of windows, at least 1.

    Examples
    --------
    >>> window_count(480000, 0.1)   # a 10-s TAU clip
    96
    >>> window_count(144000, 0.5, center=False)
    5
    >>> window_count(100, 0.1)
    1
    """
    length = int(n_samples) + (WINDOW_SAMPLES // 2 if center else 0)
    if length <= WINDOW_SAMPLES:
        return 1
    return 1 + math.ceil((length - WINDOW_SAMPLES) / hop_length(hop_size))


def window_centres(n_windows: int, hop_size: float, center: bool = True) -> np.ndarray:
    """Centre time (s) of each window: ``k * hop_size``, plus 0.5 s without ``center``.

    With ``center=True`` these are also openl3's timestamps.

    Parameters
    ----------
    n_windows : int
        Number of windows.
    hop_size : float
        Hop between windows in seconds.
    center : bool, default=True
        Whether the windows were centred (half a window of zeros prepended).

    Returns
    -------
    centres : ndarray of shape (n_windows,)
        Centre of each window in seconds from the start of the signal.

    Examples
    --------
    >>> window_centres(3, 0.1).round(6).tolist()
    [0.0, 0.1, 0.2]
    >>> window_centres(2, 0.5, center=False).tolist()
    [0.5, 1.0]
    """
    times = np.arange(n_windows) * float(hop_size)
    return times if center else times + 0.5
