"""Learning-rule inference: simulate ground-truth learners, fit a network learning rule
(dnn, or the history-reading rnn) to choices under a GLM policy by truncated BPTT,
cross-validate models by held-out animal, sweep fits over a grid.

Trial tables have the columns animal, session, trial, stimulus, choice (0 left, 1
right, empty: no response) and correct_side (reward optional). A table given as a
DataFrame is written to the output directory first; give the simulation's file path
instead to score the fit against the truth (its .truth.csv and .sim.json sidecars).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from ._common import (
    Config,
    Run,
    Table,
    close,
    command,
    defaults,
    out_dir,
    picture,
    progress_bar,
    read_table,
    run_study,
    write_table,
)

__all__ = ["simulate", "fit", "cv", "sweep", "inspect", "Fit", "CrossValidation"]

PathLike = Union[str, "os.PathLike[str]"]
Data = Union[PathLike, Any]
"""A trial table: a file's path, a DataFrame, or a dict of columns."""


# The simulation's defaults, read from the library (written once, there).
_SIM: Dict[str, Any] = defaults(["infer", "simulate"])


def simulate(
    rule: str,
    animals: int,
    trials: int = _SIM["trials"],
    seed: int = _SIM["seed"],
    alpha: Optional[Tuple[float, float]] = None,
    beta: Optional[float] = None,
    weight_noise: float = _SIM["weight_noise"],
    kappa: Optional[float] = None,
    out: Optional[PathLike] = None,
    force: bool = False,
) -> Table:
    """Animals learning by a known rule under the GLM policy (the spec's default
    simulation: 17 stimuli, w_0 = (−2, b), α = (2^−6, 0)); ``rulelab infer simulate``.

    Args:
        rule: reinforce, reinforce_base, reward_max, predict_max or reinforce_history.
        animals, trials, seed: the simulation's size and seed.
        alpha: learning rates on (stimulus, bias).
        beta: reinforce_base's baseline β.
        weight_noise: σ of a random walk on the weights per trial.
        kappa: reinforce_history's κ (refused for other rules).
        out: the CSV file to write (beside it FILE.truth.csv and FILE.sim.json); None
            for a temporary one.
        force: replace ``out`` and its sidecars when they exist (refused otherwise).

    Returns:
        the trials as a table (the file's contents).
    """
    path = Path(out) if out is not None else out_dir(None) / "sim.csv"
    command(
        ["infer", "simulate"],
        {
            "rule": rule,
            "animals": animals,
            "out": str(path),
            "trials": trials,
            "seed": seed,
            "alpha": None if alpha is None else [float(a) for a in alpha],
            "beta": beta,
            "weight_noise": weight_noise,
            "kappa": kappa,
            "force": force,
        },
    )
    return read_table(path)


def inspect(path: PathLike, ibl: bool = False) -> Dict[str, int]:
    """A trial table as the fits read it: animals, trials with a response, dropped."""
    summary: Dict[str, int] = command(["infer", "inspect"], {"file": os.fspath(path), "ibl": ibl})
    return summary


# The network fits' settings, spelled out in fit's and cv's signatures (for help()) with
# the library's defaults, read from it: they are written once, in the library.
_FIT: Dict[str, Any] = defaults(["infer", "fit"], heading="Network fit")
FIT_OPTIONS = tuple(_FIT)


def _options(arguments: Dict[str, Any]) -> Dict[str, Any]:
    """The fit options among a call's arguments, as the library's command reads them."""
    given = {name: arguments[name] for name in FIT_OPTIONS}
    if not isinstance(given["init"], str):
        given["init"] = ",".join(repr(float(w)) for w in given["init"])
    return given


def _data_file(data: Data, out: Path, name: str) -> str:
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    out.mkdir(parents=True, exist_ok=True)
    return os.fspath(write_table(data, out / name))


class Fit:
    """A fit's report, read from its directory.

    Attributes:
        out: the directory; metrics: metrics.json as a dict (train_ll, test_ll per
            trial, truth's and rule recovery on simulated data, settings, timings).
    """

    def __init__(self, out: Path, metrics: Dict[str, Any]):
        self.out = out
        self.metrics = metrics

    def _table(self, name: str) -> Optional[Table]:
        path = self.out / name
        return read_table(path) if path.exists() else None

    @property
    def rule_grid(self) -> Table:
        """The fitted rule's mean update Δw at a grid of states (and the truth's, on
        simulated data; the bootstrap's band with ``bootstrap=``)."""
        return self._table("rule_grid.csv")

    @property
    def weights(self) -> Table:
        """The inferred weights per training animal and trial."""
        return self._table("weights.csv")

    @property
    def epochs(self) -> Table:
        """Training log-likelihood and learning rate per epoch."""
        return self._table("epochs.csv")

    @property
    def restarts(self) -> Optional[Table]:
        """Every restart's likelihoods (``restarts > 1``), else None."""
        return self._table("restarts.csv")

    @property
    def rule_history(self) -> Optional[Table]:
        """The rnn's rule at fixed states after different recent histories, else None."""
        return self._table("rule_history.csv")

    def _repr_png_(self) -> Optional[bytes]:
        """fit.png (the rule against the truth, the curves), which notebooks show."""
        return picture(self.out / "fit.png")

    def __repr__(self) -> str:
        return f"<rulelab.infer.Fit {self.out}>"


def fit(
    data: Data,
    model: str = "dnn",
    test: Optional[Data] = None,
    *,
    ibl: bool = False,
    hidden: Optional[int] = _FIT["hidden"],
    layers: Optional[int] = _FIT["layers"],
    gru: Optional[int] = _FIT["gru"],
    skip: bool = _FIT["skip"],
    epochs: int = _FIT["epochs"],
    batch: int = _FIT["batch"],
    trunc: int = _FIT["trunc"],
    lr: float = _FIT["lr"],
    decay: float = _FIT["decay"],
    init: Union[str, Tuple[float, float]] = _FIT["init"],
    seed: int = _FIT["seed"],
    restarts: int = _FIT["restarts"],
    bootstrap: int = 0,
    out: Optional[PathLike] = None,
    device: Optional[str] = None,
    progress: bool = True,
) -> Fit:
    """Fits the dnn model (a GLM policy whose weights learn by an MLP rule) or the rnn
    (the MLP reads a GRU's state) by truncated BPTT; ``rulelab infer fit``.

    Args:
        data: the training animals (a path, a DataFrame or a dict of columns).
        model: "dnn" or "rnn".
        test: held-out animals, scored after the fit.
        ibl: the tables are IBL trials tables.
        hidden, layers: the rule's MLP (default 64 × 3 for the dnn, 32 × 2 for the rnn).
        gru, skip: the rnn's GRU units (default 32), and whether its MLP also reads the
            trial's inputs.
        epochs, batch, trunc, lr, decay: the optimisation (animals per step, trials per
            truncation window, Adam's rate and its factor every 5 epochs).
        init: w_0 "per-animal" (fitted, trained), "zeros" or (w_stim, w_bias).
        seed: the initialisation and batches; restarts: fits side by side, the best
            reported.
        bootstrap: refits on resampled animals for a band on the rule.
        out: the report's directory (new); None for a temporary one.
        device: "auto", "gpu" or "cpu"; None: RULELAB_DEVICE, else "auto".
        progress: show a progress bar over the epochs.

    Raises:
        ConfigError: a bad setting or table (the message names it).
        KeyboardInterrupt: Ctrl-C (a fit does not resume; nothing is written).
    """
    options = _options(locals())
    out = out_dir(out)
    train = _data_file(data, out, "train.csv")
    test_file = None if test is None else _data_file(test, out, "test.csv")
    report = progress_bar(progress, "epochs")
    try:
        metrics = command(
            ["infer", "fit"],
            {"train": train, "out": str(out), "model": model, "test": test_file,
             "ibl": ibl, "bootstrap": bootstrap, **options},
            device=device, progress=report,
        )
    finally:
        close(report)
    return Fit(out, metrics)


class CrossValidation:
    """A cross-validation's report.

    Attributes:
        out: the directory (cv.csv, comparison.csv, cv.svg/png, manifest.json).
    """

    def __init__(self, out: Path):
        self.out = out

    @property
    def scores(self) -> Table:
        """cv.csv: a row per model and fold, the held-out log-likelihood per trial."""
        return read_table(self.out / "cv.csv")

    @property
    def comparison(self) -> Table:
        """comparison.csv: each pair's mean difference (A − B), SE and folds A won."""
        return read_table(self.out / "comparison.csv")

    @property
    def manifest(self) -> Dict[str, Any]:
        manifest: Dict[str, Any] = json.loads((self.out / "manifest.json").read_text())
        return manifest

    def _repr_png_(self) -> Optional[bytes]:
        """cv.png (each model's held-out score per fold), which notebooks show."""
        return picture(self.out / "cv.png")

    def __repr__(self) -> str:
        return f"<rulelab.infer.CrossValidation {self.out}>"


def cv(
    data: Data,
    models: Union[str, Sequence[str]] = ("dnn", "rnn", "reinforce_base"),
    folds: int = 5,
    *,
    ibl: bool = False,
    hidden: Optional[int] = _FIT["hidden"],
    layers: Optional[int] = _FIT["layers"],
    gru: Optional[int] = _FIT["gru"],
    skip: bool = _FIT["skip"],
    epochs: int = _FIT["epochs"],
    batch: int = _FIT["batch"],
    trunc: int = _FIT["trunc"],
    lr: float = _FIT["lr"],
    decay: float = _FIT["decay"],
    init: Union[str, Tuple[float, float]] = _FIT["init"],
    seed: int = _FIT["seed"],
    restarts: int = _FIT["restarts"],
    out: Optional[PathLike] = None,
    device: Optional[str] = None,
    progress: bool = True,
) -> CrossValidation:
    """Cross-validates models by held-out animal (``rulelab infer cv``): each of
    dnn, rnn, reinforce_base, psytrack fitted on the other folds and scored on the
    held-out one; simulated data adds the truth's own score. The networks' settings as
    :func:`fit` (``seed`` also deals the folds)."""
    options = _options(locals())
    out = out_dir(out)
    names = models if isinstance(models, str) else ",".join(models)
    report = progress_bar(progress, "folds")
    try:
        command(
            ["infer", "cv"],
            {"data": _data_file(data, out, "data.csv"), "out": str(out), "models": names,
             "folds": folds, "ibl": ibl, **options},
            device=device, progress=report,
        )
    finally:
        close(report)
    return CrossValidation(out)


def sweep(
    config: Config,
    out: Optional[PathLike] = None,
    device: Optional[str] = None,
    shard: Optional[str] = None,
    resume: bool = False,
    yes: bool = False,
    progress: bool = True,
) -> Run:
    """Sweeps fits over a config's grid (``rulelab infer sweep``; see
    examples/infer/sweep.toml): ``.results`` a row per fit, ``.trajectories`` each
    fit's epochs. Arguments as :func:`rulelab.sweep`."""
    return run_study("infer", config, out, device, shard, resume, yes, progress, "fits", Run)
