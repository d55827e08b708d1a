"""The Python package against the command line and the library: same results, every
family on every device, the library's errors as the package's exceptions, and a
Ctrl-C that leaves a directory resume=True continues."""

import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import rulelab
from rulelab import _common, _native

QUICKSTART = "examples/sweeps/quickstart.toml"


def same_files(a: Path, b: Path, *names: str) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_the_quickstart_through_python_is_the_cli_s(repo, cli, tmp_path):
    """examples/python/quickstart.py writes what `rulelab sweep` writes, every column of
    every row, and its tables read back to the last bit."""
    cli("sweep", repo / QUICKSTART, "--out", tmp_path / "cli", "--device", "cpu")
    env = dict(os.environ, RULELAB_DEVICE="cpu", MPLBACKEND="Agg")
    p = subprocess.run(
        [sys.executable, repo / "examples/python/quickstart.py", tmp_path / "py"],
        capture_output=True, text=True, env=env,
    )
    assert p.returncode == 0, p.stderr
    same_files(tmp_path / "cli", tmp_path / "py", "results.csv", "trajectories.csv")
    assert (tmp_path / "py/quickstart.png").stat().st_size > 10_000
    run = rulelab.sweep(repo / QUICKSTART, out=tmp_path / "py", resume=True, device="cpu", progress=False)
    want = rulelab.read_table(tmp_path / "cli/results.csv")
    assert len(want) == 256
    pdt.assert_frame_equal(run.results, want, check_exact=True)
    assert run.manifest["complete"] and run.manifest["device"] == "cpu"
    assert run.ran_chunks == 0 and "already complete" in run.notes[0]


def test_a_dict_config_is_its_toml_file(repo, tmp_path):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 on
    text = (repo / QUICKSTART).read_text()
    as_dict = tomllib.loads(text)
    a = rulelab.sweep(text, out=tmp_path / "text", device="cpu", progress=False)
    b = rulelab.sweep(as_dict, out=tmp_path / "dict", device="cpu", progress=False)
    assert a.manifest["config_hash"] == b.manifest["config_hash"]
    same_files(a.out, b.out, "results.csv", "trajectories.csv")
    # A config's path, as str or Path, is the same run too.
    c = rulelab.sweep(str(repo / QUICKSTART), out=tmp_path / "path", device="cpu", progress=False)
    same_files(a.out, c.out, "results.csv")


def test_shards_merge_into_the_whole(repo, tmp_path):
    parts = [rulelab.sweep(repo / QUICKSTART, out=tmp_path / f"s{k}", shard=f"{k}/3", device="cpu",
                           progress=False) for k in range(3)]
    whole = rulelab.sweep(repo / QUICKSTART, out=tmp_path / "whole", device="cpu", progress=False)
    merged = rulelab.merge([p.out for p in parts], tmp_path / "merged")
    assert merged.manifest["complete"] and len(merged.results) == 256
    same_files(whole.out, merged.out, "results.csv", "trajectories.csv")


def test_load_opens_a_finished_run_as_the_call_returned_it(repo, tmp_path):
    run = rulelab.sweep(repo / QUICKSTART, out=tmp_path / "sweep", device="cpu", progress=False)
    assert run.best["quantity"] == "final_loss" and run.best["seeds"] == 4
    medians = run.results.groupby(list(run.best["setting"])).final_loss.median()
    assert run.best["median"] == pytest.approx(medians.min(), rel=1e-12)
    loaded = rulelab.load(run.out)
    assert type(loaded) is rulelab.Run and loaded.manifest == run.manifest
    pdt.assert_frame_equal(loaded.results, run.results, check_exact=True)
    trials = tmp_path / "sim.csv"
    rulelab.infer.simulate("reinforce", animals=4, trials=120, seed=3, out=trials)
    fit = rulelab.infer.fit(trials, out=tmp_path / "fit", hidden=4, layers=1, epochs=2, batch=2,
                            trunc=40, device="cpu", progress=False)
    again = rulelab.load(fit.out)
    assert isinstance(again, rulelab.infer.Fit) and again.metrics == fit.metrics
    # A results file that is not what the manifest vouches for is refused, not read.
    results = run.out / "results.csv"
    results.write_text(results.read_text().replace("adam", "adaM", 1))
    with pytest.raises(rulelab.ConfigError, match="vouches"):
        rulelab.load(run.out)
    with pytest.raises(rulelab.ConfigError, match="no manifest"):
        rulelab.load(tmp_path)


def test_without_pandas_tables_are_dicts_of_numpy_arrays(repo, tmp_path, monkeypatch):
    run = rulelab.sweep(repo / QUICKSTART, out=tmp_path, device="cpu", progress=False)
    frame = run.results
    monkeypatch.setattr(_common, "_pandas", lambda: None)
    table = run.results
    assert list(table) == list(frame.columns)
    for name in frame.columns:
        if frame[name].dtype.kind in "iufb":
            assert table[name].dtype.kind == ("b" if frame[name].dtype.kind == "b" else "f")
            np.testing.assert_array_equal(table[name], frame[name].to_numpy())
        else:
            assert [str(v) for v in table[name]] == [str(v) for v in frame[name]], name


def small_configs(tmp_path: Path):
    """A small config of every family that runs a study."""
    rulelab.infer.simulate("reinforce", animals=6, trials=150, seed=1, out=tmp_path / "train.csv")
    rulelab.infer.simulate("reinforce", animals=3, trials=150, seed=2, out=tmp_path / "test.csv")
    return {
        "landscape": {
            "landscape": {"kind": "quadratic", "dim": 16, "noise": "isotropic", "noise_sigma": 0.01},
            "rule": {"kind": "adam"},
            "grid": {"lr": [1e-3, 1e-2], "seed": {"range": [0, 2]}},
            "run": {"steps": 100, "record_every": 10},
        },
        "control": {
            "landscape": {"kind": "double_well", "dim": 2},
            "path": {"n": 12, "t_end": 2.0, "start": [-0.6, 0.55], "end": [1.0625, 0.0]},
            "grid": {"gamma": [0.1, 1.0]},
        },
        "hippo": {
            "experiment": {"kind": "latents"},
            "model": {"minutes": 0.1},
            "grid": {"seed": [1, 2]},
        },
        "infer": {
            "data": {"train": str(tmp_path / "train.csv"), "test": str(tmp_path / "test.csv")},
            "fit": {"model": "dnn", "trunc": 50, "epochs": 2, "batch": 3},
            "grid": {"hidden": [4, 8], "layers": [1]},
        },
    }


def test_every_family_runs_on_the_device(device, tmp_path):
    configs = small_configs(tmp_path)
    runs = {
        "landscape": rulelab.sweep(configs["landscape"], out=tmp_path / "s", device=device, progress=False),
        "control": rulelab.control.paths(configs["control"], out=tmp_path / "p", device=device, progress=False),
        "hippo": rulelab.hippo.run(configs["hippo"], out=tmp_path / "h", device=device, progress=False),
        "infer": rulelab.infer.sweep(configs["infer"], out=tmp_path / "i", device=device, progress=False),
    }
    for family, run in runs.items():
        assert run.manifest["family"] == family and run.manifest["complete"]
        assert run.manifest["device"] == device
        results = run.results
        assert len(results) == run.manifest["grid_size"] > 0, family
        numbers = results.select_dtypes("number")
        assert numbers.shape[1] > 1 and np.isfinite(numbers["learner"]).all(), family
    assert len(runs["hippo"].losses) > 0
    assert len(runs["control"].trajectories) > 0

    fit = rulelab.infer.fit(tmp_path / "train.csv", test=tmp_path / "test.csv", hidden=4, layers=1,
                            epochs=2, batch=3, trunc=50, device=device, out=tmp_path / "fit",
                            progress=False)
    assert np.isfinite(fit.metrics["test_ll"]) and fit.metrics["test_ll"] < 0
    assert {"s", "y", "w_stim", "dw_stim_fitted", "dw_stim_true"} <= set(fit.rule_grid.columns)
    assert len(fit.weights) == 6 * 150 and len(fit.epochs) == 2
    cv = rulelab.infer.cv(tmp_path / "train.csv", models=["dnn", "reinforce_base"], folds=3, hidden=4,
                          layers=1, epochs=1, batch=2, trunc=50, device=device,
                          out=tmp_path / "cv", progress=False)
    assert set(cv.scores.model) == {"dnn", "reinforce_base", "truth"}
    assert len(cv.comparison) == 3 and cv.manifest["folds"] == 3
    for shown in (runs["landscape"], runs["hippo"], fit, cv):  # what a notebook draws
        assert shown._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n", shown
    checked = rulelab.check("rng", device=device, progress=False)
    assert checked.passed and checked.compared > 0
    assert set(checked.rows.device) == {device}


def test_a_data_frame_fits_as_its_file(tmp_path):
    trials = rulelab.infer.simulate("reinforce", animals=4, trials=120, seed=3, out=tmp_path / "sim.csv")
    kw = dict(hidden=4, layers=1, epochs=2, batch=2, trunc=40, device="cpu", progress=False)
    from_file = rulelab.infer.fit(tmp_path / "sim.csv", out=tmp_path / "a", **kw)
    from_frame = rulelab.infer.fit(trials, out=tmp_path / "b", **kw)
    assert from_frame.metrics["train_ll"] == from_file.metrics["train_ll"]
    pdt.assert_frame_equal(from_frame.weights, from_file.weights, check_exact=True)


def test_the_controls_closed_forms(cli):
    rates = rulelab.control.rates(gamma=[0, 1, 10], h=[4, 1], eta=1.5, k=0.5)
    want = json.loads(cli("control", "rates", "--gamma", "0,1,10", "--h", "4,1", "--eta", "1.5",
                          "--k", "0.5", "--json").stdout)["rows"]
    pdt.assert_frame_equal(rates, pd.DataFrame(want)[list(rates.columns)], check_exact=True)


def test_horizon_rates_are_the_cli_s(repo, cli, tmp_path):
    run = rulelab.sweep(repo / "examples/sweeps/horizon.toml", out=tmp_path / "h", device="cpu",
                        progress=False)
    rows = rulelab.control.horizon(run.out)
    want = json.loads(cli("control", "horizon", run.out, "--json").stdout)
    assert len(rows) == 17
    pdt.assert_frame_equal(rows, pd.DataFrame(want), check_exact=True)
    assert (run.out / "horizon.png").exists()
    with pytest.raises(rulelab.Error):
        rulelab.control.horizon(tmp_path / "h-missing")


def test_the_fit_defaults_are_the_library_s():
    for path, fns in ((["infer", "fit"], (rulelab.infer.fit, rulelab.infer.cv)),
                      (["infer", "simulate"], (rulelab.infer.simulate,))):
        library = {a["name"].replace("-", "_"): a["default"]
                   for a in json.loads(_native.command_args(path))}
        for fn in fns:
            params = inspect.signature(fn).parameters
            shared = [n for n in params if n in library and params[n].default is not inspect.Parameter.empty]
            assert len(shared) >= 3, fn.__name__
            for name in shared:
                if name not in ("out", "models", "folds", "model", "ibl", "bootstrap"):
                    assert params[name].default == library[name], (fn.__name__, name)


def test_any_registered_command_runs_by_name():
    rows = rulelab.command("control rates", gamma=[0, 1], h=[4, 1])["rows"]
    assert [r["rate"] for r in rows] == list(rulelab.control.rates(gamma=[0, 1], h=[4, 1])["rate"])
    with pytest.raises(rulelab.ConfigError, match="gama"):
        rulelab.command("control rates", gama=[0], h=[1])
    with pytest.raises(rulelab.ConfigError, match="no family's command"):
        rulelab.command("control nothing")


def test_devices_say_where_each_choice_runs():
    found = rulelab.devices()
    if found:
        assert sum(d["chosen_for_gpu"] for d in found) == 1
        assert all(d["hardware"] or not d["chosen_for_auto"] for d in found)


RUN = "[run]\nsteps = 10\n"
BAD = [
    ("[landscape]\nkind = 'quadratic'\ndim = 4\n[rule]\nkind = 'adam'\nlr = -1\n" + RUN, "lr"),
    ("[landscape]\nkind = 'quadratic'\ndim = 4\n[rule]\nkind = 'sgd'\nbeta1 = 0.9\n" + RUN, "beta1"),
    ("[landscape]\nkind = 'saddle'\ndim = 4\n[rule]\nkind = 'adam'\n" + RUN, "kind"),
    ("[landscape]\nkind = 'quadratic'\ndim = 4\n[rule]\nkind = 'adam'\n[grid]\nlr = []\n" + RUN, "lr"),
    ("[landscape]\nkind = 'quadratic'\ndim = 4\n[rule]\nkind = 'adam'\n", "[run]"),
    ("[landscape\nkind = 'quadratic'\n", "config"),
]


@pytest.mark.parametrize("text,key", BAD)
def test_bad_configs_raise_config_error_with_the_library_s_message(cli, tmp_path, text, key):
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(rulelab.ConfigError) as e:
        rulelab.sweep(text, out=tmp_path / "py", device="cpu", progress=False)
    p = cli("sweep", tmp_path / "bad.toml", "--out", tmp_path / "cli", "--device", "cpu", check=False)
    assert p.returncode == 2 and str(e.value) in p.stderr, (str(e.value), p.stderr)
    assert key in str(e.value)
    assert isinstance(e.value, (rulelab.Error, ValueError))
    assert not (tmp_path / "py" / "results.csv").exists()


def test_other_failures_raise_their_kind(tmp_path, monkeypatch):
    with pytest.raises(rulelab.FileError, match="no-such.toml"):
        rulelab.sweep(tmp_path / "no-such.toml", progress=False)
    with pytest.raises(rulelab.ConfigError, match="is not one of auto, gpu, cpu"):
        rulelab.sweep(QUICKSTART, device="tpu", progress=False)
    with pytest.raises(rulelab.ConfigError, match="invalid kappa: has no effect"):
        rulelab.infer.simulate("reinforce", animals=2, kappa=1.0, out=tmp_path / "x.csv")
    with pytest.raises(rulelab.ConfigError, match="gru"):
        rulelab.infer.fit(tmp_path / "x.csv", gru=4, progress=False)
    with pytest.raises(TypeError):
        rulelab.sweep(42)
    # device=None is RULELAB_DEVICE's choice, as on the command line.
    monkeypatch.setenv("RULELAB_DEVICE", "tpu")
    with pytest.raises(rulelab.ConfigError, match="invalid RULELAB_DEVICE"):
        rulelab.sweep(QUICKSTART, progress=False)
    monkeypatch.setenv("RULELAB_DEVICE", "cpu")
    small = {"landscape": {"kind": "quadratic", "dim": 4}, "rule": {"kind": "sgd", "lr": 0.1},
             "run": {"steps": 10}}
    assert rulelab.sweep(small, progress=False).manifest["device"] == "cpu"
    monkeypatch.delenv("RULELAB_DEVICE")
    monkeypatch.setenv("WGPU_ADAPTER_NAME", "no adapter has this name")
    with pytest.raises(rulelab.DeviceError, match="matches no adapter|no GPU adapter"):
        rulelab.check("rng", device="gpu", progress=False)
    # Running into a directory that holds another run is refused, not mixed.
    cfg = {"landscape": {"kind": "quadratic", "dim": 4}, "rule": {"kind": "sgd", "lr": 0.1},
           "run": {"steps": 10}}
    rulelab.sweep(cfg, out=tmp_path / "one", device="cpu", progress=False)
    cfg["rule"]["lr"] = 0.2
    # The library's flags read as the arguments they are in Python.
    with pytest.raises(rulelab.ConfigError, match="invalid out: .* pass resume=True to continue"):
        rulelab.sweep(cfg, out=tmp_path / "one", device="cpu", progress=False)


LONG = {
    "landscape": {"kind": "quadratic", "dim": 256, "noise": "isotropic", "noise_sigma": 0.1},
    "rule": {"kind": "adam"},
    "grid": {"lr": {"logspace": [1e-4, 1e-1, 16]}, "seed": {"range": [0, 24]}},
    "run": {"steps": 3000, "chunk": 16},
}


def test_an_interrupt_leaves_a_resumable_directory(tmp_path):
    """Ctrl-C in a running sweep: KeyboardInterrupt with the library's words, the
    finished chunks kept; resume=True then gives the uninterrupted run's bytes."""
    script = (
        "import json, signal, sys, time, rulelab\n"
        # An interactive Python's handler, even where this test's runner was started
        # in the background with SIGINT ignored (which the child would inherit).
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "try:\n"
        "    rulelab.sweep(json.loads(sys.argv[1]), out=sys.argv[2], device='cpu', progress=False)\n"
        "except KeyboardInterrupt as e:\n"
        "    print('stopped:', e, flush=True)\n"
        "for _ in range(600):\n"
        "    time.sleep(0.1)\n"
    )
    out = tmp_path / "stopped"
    p = subprocess.Popen([sys.executable, "-c", script, json.dumps(LONG), str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        m = out / "manifest.json"
        try:
            if json.loads(m.read_text())["chunks_done"] >= 2:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    said = p.stdout.readline()
    assert said.startswith("stopped: interrupted after") and "resume=True" in said, said
    # Once the call returns, Ctrl-C is Python's own again: it interrupts the waiting.
    start = time.time()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode != 0 and time.time() - start < 30, err
    assert "KeyboardInterrupt" in err, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert 2 <= manifest["chunks_done"] < manifest["chunks_total"]
    with pytest.raises(rulelab.ConfigError, match="pass resume=True"):
        rulelab.sweep(LONG, out=out, device="cpu", progress=False)
    resumed = rulelab.sweep(LONG, out=out, device="cpu", resume=True, progress=False)
    assert resumed.manifest["complete"] and resumed.ran_chunks < manifest["chunks_total"]
    whole = rulelab.sweep(LONG, out=tmp_path / "whole", device="cpu", progress=False)
    same_files(out, whole.out, "results.csv")


def test_long_calls_release_the_gil(tmp_path):
    counted = 0
    done = threading.Event()

    def sweep():
        rulelab.sweep(LONG | {"grid": {"lr": [1e-3], "seed": {"range": [0, 64]}}},
                      out=tmp_path, device="cpu", progress=False)
        done.set()

    t = threading.Thread(target=sweep)
    t.start()
    while not done.is_set():
        counted += 1
        time.sleep(0.001)
    t.join()
    assert counted > 50, counted


def test_progress_is_drawn_and_can_be_turned_off(repo, tmp_path, capsys):
    rulelab.sweep(repo / QUICKSTART, out=tmp_path / "on", device="cpu")
    assert "256/256" in capsys.readouterr().err
    rulelab.sweep(repo / QUICKSTART, out=tmp_path / "off", device="cpu", progress=False)
    assert capsys.readouterr().err == ""


def test_the_rule_inference_walkthrough_runs(repo, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    p = subprocess.run(
        [sys.executable, repo / "examples/python/rule_inference.py", tmp_path, "--device", "cpu",
         "--animals", "12", "--epochs", "2"],
        capture_output=True, text=True, env=env,
    )
    assert p.returncode == 0, p.stderr
    assert "held-out LL" in p.stdout and (tmp_path / "rule.png").stat().st_size > 10_000


def test_the_guide_s_python_block_runs(repo, tmp_path, monkeypatch):
    text = (repo / "docs" / "python.md").read_text()
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert "import rulelab" in block
    (tmp_path / "examples").symlink_to(repo / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RULELAB_DEVICE", "cpu")
    exec(compile(block, "docs/python.md", "exec"), {})
    assert (tmp_path / "results/quickstart/results.csv").exists()


def test_help_shows_the_docstrings():
    for fn in (rulelab.sweep, rulelab.check, rulelab.devices, rulelab.control.rates,
               rulelab.control.paths, rulelab.infer.simulate, rulelab.infer.fit, rulelab.infer.cv,
               rulelab.infer.sweep, rulelab.hippo.run):
        assert fn.__doc__ and len(fn.__doc__) > 80, fn.__name__
    assert (Path(rulelab.__file__).parent / "_native.pyi").exists()
    assert (Path(rulelab.__file__).parent / "py.typed").exists()
