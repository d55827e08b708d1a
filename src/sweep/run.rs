//! Running a study: chunks of learners on the chosen backend, each finished chunk
//! appended to DIR/results.csv and made durable (fsync) before DIR/manifest.json records
//! it (written atomically). `--resume` truncates the files to what the manifest vouches
//! for and goes on from the next chunk: no learner lost, none duplicated. Nothing here
//! knows a family: the [`Study`] supplies the learners' numbers, columns and chunks.

use super::config::StudyConfig;
use super::study::{ParamSet, Study};
use crate::error::{Error, Result};
use crate::gpu::Backend;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

/// The K-th of N equal parts of the grid (0-based K).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses "K/N" with 0 <= K < N.
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || Error::invalid("--shard", format!("{s:?} must be K/N with 0 <= K < N"));
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// From a Slurm array job (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT), if inside one.
    pub fn from_slurm() -> Option<Shard> {
        let id: u64 = std::env::var("SLURM_ARRAY_TASK_ID").ok()?.parse().ok()?;
        let count: u64 = std::env::var("SLURM_ARRAY_TASK_COUNT").ok()?.parse().ok()?;
        let min: u64 = std::env::var("SLURM_ARRAY_TASK_MIN")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let index = id.checked_sub(min)?;
        (index < count).then_some(Shard { index, count })
    }

    /// The learners [first, end) of a grid of `total`.
    pub fn range(&self, total: u64) -> (u64, u64) {
        let at = |k: u64| ((total as u128 * k as u128) / self.count as u128) as u64;
        (at(self.index), at(self.index + 1))
    }
}

/// DIR/manifest.json.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub rulelab_version: String,
    /// The family that ran (`landscape`, ...).
    #[serde(default)]
    pub family: String,
    /// Hash of the parsed config: runs with equal hashes are the same sweep.
    pub config_hash: String,
    /// The config file as given.
    pub config: String,
    pub grid_size: u64,
    /// The grid's axes, in column order.
    pub axes: Vec<String>,
    pub shard: Shard,
    /// Learners [first, end) of the grid.
    pub first: u64,
    pub end: u64,
    pub chunk: u64,
    pub chunks_total: u64,
    pub chunks_done: u64,
    /// Bytes of results.csv and trajectories.csv that hold finished chunks.
    pub results_bytes: u64,
    pub trajectories_bytes: u64,
    pub device: String,
    pub adapter: String,
    /// Seconds spent computing chunks, summed over resumed runs.
    pub compute_seconds: f64,
    pub learner_steps_per_s: f64,
    pub complete: bool,
}

/// FNV-1a over the canonical JSON of the parsed config.
pub fn config_hash<S: Study>(cfg: &StudyConfig<S>) -> String {
    let json = serde_json::to_string(cfg).expect("config serialises");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in json.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

use crate::files::io_error as io_err;
pub use crate::files::write_atomic;

pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::invalid(path.display().to_string(), e.to_string()))
}

/// How a sweep runs.
pub struct RunOptions {
    pub shard: Shard,
    pub resume: bool,
    /// Show a progress bar (only where stderr is a terminal).
    pub progress: bool,
}

fn row<S: Study>(cfg: &StudyConfig<S>, k: u64, p: &S::Params, o: &S::Outcome) -> String {
    let mut s = k.to_string();
    for a in &cfg.grid.axes {
        s.push(',');
        s.push_str(&cfg.value_label(&a.name, p.get(&a.name).expect("axis is a parameter")));
    }
    cfg.study.write_row(o, &mut s);
    s.push('\n');
    s
}

/// Learners per chunk: the config's (within what the backend can hold), or the
/// study's choice for the backend.
fn chunk_size<S: Study>(cfg: &StudyConfig<S>, backend: &Backend) -> u64 {
    if cfg.chunk > 0 {
        (cfg.chunk as u64).min(cfg.study.max_chunk(backend))
    } else {
        cfg.study.chunk_size(backend)
    }
}

/// A chunk's learners' numbers and their outcomes, in learner order.
pub type Chunk<S> = (Vec<<S as Study>::Params>, Vec<<S as Study>::Outcome>);

/// Runs a chunk of the grid's learners [lo, hi) and returns their numbers and outcomes.
pub fn run_learners<S: Study>(
    cfg: &StudyConfig<S>,
    prepared: &S::Prepared,
    backend: &Backend,
    lo: u64,
    hi: u64,
) -> Result<Chunk<S>> {
    let params: Vec<S::Params> = (lo..hi).map(|k| cfg.learner(k)).collect();
    let outcomes = cfg.study.run_chunk(prepared, backend, &params)?;
    if outcomes.len() != params.len() {
        return Err(Error::Internal(format!(
            "a chunk of {} learners returned {} outcomes",
            params.len(),
            outcomes.len()
        )));
    }
    Ok((params, outcomes))
}

/// Runs (or resumes) the sweep into `dir`; returns the final manifest.
pub fn run<S: Study>(
    cfg: &StudyConfig<S>,
    config_text: &str,
    dir: &Path,
    backend: &Backend,
    opts: &RunOptions,
) -> Result<Manifest> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let results_path = dir.join("results.csv");
    let traj_path = dir.join("trajectories.csv");
    let manifest_path = dir.join("manifest.json");
    let hash = config_hash(cfg);
    let (first, end) = opts.shard.range(cfg.grid_size());
    let chunk = chunk_size(cfg, backend);

    let mut manifest = if manifest_path.exists() {
        let m = read_manifest(dir)?;
        if !opts.resume {
            // Running the same finished sweep again is a no-op; anything else might mix
            // two runs' rows, so it needs --resume or another directory.
            if m.complete && m.config_hash == hash && m.shard == opts.shard {
                return Ok(m);
            }
            return Err(Error::invalid("--out", format!("{} already holds a sweep: pass --resume to continue it, or choose another directory", dir.display())));
        }
        if m.config_hash != hash {
            return Err(Error::invalid(
                "--resume",
                format!(
                    "{} holds a different sweep (config hash {} vs {hash})",
                    dir.display(),
                    m.config_hash
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
        if m.device != backend.kind() || m.adapter != backend.describe() {
            return Err(Error::invalid(
                "--resume",
                format!(
                    "{} was run on {} ({}); resume on the same device so its rows stay comparable",
                    dir.display(),
                    m.device,
                    m.adapter
                ),
            ));
        }
        // Anything past the last finished chunk is from a run that died mid-write.
        for (path, len) in [
            (&results_path, m.results_bytes),
            (&traj_path, m.trajectories_bytes),
        ] {
            if path.exists() {
                OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|f| f.set_len(len))
                    .map_err(io_err(path))?;
            }
        }
        m
    } else {
        let m = Manifest {
            rulelab_version: env!("CARGO_PKG_VERSION").to_string(),
            family: S::FAMILY.to_string(),
            config_hash: hash,
            config: config_text.to_string(),
            grid_size: cfg.grid_size(),
            axes: cfg.grid.names(),
            shard: opts.shard,
            first,
            end,
            chunk,
            chunks_total: (end - first).div_ceil(chunk),
            chunks_done: 0,
            results_bytes: 0,
            trajectories_bytes: 0,
            device: backend.kind().to_string(),
            adapter: backend.describe(),
            compute_seconds: 0.0,
            learner_steps_per_s: 0.0,
            complete: false,
        };
        let header = cfg.header();
        write_file(&results_path, header.as_bytes())?;
        let mut m = m;
        m.results_bytes = header.len() as u64;
        if let Some((x, y)) = cfg.study.series() {
            let h = format!("learner,{x},{y}\n");
            write_file(&traj_path, h.as_bytes())?;
            m.trajectories_bytes = h.len() as u64;
        }
        write_atomic(
            &manifest_path,
            &serde_json::to_vec_pretty(&m).expect("manifest serialises"),
        )?;
        m
    };

    let prepared = cfg.study.prepare(&cfg.base)?;
    let bar = progress_bar(
        opts.progress,
        end - first,
        manifest.chunks_done * manifest.chunk,
    );
    let work = cfg.study.work_per_learner();
    while manifest.chunks_done < manifest.chunks_total {
        let lo = first + manifest.chunks_done * manifest.chunk;
        let hi = (lo + manifest.chunk).min(end);
        let t0 = Instant::now();
        let (params, outcomes) = run_learners(cfg, &prepared, backend, lo, hi)?;
        manifest.compute_seconds += t0.elapsed().as_secs_f64();
        let rows: String = (lo..hi)
            .zip(&params)
            .zip(&outcomes)
            .map(|((k, p), o)| row(cfg, k, p, o))
            .collect();
        manifest.results_bytes += append_durably(&results_path, rows.as_bytes())?;
        if cfg.study.series().is_some() {
            let mut t = String::new();
            for (k, o) in (lo..hi).zip(&outcomes) {
                cfg.study.write_series(k, o, &mut t);
            }
            manifest.trajectories_bytes += append_durably(&traj_path, t.as_bytes())?;
        }
        manifest.chunks_done += 1;
        manifest.learner_steps_per_s =
            (hi - first) as f64 * work / manifest.compute_seconds.max(1e-12);
        manifest.complete = manifest.chunks_done == manifest.chunks_total;
        write_atomic(
            &manifest_path,
            &serde_json::to_vec_pretty(&manifest).expect("manifest serialises"),
        )?;
        if let Some(b) = &bar {
            b.set_position(hi - first);
            b.set_message(format!(
                "{:.3e} learner-steps/s",
                manifest.learner_steps_per_s
            ));
        }
    }
    if let Some(b) = bar {
        b.finish();
    }
    if manifest.complete && cfg.summary {
        super::plot::write_summary(cfg, dir)?;
    }
    Ok(manifest)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

fn append_durably(path: &Path, bytes: &[u8]) -> Result<u64> {
    let mut f = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_data().map_err(io_err(path))?;
    Ok(bytes.len() as u64)
}

fn progress_bar(wanted: bool, total: u64, done: u64) -> Option<indicatif::ProgressBar> {
    if !wanted || !std::io::stderr().is_terminal() {
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
