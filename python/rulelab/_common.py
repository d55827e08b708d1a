"""What every family's entry points share: the exceptions, tables, configs, progress
bars and the result of a study run. The work itself is the Rust library's."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Type, TypeVar, Union

import numpy as np

from . import _native


class Error(Exception):
    """Every error rulelab raises (its message is the library's)."""


class ConfigError(Error, ValueError):
    """A config, an argument or an input file is invalid; the message names the key."""


class DeviceError(Error, RuntimeError):
    """No adapter, or the GPU failed (validation, out of memory, a timeout, a loop
    past the software adapter's budget)."""


class FileError(Error, OSError):
    """Reading or writing a file failed (a full disk says how to resume)."""


# Shown (and pickled) as rulelab.Error, ..., where users catch them.
for _cls in (Error, ConfigError, DeviceError, FileError):
    _cls.__module__ = "rulelab"

Config = Union[str, "os.PathLike[str]", Mapping[str, Any]]
"""A config: a TOML file's path, TOML text, or a dict of the same tables."""

Table = Any
"""A pandas DataFrame when pandas is installed, else a dict of numpy arrays."""


def _pandas() -> Any:
    try:
        import pandas

        return pandas
    except ImportError:
        return None


def read_table(path: Union[str, "os.PathLike[str]"]) -> Table:
    """A CSV file rulelab wrote, as a DataFrame (floats read back to the last bit) or,
    without pandas, a dict of numpy arrays (numbers as float64, true/false as bool,
    text as str)."""
    pd = _pandas()
    if pd is not None:
        # pandas before 3 parses floats fast but not exactly unless asked.
        exact = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
        return pd.read_csv(path, **exact)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    table = {}
    for i, name in enumerate(header):
        column = [r[i] if i < len(r) else "" for r in body]
        if column and all(v in ("true", "false") for v in column):
            table[name] = np.array([v == "true" for v in column])
            continue
        try:
            table[name] = np.array([float(v) if v != "" else np.nan for v in column])
        except ValueError:
            table[name] = np.array(column)
    return table


def frame(rows: List[Dict[str, Any]]) -> Table:
    """Records (JSON rows from the library) as a table."""
    pd = _pandas()
    if pd is not None:
        return pd.DataFrame(rows)
    names = list(rows[0]) if rows else []
    return {n: np.array([r[n] for r in rows]) for n in names}


def write_table(data: Any, path: Path) -> Path:
    """A DataFrame or a dict of columns as the CSV file the library reads."""
    if hasattr(data, "to_csv"):
        data.to_csv(path, index=False)
        return path
    if isinstance(data, Mapping):
        names = list(data)
        columns = [list(data[n]) for n in names]
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(names)
            w.writerows(zip(*columns))
        return path
    raise TypeError(f"expected a DataFrame, a dict of columns or a path, got {type(data).__name__}")


def out_dir(out: Optional[Union[str, "os.PathLike[str]"]]) -> Path:
    """The output directory: the one given, or a new temporary one."""
    if out is None:
        return Path(tempfile.mkdtemp(prefix="rulelab-"))
    return Path(out)


def config_args(config: Config) -> Dict[str, str]:
    """A config as the library takes it: a dict becomes the TOML it spells (so it runs
    exactly as that file), TOML text (anything with an '=') stays text, else a path."""
    if isinstance(config, Mapping):
        return {"text": _native.toml_from_json(json.dumps(config))}
    if isinstance(config, os.PathLike):
        return {"path": os.fspath(config)}
    if isinstance(config, str):
        return {"text": config} if "=" in config else {"path": config}
    raise TypeError(f"a config is a path, TOML text or a dict, not {type(config).__name__}")


class ProgressBar:
    """The library's progress callback, (done, total, note), drawn as a tqdm bar (a
    widget in notebooks, a line on a terminal) from the first report, when the total
    is known."""

    def __init__(self, unit: str):
        self.unit = unit
        self.bar: Any = None

    def __call__(self, done: int, total: int, note: str) -> None:
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total or None, initial=done, unit=self.unit, dynamic_ncols=True)
        if total and self.bar.total != total:
            self.bar.total = total
        self.bar.n = done
        if note and note != self.unit:
            self.bar.set_postfix_str(note, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_bar(progress: bool, unit: str) -> Optional[ProgressBar]:
    """A bar for a call with ``progress=True``, else None (the library draws nothing)."""
    return ProgressBar(unit) if progress else None


def close(bar: Optional[ProgressBar]) -> None:
    if bar is not None:
        bar.close()


def picture(path: Path) -> Optional[bytes]:
    """A PNG's bytes for a notebook to show, or None when it was not drawn."""
    return path.read_bytes() if path.exists() else None


class Run:
    """A finished study run: its directory, manifest and tables.

    Attributes:
        out: the output directory (resumable, mergeable like the command line's).
        manifest: manifest.json as a dict (config, device, timings, chunk hashes).
        notes: what the run found and repaired on the way.
        describe: what ran where, in one line.
        best: the best setting ({"setting", "quantity", "median", "seeds", "text"}), or
            None (an unfinished or loaded run, or no finite result).
    """

    def __init__(self, out: Path, reply: Dict[str, Any]):
        self.out = out
        self.manifest: Dict[str, Any] = reply["manifest"]
        self.notes: List[str] = reply["notes"]
        self.describe: str = reply["describe"]
        self.ran_chunks: int = reply["ran_chunks"]
        self.best: Optional[Dict[str, Any]] = reply.get("best")

    @property
    def results(self) -> Table:
        """The results file: a row per learner (model, fit, path), the grid's axes first."""
        return read_table(self.out / self.manifest["results_file"])

    @property
    def trajectories(self) -> Optional[Table]:
        """The series file (loss curves, losses, path points), or None when the run
        recorded none."""
        path = self.out / self.manifest["series_file"]
        return read_table(path) if path.exists() else None

    def _repr_png_(self) -> Optional[bytes]:
        """The run's summary picture, which notebooks show for a Run."""
        return picture(self.out / "summary.png")

    def __repr__(self) -> str:
        return f"<rulelab.Run {self.out} ({self.manifest['grid_size']} {self.manifest['family']})>"


R = TypeVar("R", bound=Run)


def run_study(
    family: str,
    config: Config,
    out: Optional[Union[str, "os.PathLike[str]"]],
    device: Optional[str],
    shard: Optional[str],
    resume: bool,
    yes: bool,
    progress: bool,
    unit: str,
    cls: Type[R],
) -> R:
    """Runs (or resumes) a study of `family` and returns its result as `cls`."""
    out = out_dir(out)
    report = progress_bar(progress, unit)
    try:
        reply = _native.run_study(
            family,
            str(out),
            device_name=device,
            shard=shard,
            resume=resume,
            yes=yes,
            progress=report,
            **config_args(config),
        )
    finally:
        close(report)
    return cls(out, json.loads(reply))


def command(
    path: List[str],
    args: Dict[str, Any],
    device: Optional[str] = None,
    progress: Any = None,
) -> Any:
    """Runs the library's family command ``rulelab <path>`` with ``args`` (a value of
    None is not given: the library's default holds) and returns its result as data."""
    reply = json.loads(
        _native.command(path, json.dumps(args), device_name=device, progress=progress)
    )
    return reply["value"]


def defaults(path: List[str], heading: Optional[str] = None) -> Dict[str, Any]:
    """The library's defaults of the command ``rulelab <path>``'s arguments (those under
    ``heading`` when given), by their Python names."""
    return {
        a["name"].replace("-", "_"): a["default"]
        for a in json.loads(_native.command_args(path))
        if heading is None or a["heading"] == heading
    }
