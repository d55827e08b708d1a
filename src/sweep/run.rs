//! Running a study: chunks of learners on the chosen backend, each finished chunk
//! appended to DIR/results.csv and made durable (fsync) before DIR/manifest.json records
//! it with the files' lengths and hashes (written atomically). One run writes a
//! directory at a time (a lock), and `--resume` checks the files against the manifest,
//! cuts them back to the last chunk that verifies and goes on from there: no learner
//! lost, none duplicated, nothing trusted. Nothing here knows a family: the [`Study`]
//! supplies the learners' numbers, columns and chunks.
//!
//! One file (over 600 lines) because writing and verifying are one protocol: the order
//! of appends, fsyncs and manifest writes is what `--resume` relies on when it reads
//! them back, so both sides are kept where one reading checks them together. Shards
//! and launching live in `shard.rs` and `launch.rs`.
//!
//! Over 600 lines with its tests: a run's steps (start, reopen and verify, run the next
//! chunk) are one protocol of marks and manifests, which the tests exercise together.

use super::prune::PrunePlan;
use super::shard::Shard;
use super::store::{self, ChunkMark, DirLock};
use super::study::StudyConfig;
use super::study::{Compute, ParamSet, Parse, Study};
use crate::error::{Error, Result};
use crate::files::Fnv;
use crate::gpu::Backend;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

pub use super::store::{read_manifest, Manifest};

/// FNV-1a over the canonical JSON of the parsed config.
pub fn config_hash<S: Study>(cfg: &StudyConfig<S>) -> String {
    let json = serde_json::to_string(cfg).expect("config serialises");
    format!("{:016x}", Fnv::of(json.as_bytes()))
}

/// How a sweep runs.
pub struct RunOptions {
    pub shard: Shard,
    pub resume: bool,
    pub progress: Progress,
    /// Run a sweep past the size that needs confirming ([`LARGE_LEARNERS`],
    /// [`LARGE_BYTES`]).
    pub yes: bool,
}

/// How a run reports how far it got.
pub enum Progress {
    Quiet,
    /// A bar on stderr, where stderr is a terminal.
    Bar,
    /// A call after every chunk with (learners done, learners in the shard), and once
    /// before the first with what earlier runs finished: for programs that draw their
    /// own (the Python package's notebook bars).
    Call(Box<dyn Fn(u64, u64) + Send + Sync>),
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub manifest: Manifest,
    /// Chunks computed by this run (0 when the sweep was already complete).
    pub ran_chunks: u64,
    /// What was found and repaired on the way (a file cut back to a verified chunk).
    pub notes: Vec<String>,
    /// The pictures drawn.
    pub pictures: Vec<std::path::PathBuf>,
    /// The best setting found (a complete run with a finite headline).
    pub best: Option<super::summary::Best>,
}

/// What part of a sweep a directory holds, when it is not the whole of one run: the
/// line its pictures carry.
pub fn stamp(m: &Manifest) -> Option<String> {
    if !m.sources.is_empty() {
        Some(format!(
            "merged from {} shards: all {} {}",
            m.sources.len(),
            m.grid_size,
            if m.grid_size == 1 {
                "learner"
            } else {
                "learners"
            }
        ))
    } else if m.first != 0 || m.end != m.grid_size {
        Some(format!(
            "shard {}/{}: learners {}–{} of {}; the whole sweep's picture comes with `rulelab merge`",
            m.shard.index,
            m.shard.count,
            m.first,
            m.end.saturating_sub(1),
            m.grid_size
        ))
    } else {
        None
    }
}

/// Sweeps with more learners than this, or whose files would pass [`LARGE_BYTES`],
/// run only when confirmed (`--yes`, or `[run] max_learners` at least the grid).
pub const LARGE_LEARNERS: u64 = 1 << 24;
pub const LARGE_BYTES: u64 = 4 << 30;

fn human_bytes(b: u64) -> String {
    let (mut v, mut unit) = (b as f64, 0);
    let units = ["bytes", "KB", "MB", "GB", "TB", "PB"];
    while v >= 1000.0 && unit + 1 < units.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", units[unit])
}

/// Refuses a sweep whose size needs confirming and was not confirmed.
fn check_size<S: Study>(cfg: &StudyConfig<S>, learners: u64, yes: bool) -> Result<()> {
    let bytes = learners.saturating_mul(cfg.study.bytes_per_learner(&cfg.grid));
    if let Some(m) = cfg.max_learners.filter(|&m| m < learners) {
        return Err(Error::invalid(
            "run.max_learners",
            format!("is {m}, but this sweep has {learners} learners"),
        ));
    }
    let confirmed = yes || cfg.max_learners.is_some();
    if !confirmed && (learners > LARGE_LEARNERS || bytes > LARGE_BYTES) {
        return Err(Error::invalid(
            "grid",
            format!(
                "has {learners} learners and will write about {} of results; pass --yes, or \
                 set [run] max_learners = {learners}, to run it",
                human_bytes(bytes)
            ),
        ));
    }
    Ok(())
}

fn row<S: Study>(cfg: &StudyConfig<S>, k: u64, p: &S::Params, o: &S::Outcome) -> String {
    let mut s = k.to_string();
    for a in &cfg.grid.axes {
        s.push(',');
        s.push_str(&cfg.value_label(&a.name, p.get(&a.name).expect("axis is a parameter")));
    }
    cfg.study.write_row(o, &mut s);
    if cfg.prune.is_some() {
        s.push(',');
        if let Some(t) = cfg.study.pruned_at(o) {
            s.push_str(&t.to_string());
        }
    }
    s.push('\n');
    s
}

/// Learners per chunk: the config's (within what the backend can hold), or the
/// study's choice for the backend.
fn chunk_size<S: Study>(cfg: &StudyConfig<S>, backend: &Backend) -> Result<u64> {
    if let Some(g) = cfg.group_learners() {
        let most = cfg.study.max_chunk(backend);
        if g > most {
            return Err(Error::invalid(
                "prune.group",
                format!(
                    "makes chunks of {g} learners, more than this device holds in one \
                     ({most}); set a smaller group"
                ),
            ));
        }
        return Ok(g);
    }
    Ok(if cfg.chunk > 0 {
        (cfg.chunk as u64).min(cfg.study.max_chunk(backend))
    } else {
        cfg.study.chunk_size(backend)
    })
}

/// A chunk's learners' numbers and their outcomes, in learner order.
pub type Chunk<S> = (Vec<<S as Parse>::Params>, Vec<<S as Compute>::Outcome>);

/// Runs a chunk of the grid's learners [lo, hi) and returns their numbers and outcomes.
pub fn run_learners<S: Study>(
    cfg: &StudyConfig<S>,
    prepared: &S::Prepared,
    backend: &Backend,
    lo: u64,
    hi: u64,
) -> Result<Chunk<S>> {
    let params: Vec<S::Params> = (lo..hi).map(|k| cfg.learner(k)).collect();
    let plan = cfg.prune.as_ref().map(|p| {
        let reps = cfg.replicates_per_setting();
        PrunePlan {
            prune: p.clone(),
            setting: (lo..hi).map(|k| ((k - lo) / reps) as usize).collect(),
        }
    });
    let outcomes = cfg
        .study
        .run_chunk(prepared, backend, &params, plan.as_ref())?;
    if outcomes.len() != params.len() {
        return Err(Error::Internal(format!(
            "a chunk of {} learners returned {} outcomes",
            params.len(),
            outcomes.len()
        )));
    }
    Ok((params, outcomes))
}

/// The shard's learners: equal parts of the grid, cut at prune-group boundaries when
/// pruning (a group's settings are judged together).
pub fn shard_range<S: Study>(cfg: &StudyConfig<S>, shard: Shard) -> (u64, u64) {
    let total = cfg.grid_size();
    let unit = cfg.group_learners().unwrap_or(1);
    let units = total.div_ceil(unit);
    let (a, b) = shard.range(units);
    ((a * unit).min(total), (b * unit).min(total))
}

/// Turns an I/O error on an output file into one that says how to go on.
fn writing(path: &Path, done: u64, total: u64) -> impl FnOnce(Error) -> Error + '_ {
    move |e| match e {
        Error::Io { source, .. }
            if matches!(
                source.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ) =>
        {
            Error::DiskFull {
                path: path.display().to_string(),
                done,
                total,
            }
        }
        e => e,
    }
}

/// The files a study writes with their headers.
fn headers<S: Study>(cfg: &StudyConfig<S>) -> Vec<(&'static str, Vec<u8>)> {
    let mut h = vec![(S::RESULTS, cfg.header().into_bytes())];
    if let Some(cols) = cfg.study.series_columns() {
        h.push((
            S::SERIES,
            format!("learner,{}\n", cols.join(",")).into_bytes(),
        ));
    }
    h
}

/// The manifest of a new run, with the files' headers written.
fn start<S: Study>(
    cfg: &StudyConfig<S>,
    config_text: &str,
    dir: &Path,
    backend: &Backend,
    opts: &RunOptions,
) -> Result<Manifest> {
    let (first, end) = shard_range(cfg, opts.shard);
    let chunk = chunk_size(cfg, backend)?;
    let mut marks = headers(cfg)
        .into_iter()
        .map(|(name, bytes)| store::create(&dir.join(name), &bytes))
        .collect::<Result<Vec<_>>>()?
        .into_iter();
    let results = marks.next().expect("the results file");
    let series = marks.next();
    let chunks_total = (end - first).div_ceil(chunk);
    let m = Manifest {
        rulelab_version: env!("CARGO_PKG_VERSION").to_string(),
        family: S::FAMILY.to_string(),
        config_hash: config_hash(cfg),
        config: config_text.to_string(),
        grid_size: cfg.grid_size(),
        axes: cfg.grid.names(),
        shard: opts.shard,
        first,
        end,
        chunk,
        chunks_total,
        chunks_done: 0,
        results_bytes: results.bytes,
        trajectories_bytes: series.map_or(0, |s| s.bytes),
        marks: vec![ChunkMark {
            end: first,
            results,
            series,
        }],
        device: backend.kind().to_string(),
        adapter: backend.describe(),
        compute_seconds: 0.0,
        learner_steps_per_s: 0.0,
        complete: chunks_total == 0,
        sources: vec![],
        results_file: S::RESULTS.into(),
        series_file: S::SERIES.into(),
    };
    store::write_manifest(dir, &m)?;
    Ok(m)
}

/// Checks the files of an existing run against its manifest. With `repair`, a file
/// cut short or with bytes past the last chunk is cut back to the last chunk every
/// file vouches for (the manifest follows); without, any mismatch is refused. Files
/// whose recorded bytes changed are refused either way. Returns what was repaired.
fn verify_and_repair(
    dir: &Path,
    m: &mut Manifest,
    repair: bool,
    headers: &[(&str, Vec<u8>)],
) -> Result<Vec<String>> {
    let files = m.files();
    let mut notes = Vec::new();
    let mut keep = m.marks.len();
    for (name, marks) in &files {
        let path = dir.join(name);
        let v = store::verify(&path, marks)?;
        let recorded = marks.last().expect("a header").bytes;
        // Bytes that differ in a file that also lost bytes were written after the loss
        // (a crash, a sync tool): cut back past them. In a file that lost nothing, they
        // were edited: refuse.
        if v.damaged && v.len >= recorded {
            let from = if v.good == 0 {
                0
            } else {
                marks[v.good - 1].bytes
            };
            return Err(Error::invalid(
                path.display().to_string(),
                format!(
                    "does not hold what {} wrote (bytes {from}..{} differ): it was edited or \
                     damaged. Restore it; or delete it and run with --resume to compute every \
                     chunk again",
                    if v.good == 0 {
                        "the header".to_string()
                    } else {
                        format!("chunk {}", v.good)
                    },
                    marks[v.good].bytes
                ),
            ));
        }
        if v.good < marks.len() {
            if v.damaged {
                notes.push(format!(
                    "{} is shorter than its manifest records and its bytes from chunk {} on \
                     differ",
                    path.display(),
                    v.good
                ));
            }
            notes.push(format!(
                "{} held {} bytes, {} fewer than its {} finished chunks wrote: cut back to \
                 the last chunk that verifies ({}) and the rest runs again",
                path.display(),
                v.len,
                recorded - v.len,
                marks.len() - 1,
                v.good.saturating_sub(1)
            ));
        } else if v.len > recorded {
            notes.push(format!(
                "{} held {} bytes past its last finished chunk (a run stopped mid-write): \
                 cut off",
                path.display(),
                v.len - recorded
            ));
        }
        keep = keep.min(v.good);
    }
    if notes.is_empty() {
        return Ok(notes);
    }
    if !repair {
        return Err(Error::invalid(
            dir.display().to_string(),
            format!(
                "does not match its manifest: {}; run the same command with --resume to \
                 repair it",
                notes.join("; ")
            ),
        ));
    }
    if keep == 0 {
        // A file lost even its header (emptied or deleted): write the headers again and
        // compute every chunk again.
        for ((name, bytes), mark) in headers
            .iter()
            .zip([Some(m.marks[0].results), m.marks[0].series])
        {
            if Some(store::Mark::of(bytes)) != mark {
                return Err(Error::invalid(
                    dir.display().to_string(),
                    format!("{name}'s header is not the one its manifest records; start again in a new directory"),
                ));
            }
            store::create(&dir.join(name), bytes)?;
        }
        keep = 1;
    }
    m.marks.truncate(keep);
    let last = *m.marks.last().expect("kept the header");
    store::cut(&dir.join(&m.results_file), last.results.bytes)?;
    if let Some(s) = last.series {
        store::cut(&dir.join(&m.series_file), s.bytes)?;
    }
    m.chunks_done = keep as u64 - 1;
    m.results_bytes = last.results.bytes;
    m.trajectories_bytes = last.series.map_or(0, |s| s.bytes);
    m.complete = m.chunks_done == m.chunks_total;
    store::write_manifest(dir, m)?;
    Ok(notes)
}

/// Runs (or resumes) the sweep into `dir`.
pub fn run<S: Study>(
    cfg: &StudyConfig<S>,
    config_text: &str,
    dir: &Path,
    backend: &Backend,
    opts: &RunOptions,
) -> Result<RunReport> {
    cfg.study.supports(backend)?;
    let lock = DirLock::acquire(dir, false)?;
    if let Some(what) = crate::outdir::one_shot_run(dir) {
        return Err(Error::invalid(
            "--out",
            format!(
                "{} holds {what}; choose an empty or new directory",
                dir.display()
            ),
        ));
    }
    let (mut manifest, mut notes) = if dir.join("manifest.json").exists() {
        match reopen(cfg, config_text, dir, backend, opts)? {
            Reopened::Complete(report) => return Ok(report),
            Reopened::Resume(m, notes) => {
                lock.note_owner()?;
                (m, notes)
            }
        }
    } else {
        refuse_strays::<S>(dir)?;
        let (first, end) = shard_range(cfg, opts.shard);
        check_size(cfg, end - first, opts.yes)?;
        lock.note_owner()?;
        (start(cfg, config_text, dir, backend, opts)?, vec![])
    };

    let prepared = cfg.study.prepare(&cfg.base)?;
    let (first, end) = (manifest.first, manifest.end);
    let bar = progress_bar(
        &opts.progress,
        end - first,
        manifest.marks.last().map_or(first, |c| c.end) - first,
    );
    let mut ran_chunks = 0;
    while manifest.chunks_done < manifest.chunks_total {
        if crate::interrupt::requested() {
            return Err(Error::Interrupted {
                done: manifest.chunks_done,
                total: manifest.chunks_total,
            });
        }
        let hi = run_next_chunk(cfg, &prepared, backend, dir, &mut manifest)?;
        ran_chunks += 1;
        if let Some(b) = &bar {
            b.set_position(hi - first);
            b.set_message(format!(
                "{:.3e} learner-steps/s",
                manifest.learner_steps_per_s
            ));
        }
        if let Progress::Call(f) = &opts.progress {
            f(hi - first, end - first);
        }
    }
    if let Some(b) = bar {
        b.finish();
    }
    let mut pictures = Vec::new();
    let best = if manifest.complete {
        super::summary::best(cfg, dir)
    } else {
        None
    };
    if manifest.complete && cfg.summary {
        // The results are complete and durable whatever happens to the picture.
        let fig = crate::plot::Figure {
            stamp: stamp(&manifest),
            ..cfg.figure.clone()
        };
        match S::summary(cfg, dir, &fig) {
            Ok(p) => pictures = p,
            Err(e) => notes.push(format!("no summary drawn: {e}")),
        }
    }
    Ok(RunReport {
        manifest,
        ran_chunks,
        notes,
        pictures,
        best,
    })
}

/// The keys that differ between two configs' texts (`rule.lr: 0.01 → 0.02`, added and
/// removed keys too), in the order of the new text; empty when either does not parse.
fn config_changes(old: &str, new: &str) -> Vec<String> {
    fn flat(prefix: &str, t: &toml::Table, out: &mut Vec<(String, String)>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(inner) => flat(&key, inner, out),
                v => out.push((key, v.to_string())),
            }
        }
    }
    let (Ok(a), Ok(b)) = (old.parse::<toml::Table>(), new.parse::<toml::Table>()) else {
        return vec![];
    };
    let (mut was, mut now) = (vec![], vec![]);
    flat("", &a, &mut was);
    flat("", &b, &mut now);
    let find = |list: &[(String, String)], k: &str| {
        list.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone())
    };
    let mut out = vec![];
    for (k, v) in &now {
        match find(&was, k) {
            Some(old) if old != *v => out.push(format!("{k}: {old} → {v}")),
            None => out.push(format!("{k} added ({v})")),
            _ => {}
        }
    }
    for (k, _) in &was {
        if find(&now, k).is_none() {
            out.push(format!("{k} removed"));
        }
    }
    out
}

/// What a directory with a manifest holds for this run.
enum Reopened {
    /// The same sweep, finished and intact: nothing to do.
    Complete(RunReport),
    /// The same sweep, verified and cut back to its last good chunk, to go on with.
    Resume(Manifest, Vec<String>),
}

/// Checks that the directory holds this sweep (same config, shard and device) and
/// that its files verify against its manifest, repairing what can be repaired.
fn reopen<S: Study>(
    cfg: &StudyConfig<S>,
    config_text: &str,
    dir: &Path,
    backend: &Backend,
    opts: &RunOptions,
) -> Result<Reopened> {
    let hash = config_hash(cfg);
    let mut m = store::read_manifest(dir)?;
    let same = m.config_hash == hash && m.shard == opts.shard;
    if !(opts.resume || m.complete && same) {
        return Err(Error::invalid(
            "--out",
            format!(
                "{} already holds a sweep: pass --resume to continue it, or choose \
                 another directory",
                dir.display()
            ),
        ));
    }
    if m.config_hash != hash {
        return Err(Error::invalid(
            "--resume",
            format!(
                "{} holds a different sweep (config hash {} vs {hash}){}",
                dir.display(),
                m.config_hash,
                // Same text, different hash: something the config reads changed.
                if m.config == config_text {
                    ": the config's text is the same, so a file it reads (its data) \
                     changed since the run began; restore it, or start again in a new \
                     directory"
                        .to_string()
                } else {
                    let changed = config_changes(&m.config, config_text);
                    if changed.is_empty() {
                        String::new()
                    } else {
                        format!(": changed since it began: {}", changed.join("; "))
                    }
                }
            ),
        ));
    }
    if m.shard != opts.shard {
        return Err(Error::invalid(
            "--resume",
            format!(
                "{} holds shard {}/{}, not {}/{}",
                dir.display(),
                m.shard.index,
                m.shard.count,
                opts.shard.index,
                opts.shard.count
            ),
        ));
    }
    let notes = verify_and_repair(dir, &mut m, opts.resume, &headers(cfg))?;
    if m.complete {
        // Finished and intact: nothing to do, and no file is touched.
        let notes = if notes.is_empty() {
            vec![format!(
                "{} is already complete: nothing to do",
                dir.display()
            )]
        } else {
            notes
        };
        return Ok(Reopened::Complete(RunReport {
            manifest: m,
            ran_chunks: 0,
            notes,
            pictures: vec![],
            best: None,
        }));
    }
    if m.device != backend.kind() || m.adapter != backend.describe() {
        return Err(Error::invalid(
            "--resume",
            format!(
                "{} was run on {} ({}); resume on the same device so its rows stay \
                 comparable",
                dir.display(),
                m.device,
                m.adapter
            ),
        ));
    }
    Ok(Reopened::Resume(m, notes))
}

/// A new run refuses a directory whose result files have no manifest to vouch for them.
fn refuse_strays<S: Study>(dir: &Path) -> Result<()> {
    for p in [dir.join(S::RESULTS), dir.join(S::SERIES)] {
        if p.exists() {
            return Err(Error::invalid(
                "--out",
                format!(
                    "{} exists but there is no manifest.json: not a rulelab output \
                     directory, or a damaged one; choose another directory",
                    p.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Runs the next chunk, appends its rows (and series) durably and records it in the
/// manifest; returns the chunk's end.
fn run_next_chunk<S: Study>(
    cfg: &StudyConfig<S>,
    prepared: &S::Prepared,
    backend: &Backend,
    dir: &Path,
    manifest: &mut Manifest,
) -> Result<u64> {
    let (results_path, traj_path) = (dir.join(S::RESULTS), dir.join(S::SERIES));
    let (done, total) = (manifest.chunks_done, manifest.chunks_total);
    let last = *manifest.marks.last().expect("a header");
    let (lo, hi) = (last.end, (last.end + manifest.chunk).min(manifest.end));
    let t0 = Instant::now();
    let (params, outcomes) = run_learners(cfg, prepared, backend, lo, hi).map_err(|e| match e {
        Error::Interrupted { .. } => Error::Interrupted { done, total },
        e => e,
    })?;
    manifest.compute_seconds += t0.elapsed().as_secs_f64();
    let rows: String = (lo..hi)
        .zip(&params)
        .zip(&outcomes)
        .map(|((k, p), o)| row(cfg, k, p, o))
        .collect();
    let results = store::append(&results_path, last.results, rows.as_bytes()).map_err(writing(
        &results_path,
        done,
        total,
    ))?;
    let series = match last.series {
        Some(mark) => {
            let mut t = String::new();
            for (k, o) in (lo..hi).zip(&outcomes) {
                cfg.study.write_series(k, o, &mut t);
            }
            Some(
                store::append(&traj_path, mark, t.as_bytes())
                    .map_err(writing(&traj_path, done, total))?,
            )
        }
        None => None,
    };
    manifest.marks.push(ChunkMark {
        end: hi,
        results,
        series,
    });
    manifest.chunks_done += 1;
    manifest.results_bytes = results.bytes;
    manifest.trajectories_bytes = series.map_or(0, |s| s.bytes);
    manifest.learner_steps_per_s = (hi - manifest.first) as f64 * cfg.study.work_per_learner()
        / manifest.compute_seconds.max(1e-12);
    manifest.complete = manifest.chunks_done == manifest.chunks_total;
    let manifest_path = dir.join("manifest.json");
    store::write_manifest(dir, manifest).map_err(writing(
        &manifest_path,
        manifest.chunks_done,
        total,
    ))?;
    Ok(hi)
}

fn progress_bar(progress: &Progress, total: u64, done: u64) -> Option<indicatif::ProgressBar> {
    if let Progress::Call(f) = progress {
        f(done, total);
    }
    if !matches!(progress, Progress::Bar) || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} learners  {msg}  eta {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_position(done);
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk or quota is not a bare I/O error: it says how to continue.
    #[test]
    fn a_full_disk_says_how_to_continue() {
        for kind in [
            std::io::ErrorKind::StorageFull,
            std::io::ErrorKind::QuotaExceeded,
        ] {
            let e = Error::Io {
                path: "out/results.csv".into(),
                source: std::io::Error::from(kind),
            };
            let e = writing(Path::new("out/results.csv"), 3, 9)(e);
            let text = e.to_string();
            assert!(
                matches!(e, Error::DiskFull { .. })
                    && text.contains("after 3 of 9 chunks")
                    && text.contains("--resume"),
                "{text}"
            );
        }
    }
}
