"""The theta-gated hippocampal model: experiments (latents, pathint, transfer) for every
model of a config's grid, many models side by side."""

from __future__ import annotations

import os
from typing import Optional, Union

from ._common import Config, Run, Table, run_study

__all__ = ["run", "HippoRun"]


class HippoRun(Run):
    """A hippocampal run: ``.results`` (a row per model) and ``.losses`` (the monitor
    each simulated second and the test curves)."""

    @property
    def losses(self) -> Optional[Table]:
        """losses.csv (the same table as ``.trajectories``)."""
        return self.trajectories


def run(
    config: Config,
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    device: Optional[str] = None,
    shard: Optional[str] = None,
    resume: bool = False,
    yes: bool = False,
    progress: bool = True,
) -> HippoRun:
    """Runs an experiment for every model of the config's grid (``rulelab hippo run``;
    see examples/hippo/). Arguments as :func:`rulelab.sweep`."""
    return run_study("hippo", config, out, device, shard, resume, yes, progress, "models", HippoRun)
