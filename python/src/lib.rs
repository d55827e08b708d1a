//! `rulelab._native`: the library's entry points for the Python package, as plain
//! functions of strings and numbers that return JSON. Every decision is the library's;
//! this file converts arguments, releases the GIL around long work, turns Ctrl-C into
//! a request the work honours, and turns the library's errors into the package's
//! exceptions (`rulelab.ConfigError`, ... under `rulelab.Error`, defined in Python).

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use rulelab::gpu::DeviceChoice;
use rulelab::sweep::Progress;
use rulelab::Error;
use std::path::PathBuf;

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
        Error::Stopped { .. } | Error::Paused { .. } => {
            return PyKeyboardInterrupt::new_err(e.to_string())
        }
        Error::Invalid { .. } | Error::InModel { .. } => "ConfigError",
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
            "ran_chunks": r.ran_chunks, "best": r.best, "pictures": r.pictures,
        })))
    }
}

/// Runs (or resumes) a study of `family` (landscape, control, infer or hippo) from its
/// config's TOML text or file into `out`. JSON: describe, manifest, notes, ran_chunks,
/// best (the best setting, or null), pictures (the files drawn).
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

/// The manifest of the finished run in `dir` (a study run, a merge, a fit, a
/// cross-validation), checked against its files; JSON.
#[pyfunction]
fn load(py: Python<'_>, dir: PathBuf) -> PyResult<String> {
    run_long(py, move || {
        rulelab::sweep::redraw::open(&dir).map(|m| m.to_string())
    })
}

/// Runs the family command named by `path` (`["infer", "fit"]`, as the command line
/// spells it) with `args` (JSON: name to value; null is not given, `_` reads as `-`).
/// Returns JSON: value (the result as data) and notes.
#[pyfunction]
#[pyo3(signature = (path, args, device_name=None, progress=None))]
fn command(
    py: Python<'_>,
    path: Vec<String>,
    args: &str,
    device_name: Option<&str>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let words: Vec<&str> = path.iter().map(String::as_str).collect();
    let command = rulelab::registry::command(&words).map_err(raise)?;
    let args: serde_json::Value = serde_json::from_str(args)
        .map_err(|e| raise(Error::invalid("arguments", e.to_string())))?;
    let args = rulelab::command::Args::from_json(&args).map_err(raise)?;
    let choice = device(device_name)?;
    let report = reporter(progress);
    run_long(py, move || {
        let ctx = rulelab::command::Context {
            device: choice,
            progress: &|done, total, note| report(done, total, note),
            say: &|_| {},
            show: &|_| {},
        };
        let reply = command.call(args, &ctx)?;
        // The value as the library wrote it, so its fields keep their order.
        Ok(format!(
            "{{\"value\": {}, \"notes\": {}}}",
            reply.json,
            json(&reply.notes)
        ))
    })
}

/// The arguments of the family command named by `path` (JSON list: name, help, kind,
/// default, required, heading), so the package's signatures carry the library's
/// defaults.
#[pyfunction]
fn command_args(path: Vec<String>) -> PyResult<String> {
    let words: Vec<&str> = path.iter().map(String::as_str).collect();
    let command = rulelab::registry::command(&words).map_err(raise)?;
    Ok(json(&(command.args)()))
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
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(command, m)?)?;
    m.add_function(wrap_pyfunction!(command_args, m)?)?;
    Ok(())
}
