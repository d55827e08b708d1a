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
def load(dir: str) -> str: ...
def command(
    path: List[str],
    args: str,
    device_name: Optional[str] = None,
    progress: Progress = None,
) -> str: ...
def command_args(path: List[str]) -> str: ...
