"""Type stubs of rulelab._native, the Rust part of the package (python/src/lib.rs).
Its functions take strings and numbers and return JSON text; the modules of
``rulelab`` wrap them."""

from typing import Callable, List, Optional

Progress = Optional[Callable[[int, int, str], None]]

__version__: str

def devices() -> str: ...
def check(
    families: List[str],
    device_name: Optional[str],
    seed: Optional[int] = None,
    progress: Progress = None,
) -> str: ...
def toml_from_json(text: str) -> str: ...
def run_study(
    family: str,
    out: str,
    text: Optional[str] = None,
    path: Optional[str] = None,
    device_name: Optional[str] = None,
    shard: Optional[str] = None,
    resume: bool = False,
    yes: bool = False,
    progress: Progress = None,
) -> str: ...
def merge(dirs: List[str], out: str) -> str: ...
def control_rates(
    gamma: List[float],
    h: List[float],
    eta: float = 1.0,
    k: float = 1.0,
    g: Optional[List[float]] = None,
) -> str: ...
def control_horizon(dir: str) -> str: ...
def infer_simulate(
    rule: str,
    animals: int,
    out: str,
    trials: int = 2000,
    seed: int = 0,
    alpha: Optional[List[float]] = None,
    beta: Optional[float] = None,
    weight_noise: float = 0.0,
    kappa: Optional[float] = None,
) -> None: ...
def fit_defaults() -> str: ...
def infer_fit(
    train: str,
    out: str,
    model: str = "dnn",
    test: Optional[str] = None,
    ibl: bool = False,
    options: str = "{}",
    bootstrap: int = 0,
    device_name: Optional[str] = None,
    progress: Progress = None,
) -> str: ...
def infer_cv(
    data: str,
    out: str,
    models: str = "dnn,rnn,reinforce_base",
    folds: int = 5,
    ibl: bool = False,
    options: str = "{}",
    device_name: Optional[str] = None,
    progress: Progress = None,
) -> str: ...
def infer_inspect(path: str, ibl: bool = False) -> str: ...
