"""rulelab from Python: the Rust library's sweeps, checks, control, rule inference and
hippocampal model, with results as pandas DataFrames (dicts of numpy arrays without
pandas).

Every call runs the library itself (WGSL kernels through wgpu, or the CPU device) with
the GIL released; it writes the same files as the command line, shows a progress bar
(``progress=False`` for none), and stops at Ctrl-C between chunks with a
KeyboardInterrupt, leaving a directory that ``resume=True`` continues.

    >>> import rulelab
    >>> run = rulelab.sweep("examples/sweeps/quickstart.toml", out="results/quickstart")
    >>> run.results.groupby(["rule", "lr"]).final_loss.median()

Modules: :mod:`rulelab.control`, :mod:`rulelab.infer`, :mod:`rulelab.hippo`.
Errors: :class:`Error` and its kinds :class:`ConfigError`, :class:`DeviceError`,
:class:`FileError`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import tempfile

# Mesa's Vulkan drivers print a warning at every adapter probe without a runtime
# directory; any scratch directory will do (the command line does the same).
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())

from . import _native  # noqa: E402
from ._common import (  # noqa: E402
    Config,
    ConfigError,
    DeviceError,
    Error,
    FileError,
    Run,
    Table,
    close,
    command as _command,
    frame,
    progress_bar,
    read_table,
    run_study,
)

__version__: str = _native.__version__

__all__ = [
    "Error",
    "ConfigError",
    "DeviceError",
    "FileError",
    "Run",
    "CheckResult",
    "devices",
    "check",
    "sweep",
    "merge",
    "load",
    "command",
    "read_table",
    "control",
    "infer",
    "hippo",
]


def devices() -> List[Dict[str, Any]]:
    """Every GPU adapter found: name, backend, device_type, driver, limits (MiB,
    workgroups), features (timestamps, f64, f16, subgroups), ``hardware``, and which
    ``device="gpu"`` (``chosen_for_gpu``) and ``device="auto"`` (``chosen_for_auto``)
    run on. ``device="auto"`` runs on the CPU when no adapter is chosen for it; an empty
    list means no adapter at all."""
    found: List[Dict[str, Any]] = json.loads(_native.devices())
    return found


class CheckResult:
    """What :func:`check` compared.

    Attributes:
        rows: a table with a row per output compared (device, adapter, family, kernel,
            size, worst_rel_err, atol, rtol, passed, error).
        passed: every comparison passed.
        seed: replays the same inputs (``check(seed=...)``).
        ran: cases run per backend; skipped: what did not run, and why.
        compared, failed: counts.
    """

    def __init__(self, reply: Dict[str, Any]):
        self.rows: Table = frame(reply["rows"])
        self.seed: int = reply["seed"]
        self.ran: List[str] = reply["ran"]
        self.skipped: List[str] = reply["skipped"]
        self.compared: int = reply["compared"]
        self.failed: int = reply["failed"]
        self.passed: bool = self.failed == 0

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        verdict = "all passed" if self.passed else f"{self.failed} failed"
        return f"<rulelab.CheckResult {self.compared} outputs compared, {verdict} (seed {self.seed})>"


def check(
    family: Union[None, str, Sequence[str]] = None,
    device: Optional[str] = None,
    seed: Optional[int] = None,
    progress: bool = True,
) -> CheckResult:
    """Runs kernels (and the CPU device) against their f64 references on fresh random
    inputs, as ``rulelab check`` does.

    Args:
        family: a family name or names (rng, optim, landscape, control, infer, hippo);
            None for every family.
        device: "auto" (the CPU device and any GPU adapter, software ones included),
            "gpu" or "cpu"; None: RULELAB_DEVICE, else "auto".
        seed: replays an earlier run's inputs.
        progress: show a progress bar.

    Raises:
        ConfigError: an unknown family, or a selection that compares nothing.
    """
    families = [family] if isinstance(family, str) else list(family or [])
    report = progress_bar(progress, "cases")
    try:
        reply = _native.check(families, device, seed=seed, progress=report)
    finally:
        close(report)
    return CheckResult(json.loads(reply))


def sweep(
    config: Config,
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    device: Optional[str] = None,
    shard: Optional[str] = None,
    resume: bool = False,
    yes: bool = False,
    progress: bool = True,
) -> Run:
    """Runs (or resumes) a landscape sweep, as ``rulelab sweep`` does.

    Args:
        config: a TOML file's path, TOML text, or a dict of the same tables (it runs
            exactly as the file it spells).
        out: the output directory (new, or one to resume); None for a new temporary one.
        device: "auto", "gpu" or "cpu"; None: RULELAB_DEVICE, else "auto".
        shard: "K/N" runs the K-th of N equal parts of the grid (0-based); None runs
            the whole grid, or inside a Slurm array job the task's part.
        resume: continue the run in ``out`` from its last verified chunk.
        yes: run past 2^24 learners or about 4 GB of output.
        progress: show a progress bar.

    Returns:
        a :class:`Run`: ``.results`` (a row per learner), ``.trajectories``,
        ``.manifest``, ``.out``.

    Raises:
        ConfigError: a bad config (the message names the key), or ``out`` holds
            another run.
        KeyboardInterrupt: Ctrl-C; the finished chunks are kept, ``resume=True``
            continues.
    """
    return run_study("landscape", config, out, device, shard, resume, yes, progress, "learners", Run)


def merge(
    dirs: Sequence[Union[str, "os.PathLike[str]"]], out: Union[str, "os.PathLike[str]"]
) -> Run:
    """Joins the shard directories of one run (any family) into ``out``, checking each
    against its manifest (``rulelab merge``); returns the merged :class:`Run`."""
    manifest = json.loads(_native.merge([os.fspath(d) for d in dirs], os.fspath(out)))
    reply = {"manifest": manifest, "notes": [], "ran_chunks": 0,
             "describe": f"{manifest['family']}: {len(dirs)} shards merged"}
    return Run(Path(out), reply)


def load(dir: Union[str, "os.PathLike[str]"]) -> Any:
    """Opens a finished run's directory as the object the call that made it returns:
    a sweep, a control path or a merge as a :class:`Run`, a hippocampal run as a
    ``hippo.HippoRun``, a fit as an ``infer.Fit``, a cross-validation as an
    ``infer.CrossValidation``. The directory is checked first, as ``rulelab plot``
    checks it: complete, not being written, its results what its manifest vouches for.

    Raises:
        ConfigError: the directory is unfinished, damaged, or not a run.
    """
    from . import hippo, infer

    out = Path(dir)
    manifest = json.loads(_native.load(os.fspath(out)))
    kind = manifest.get("kind")
    if kind == "fit":
        return infer.Fit(out, json.loads((out / "metrics.json").read_text()))
    if kind == "cv":
        return infer.CrossValidation(out)
    if kind is not None:
        raise ConfigError(f"{out}: holds a {kind}, which load does not open")
    reply = {"manifest": manifest, "notes": [], "ran_chunks": 0,
             "describe": f"{manifest['family']}: loaded from {out}"}
    cls = hippo.HippoRun if manifest["family"] == "hippo" else Run
    return cls(out, reply)


def command(
    name: str,
    device: Optional[str] = None,
    progress: bool = True,
    **args: Any,
) -> Any:
    """Runs any family's command by its command-line name with keyword arguments
    (``command("control rates", gamma=[0, 1], h=[4, 1])``; ``weight_noise`` for
    ``--weight-noise``) and returns its result as data. The modules' functions wrap the
    common ones; this reaches every one a family registers, with the same checks."""
    report = progress_bar(progress, "steps")
    try:
        return _command(name.split(), args, device=device, progress=report)
    finally:
        close(report)


from . import control, hippo, infer  # noqa: E402  (they import the names above)
