"""The control problem behind the learning rules: closed-form rates, optimal paths by
batched L-BFGS, and rates measured from a horizon sweep."""

from __future__ import annotations

import os
from typing import Optional, Sequence, Union

from ._common import Config, Run, Table, command, frame, run_study

__all__ = ["rates", "paths", "horizon"]


def rates(
    gamma: Sequence[float],
    h: Sequence[float],
    eta: float = 1.0,
    k: float = 1.0,
    g: Optional[Sequence[float]] = None,
) -> Table:
    """The optimal feedback's rate on a diagonal quadratic, per discount and coordinate
    (``rulelab control rates``): a row per (gamma, h) with g, rate r, the Riccati
    coefficient p and the discounted cost j_inf from a unit displacement.

    Args:
        gamma: discounts γ.
        h: curvatures h_i.
        eta: inverse mass η.
        k: the loss's weight.
        g: metric g_i per coordinate (default 1).
    """
    reply = command(
        ["control", "rates"],
        {
            "gamma": [float(x) for x in gamma],
            "h": [float(x) for x in h],
            "eta": float(eta),
            "k": float(k),
            "g": None if g is None else [float(x) for x in g],
        },
    )
    return frame(reply["rows"])


def paths(
    config: Config,
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    device: Optional[str] = None,
    shard: Optional[str] = None,
    resume: bool = False,
    yes: bool = False,
    progress: bool = True,
) -> Run:
    """Optimal paths by batched L-BFGS from a config (``rulelab control path``; see
    examples/control/). ``.results`` is paths.csv (a row per path), ``.trajectories``
    points.csv. Arguments as :func:`rulelab.sweep`."""
    return run_study("control", config, out, device, shard, resume, yes, progress, "paths", Run)


def horizon(dir: Union[str, "os.PathLike[str]"]) -> Table:
    """Rates measured from a finished horizon sweep's directory
    (examples/sweeps/horizon.toml) beside the closed form, a row per γ; draws
    DIR/horizon.svg and .png (``rulelab control horizon``)."""
    return frame(command(["control", "horizon"], {"dir": os.fspath(dir)}))
