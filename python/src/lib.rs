//! `rulelab._native`: the library's entry points for the Python package, as plain
//! functions of strings and numbers that return JSON. Every decision is the library's;
//! this file converts arguments, releases the GIL around long work, turns Ctrl-C into
//! a request the work honours, and turns the library's errors into the package's
//! exceptions (`rulelab.ConfigError`, ... under `rulelab.Error`, defined in Python).

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use rulelab::gpu::{Backend, DeviceChoice};
use rulelab::sweep::Progress;
use rulelab::Error;
use std::path::{Path, PathBuf};

/// The library's error as the package's exception: a stop at Ctrl-C is a
/// KeyboardInterrupt (with the library's words on how to go on), everything else the
/// class of `rulelab` named after what went wrong.
fn raise(e: Error) -> PyErr {
    let class = match &e {
        // The library's words name the command line's flag; Python's is an argument.
        Error::Interrupted { done, total } => {
            return PyKeyboardInterrupt::new_err(format!(
                "interrupted after {done} of {total} chunks; continue with resume=True"
            ))
        }
        Error::Stopped { .. } => return PyKeyboardInterrupt::new_err(e.to_string()),
        Error::Invalid { .. } => "ConfigError",
        Error::Io { .. } | Error::DiskFull { .. } => "FileError",
        Error::Plot(_) => "Error",
        Error::NoAdapter(_)
        | Error::AdapterNotFound { .. }
        | Error::RequestDevice(_)
        | Error::Shader { .. }
        | Error::Validation(_)
        | Error::OutOfMemory(_)
        | Error::Internal(_)
        | Error::Timeout(_)
        | Error::Poll(_)
        | Error::Map(_)
        | Error::TooLarge { .. }
        | Error::LoopBudget { .. } => "DeviceError",
    };
    let message = python_spelling(&e.to_string());
    Python::attach(|py| {
        match py
            .import("rulelab")
            .and_then(|m| m.getattr(class))
            .and_then(|c| c.call1((message.clone(),)))
        {
            Ok(err) => PyErr::from_value(err),
            Err(import) => import,
        }
    })
}

/// The library's messages name the command line's flags; from Python they are
/// arguments: `--resume` reads resume=True, `--device cpu` device="cpu", and any other
/// `--some-flag` some_flag.
fn python_spelling(message: &str) -> String {
    let message = message
        .replace("--resume", "resume=True")
        .replace("--yes", "yes=True")
        .replace("--device cpu", "device=\"cpu\"");
    let (mut out, mut rest) = (String::new(), message.as_str());
    while let Some(at) = rest.find("--") {
        out.push_str(&rest[..at]);
        let flag = &rest[at + 2..];
        let len = flag
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(flag.len());
        if len == 0 {
            out.push_str("--");
        } else {
            out.push_str(&flag[..len].replace('-', "_"));
        }
        rest = &flag[len..];
    }
    out.push_str(rest);
    out
}

/// Runs long work without the GIL, with Ctrl-C as a request the work honours at its
/// next safe point. A request the work finished before seeing is handed back to
/// Python, which raises KeyboardInterrupt at its next bytecode.
fn run_long<T: Send>(py: Python<'_>, f: impl FnOnce() -> rulelab::Result<T> + Send) -> PyResult<T> {
    let (out, asked) = py.detach(|| rulelab::interrupt::catching(f));
    match out {
        Ok(v) => {
            if asked {
                // SAFETY: PyErr_SetInterrupt only marks SIGINT as arrived; we hold the GIL.
                unsafe { pyo3::ffi::PyErr_SetInterrupt() };
            }
            Ok(v)
        }
        Err(e) => Err(raise(e)),
    }
}

/// A Python callable `progress(done, total, note)` as the library's callbacks call
/// it (with the GIL taken for the call); a failing callback is ignored, the work goes on.
fn reporter(progress: Option<Py<PyAny>>) -> impl Fn(u64, u64, &str) + Send + Sync {
    move |done, total, note| {
        if let Some(p) = &progress {
            Python::attach(|py| {
                let _ = p.call1(py, (done, total, note));
            });
        }
    }
}

/// A device name, or without one `RULELAB_DEVICE`, else auto (as the command line).
fn device(name: Option<&str>) -> PyResult<DeviceChoice> {
    let given = name.map(str::parse).transpose().map_err(raise)?;
    DeviceChoice::resolve(given).map_err(raise)
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("serialises")
}

/// Every adapter found, its limits and features, and which each device choice runs
/// on (JSON list).
#[pyfunction]
fn devices(py: Python<'_>) -> PyResult<String> {
    run_long(py, || rulelab::gpu::devices().map(|d| json(&d)))
}

/// One output compared by a check, or a case that failed to run (`error`).
#[derive(serde::Serialize)]
struct CheckRow {
    device: &'static str,
    adapter: String,
    family: &'static str,
    kernel: String,
    size: usize,
    worst_rel_err: f64,
    atol: f64,
    rtol: f64,
    passed: bool,
    error: String,
}

#[derive(serde::Serialize)]
struct CheckReply {
    seed: u64,
    rows: Vec<CheckRow>,
    ran: Vec<String>,
    skipped: Vec<String>,
    failed: usize,
    compared: usize,
}

/// Every check case of `families` (all when empty) on the backends `device` selects,
/// from inputs seeded by `seed` (fresh when None). JSON: seed, rows, ran, skipped,
/// failed, compared.
#[pyfunction]
#[pyo3(signature = (families, device_name, seed=None, progress=None))]
fn check(
    py: Python<'_>,
    families: Vec<String>,
    device_name: Option<&str>,
    seed: Option<u64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let choice = device(device_name)?;
    let report = reporter(progress);
    run_long(py, move || {
        use rulelab::check;
        let cases = rulelab::registry::cases(&families)?;
        let seed = seed.unwrap_or_else(check::seed);
        let (backends, skipped) = check::backends(choice)?;
        let total = (cases.len() * backends.len()) as u64;
        let mut rows = Vec::new();
        let mut done = 0;
        let mut sum = check::run_all(&cases, &backends, seed, |b, case, result| {
            done += 1;
            report(done, total, &format!("{} {}", b.kind(), case.family));
            let row = |family,
                       kernel: &str,
                       size,
                       report: Option<&rulelab::check::Report>,
                       error: String| CheckRow {
                device: b.kind(),
                adapter: b.describe(),
                family,
                kernel: kernel.to_string(),
                size,
                worst_rel_err: report.map_or(f64::NAN, |r| r.worst_rel_err),
                atol: report.map_or(f64::NAN, |r| r.tolerance.atol),
                rtol: report.map_or(f64::NAN, |r| r.tolerance.rtol),
                passed: report.is_some_and(|r| r.pass),
                error,
            };
            match result {
                Ok(rs) => rows.extend(
                    rs.iter()
                        .map(|r| row(r.family, &r.kernel, r.size, Some(&r.report), String::new())),
                ),
                Err(Error::LoopBudget { .. }) => {}
                Err(e) => rows.push(row(case.family, &case.name, 0, None, e.to_string())),
            }
        })?;
        sum.skipped.splice(0..0, skipped);
        Ok(json(&CheckReply {
            seed,
            rows,
            ran: sum.ran,
            skipped: sum.skipped,
            failed: sum.failed,
            compared: sum.compared,
        }))
    })
}

/// A config given as JSON (a Python dict) as TOML text, so a dict runs exactly as the
/// file it spells.
#[pyfunction]
fn toml_from_json(text: &str) -> PyResult<String> {
    // Straight from the JSON text into a TOML table, so the keys keep the dict's order
    // (the grid's axes are ordered).
    let table: toml::Table = serde_json::from_str(text).map_err(|e| {
        raise(Error::invalid(
            "config",
            format!("is not a table of TOML values: {e}"),
        ))
    })?;
    // Sections as [headers], everything inside them inline: a table inside a section
    // (an axis's { logspace = [...] }) stays where the dict put it.
    let key = |k: &str| {
        let bare = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if bare {
            k.to_string()
        } else {
            toml::Value::String(k.to_string()).to_string()
        }
    };
    let entries = |t: &toml::Table| -> String {
        t.iter()
            .map(|(k, v)| format!("{} = {v}\n", key(k)))
            .collect()
    };
    let (sections, values): (toml::Table, toml::Table) =
        table.into_iter().partition(|(_, v)| v.is_table());
    let mut text = entries(&values);
    for (name, section) in &sections {
        let section = section.as_table().expect("partitioned");
        text.push_str(&format!("\n[{}]\n{}", key(name), entries(section)));
    }
    Ok(text)
}

/// A study run's arguments, the same for every family.
struct StudyRun {
    text: Option<String>,
    path: Option<PathBuf>,
    out: PathBuf,
    choice: DeviceChoice,
    shard: Option<String>,
    resume: bool,
    yes: bool,
}

impl StudyRun {
    fn run(
        self,
        family: &str,
        report: impl Fn(u64, u64, &str) + Send + Sync + 'static,
    ) -> rulelab::Result<String> {
        let runner = rulelab::registry::study(family)?.runner;
        let shard = self.shard.as_deref();
        let launch = match (self.text, self.path) {
            (Some(t), _) => (runner.launch)(t, shard, self.choice)?,
            (None, Some(p)) => runner.launch_file(&p, shard, self.choice)?,
            (None, None) => return Err(Error::invalid("config", "neither text nor a path")),
        };
        let learners = runner.learners;
        let progress = Progress::Call(Box::new(move |d, t| report(d, t, learners)));
        let r = launch.run(&self.out, self.resume, self.yes, progress)?;
        Ok(json(&serde_json::json!({
            "describe": launch.describe(), "manifest": r.manifest, "notes": r.notes,
            "ran_chunks": r.ran_chunks,
        })))
    }
}

/// Runs (or resumes) a study of `family` (landscape, control, infer or hippo) from its
/// config's TOML text or file into `out`. JSON: describe, manifest, notes, ran_chunks.
#[pyfunction]
#[pyo3(signature = (family, out, text=None, path=None, device_name=None, shard=None, resume=false, yes=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn run_study(
    py: Python<'_>,
    family: String,
    out: PathBuf,
    text: Option<String>,
    path: Option<PathBuf>,
    device_name: Option<&str>,
    shard: Option<String>,
    resume: bool,
    yes: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let call = StudyRun {
        text,
        path,
        out,
        choice: device(device_name)?,
        shard,
        resume,
        yes,
    };
    let report = reporter(progress);
    run_long(py, move || call.run(&family, report))
}

/// Joins shard directories of one study into `out` (`rulelab merge`); returns the
/// merged manifest's JSON.
#[pyfunction]
fn merge(py: Python<'_>, dirs: Vec<PathBuf>, out: PathBuf) -> PyResult<String> {
    run_long(py, move || {
        rulelab::sweep::merge::merge(&dirs, &out).map(|m| json(&m))
    })
}

/// The optimal feedback's rates on a diagonal quadratic, per discount and coordinate
/// (JSON rows: gamma, h, g, rate, p, j_inf).
#[pyfunction]
#[pyo3(signature = (gamma, h, eta=1.0, k=1.0, g=None))]
fn control_rates(
    gamma: Vec<f64>,
    h: Vec<f64>,
    eta: f64,
    k: f64,
    g: Option<Vec<f64>>,
) -> PyResult<String> {
    let g = g.unwrap_or_else(|| vec![1.0; h.len()]);
    rulelab::control::closed::rates(eta, k, &gamma, &h, &g)
        .map(|rows| json(&rows))
        .map_err(raise)
}

/// The rates measured from a finished horizon sweep in `dir` beside the closed form
/// (JSON rows); draws DIR/horizon.svg and .png.
#[pyfunction]
fn control_horizon(py: Python<'_>, dir: PathBuf) -> PyResult<String> {
    run_long(py, move || {
        let (cfg, rows) = rulelab::landscape::horizon::measure(&dir)?;
        rulelab::landscape::horizon::draw(&dir, &cfg, &rows)?;
        Ok(json(&rows))
    })
}

/// Simulates animals learning by a known rule into `out` (and its .truth.csv and
/// .sim.json sidecars).
#[pyfunction]
#[pyo3(signature = (rule, animals, out, trials=2000, seed=0, alpha=None, beta=None, weight_noise=0.0, kappa=None))]
#[allow(clippy::too_many_arguments)]
fn infer_simulate(
    py: Python<'_>,
    rule: &str,
    animals: usize,
    out: PathBuf,
    trials: usize,
    seed: u64,
    alpha: Option<Vec<f64>>,
    beta: Option<f64>,
    weight_noise: f64,
    kappa: Option<f64>,
) -> PyResult<()> {
    use rulelab::infer::{simulate, Simulation, TrueRule};
    let rule = TrueRule::from_name(rule).ok_or_else(|| {
        raise(Error::invalid(
            "rule",
            format!("{rule:?} is not one of {}", TrueRule::names().join(", ")),
        ))
    })?;
    run_long(py, move || {
        let sim = Simulation::with(
            rule,
            animals,
            trials,
            seed,
            alpha.as_deref(),
            beta,
            weight_noise,
            kappa,
        )?;
        simulate::write(&sim, &out).map(|_| ())
    })
}

fn fit_options(options: &str) -> PyResult<rulelab::infer::options::FitOptions> {
    serde_json::from_str(options).map_err(|e| raise(Error::invalid("fit options", e.to_string())))
}

/// The fit options' defaults (JSON), the ones `infer fit --help` shows.
#[pyfunction]
fn fit_defaults() -> String {
    json(&rulelab::infer::options::FitOptions::default())
}

/// Fits the dnn or rnn model to `train` (and scores `test`), writing the report into
/// `out`. `options` is JSON of the fit options. Returns metrics.json's JSON.
#[pyfunction]
#[pyo3(signature = (train, out, model="dnn", test=None, ibl=false, options="{}", bootstrap=0, device_name=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn infer_fit(
    py: Python<'_>,
    train: PathBuf,
    out: PathBuf,
    model: &str,
    test: Option<PathBuf>,
    ibl: bool,
    options: &str,
    bootstrap: usize,
    device_name: Option<&str>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    use rulelab::infer::plan;
    let opts = fit_options(options)?;
    let choice = device(device_name)?;
    let model = model.to_string();
    let report = reporter(progress);
    run_long(py, move || {
        let plan = plan::FitPlan::new(&model, &opts, &train, test.as_deref(), ibl)?;
        let backend = Backend::open(choice)?;
        let epochs = plan.cfg.epochs as u64;
        let m = plan.run(bootstrap, &out, &backend, |e| {
            report(
                e.epoch as u64,
                epochs,
                &format!("train LL {:.5}", e.train_ll),
            )
        })?;
        Ok(json(&m))
    })
}

/// Cross-validates `models` (comma-separated) on `data` by held-out animal into
/// `out`. Returns comparison.csv's pairs as JSON.
#[pyfunction]
#[pyo3(signature = (data, out, models="dnn,rnn,reinforce_base", folds=5, ibl=false, options="{}", device_name=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn infer_cv(
    py: Python<'_>,
    data: PathBuf,
    out: PathBuf,
    models: &str,
    folds: usize,
    ibl: bool,
    options: &str,
    device_name: Option<&str>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let opts = fit_options(options)?;
    let choice = device(device_name)?;
    let models = models.to_string();
    let report = reporter(progress);
    run_long(py, move || {
        let plan = rulelab::infer::cv::CvPlan::new(&models, &opts, folds, &data, ibl, &out)?;
        let backend = Backend::open(choice)?;
        // Progress in folds: each model's folds, reported as each set starts.
        let total = (models.split(',').count() * folds) as u64;
        let mut started = 0;
        let pairs = plan.run(&backend, |model, group| {
            let names: Vec<String> = group.iter().map(|f| (f + 1).to_string()).collect();
            report(
                started,
                total,
                &format!("{model}: folds {}", names.join(", ")),
            );
            started += group.len() as u64;
        })?;
        report(total, total, "");
        Ok(json(&pairs))
    })
}

/// Reads a trial table (the project's CSV, or IBL's with `ibl`) as the fits read it:
/// JSON with animals, trials, dropped.
#[pyfunction]
#[pyo3(signature = (path, ibl=false))]
fn infer_inspect(path: &str, ibl: bool) -> PyResult<String> {
    let file = Path::new(path);
    let d = if ibl {
        rulelab::infer::data::read_ibl(file)
    } else {
        rulelab::infer::data::read_csv(file)
    }
    .map_err(raise)?;
    Ok(json(&serde_json::json!({
        "animals": d.animals.len(), "trials": d.trials(), "dropped": d.dropped,
    })))
}

/// Blocks SIGINT in the calling thread, so the kernel hands Ctrl-C to a thread that
/// takes it: Python's main thread (whose handler runs only there and whose blocking
/// calls a signal must interrupt), or during a call [`rulelab::interrupt::catching`]'s.
fn block_sigint() {
    #[cfg(unix)]
    // SAFETY: changes only this thread's signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The library's worker threads never take Ctrl-C (an error means a pool already
    // exists: another extension made it, and its threads are its own).
    let _ = rayon::ThreadPoolBuilder::new()
        .start_handler(|_| block_sigint())
        .build_global();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(devices, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(toml_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(run_study, m)?)?;
    m.add_function(wrap_pyfunction!(merge, m)?)?;
    m.add_function(wrap_pyfunction!(control_rates, m)?)?;
    m.add_function(wrap_pyfunction!(control_horizon, m)?)?;
    m.add_function(wrap_pyfunction!(infer_simulate, m)?)?;
    m.add_function(wrap_pyfunction!(fit_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(infer_fit, m)?)?;
    m.add_function(wrap_pyfunction!(infer_cv, m)?)?;
    m.add_function(wrap_pyfunction!(infer_inspect, m)?)?;
    Ok(())
}
