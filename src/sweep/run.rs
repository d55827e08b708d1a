//! Running a sweep: chunks of learners on the chosen backend, each finished chunk
//! appended to DIR/results.csv and made durable (fsync) before DIR/manifest.json records
//! it (written atomically). `--resume` truncates the files to what the manifest vouches
//! for and goes on from the next chunk: no learner lost, none duplicated.

use super::config::SweepConfig;
use crate::error::{Error, Result};
use crate::gpu::Backend;
use crate::landscape::{self, data, Outcome, Params};
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
pub fn config_hash(cfg: &SweepConfig) -> String {
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

/// The results.csv header for a config.
pub fn header(cfg: &SweepConfig) -> String {
    let mut cols = vec!["learner".to_string()];
    cols.extend(cfg.axes.iter().map(|a| a.name.clone()));
    cols.extend(
        [
            "final_loss",
            "min_loss",
            "mean_loss",
            "steps_to_threshold",
            "diverged",
        ]
        .map(String::from),
    );
    cols.join(",") + "\n"
}

fn row(cfg: &SweepConfig, k: u64, p: &Params, o: &Outcome) -> String {
    let mut s = k.to_string();
    for a in &cfg.axes {
        s.push(',');
        s.push_str(&cfg.value_label(&a.name, p.get(&a.name).expect("axis is a parameter")));
    }
    s.push_str(&format!(
        ",{},{},{},{},{}\n",
        o.final_loss,
        o.min_loss,
        o.mean_loss,
        o.steps_to_threshold
            .map(|t| t.to_string())
            .unwrap_or_default(),
        o.diverged
    ));
    s
}

/// Learners per chunk: the config's, or one that keeps checkpoints frequent and every
/// core (or the whole GPU) busy. On a GPU the chunk's per-learner buffers (trajectories,
/// carried state) must also fit one storage binding.
fn chunk_size(cfg: &SweepConfig, backend: &Backend) -> u64 {
    let want = if cfg.chunk > 0 {
        cfg.chunk as u64
    } else {
        match backend {
            Backend::Cpu => (256 * rayon::current_num_threads()).max(1024) as u64,
            Backend::Gpu(_) => 1 << 16,
        }
    };
    match backend {
        Backend::Cpu => want,
        Backend::Gpu(gpu) => {
            let records = cfg
                .problem
                .steps
                .checked_div(cfg.problem.record_every)
                .map_or(0, |r| r + 1) as u64;
            // The largest per-learner buffer: trajectories, or the state carried between
            // windows of steps (theta and three states).
            let per_learner = (4 * records).max(16 * cfg.problem.dim as u64).max(32);
            want.min((gpu.max_binding_bytes() / per_learner).max(1))
        }
    }
}

/// Runs the chunk of learners on the backend, in groups of one rule kind each (a kernel
/// per kind), results in the chunk's order.
pub fn run_chunk(
    backend: &Backend,
    cfg: &SweepConfig,
    shared: &data::Shared<f64>,
    params: &[Params],
) -> Result<Vec<Outcome>> {
    let mut out: Vec<Option<Outcome>> = vec![None; params.len()];
    for r in 0..cfg.rules.len() {
        let idx: Vec<usize> = (0..params.len())
            .filter(|&i| params[i].rule as usize == r)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let group: Vec<Params> = idx.iter().map(|&i| params[i]).collect();
        let problem = cfg.problem_for(&group[0]);
        let outcomes = match backend {
            Backend::Cpu => {
                landscape::cpu::run_chunk::<f32>(&problem, &shared.cast::<f32>(), &group)
            }
            Backend::Gpu(gpu) => landscape::gpu::run_chunk(gpu, &problem, shared, &group)?,
        };
        for (i, o) in idx.into_iter().zip(outcomes) {
            out[i] = Some(o);
        }
    }
    Ok(out
        .into_iter()
        .map(|o| o.expect("every learner has a rule"))
        .collect())
}

/// Runs (or resumes) the sweep into `dir`; returns the final manifest.
pub fn run(
    cfg: &SweepConfig,
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
            config_hash: hash,
            config: config_text.to_string(),
            grid_size: cfg.grid_size(),
            axes: cfg.axes.iter().map(|a| a.name.clone()).collect(),
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
        write_file(&results_path, header(cfg).as_bytes())?;
        let mut m = m;
        m.results_bytes = header(cfg).len() as u64;
        if cfg.trajectories {
            let h = b"learner,step,loss\n";
            write_file(&traj_path, h)?;
            m.trajectories_bytes = h.len() as u64;
        }
        write_atomic(
            &manifest_path,
            &serde_json::to_vec_pretty(&m).expect("manifest serialises"),
        )?;
        m
    };

    let shared = data::build(&cfg.problem, &cfg.base);
    let bar = progress_bar(
        opts.progress,
        end - first,
        manifest.chunks_done * manifest.chunk,
    );
    let steps = cfg.problem.steps as f64;
    while manifest.chunks_done < manifest.chunks_total {
        let lo = first + manifest.chunks_done * manifest.chunk;
        let hi = (lo + manifest.chunk).min(end);
        let params: Vec<Params> = (lo..hi).map(|k| cfg.learner(k)).collect();
        let t0 = Instant::now();
        let outcomes = run_chunk(backend, cfg, &shared, &params)?;
        manifest.compute_seconds += t0.elapsed().as_secs_f64();
        let rows: String = (lo..hi)
            .zip(&params)
            .zip(&outcomes)
            .map(|((k, p), o)| row(cfg, k, p, o))
            .collect();
        manifest.results_bytes += append_durably(&results_path, rows.as_bytes())?;
        if cfg.trajectories {
            let every = cfg.problem.record_every;
            let mut t = String::new();
            for (k, o) in (lo..hi).zip(&outcomes) {
                for (r, loss) in o.trajectory.iter().enumerate() {
                    t.push_str(&format!("{k},{},{loss}\n", r * every));
                }
            }
            manifest.trajectories_bytes += append_durably(&traj_path, t.as_bytes())?;
        }
        manifest.chunks_done += 1;
        manifest.learner_steps_per_s =
            (hi - first) as f64 * steps / manifest.compute_seconds.max(1e-12);
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
