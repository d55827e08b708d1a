//! `rulelab merge`: joins the outputs of shards of one sweep into one results.csv (rows
//! in learner order), one trajectories.csv when present, and one manifest.

use super::run::{read_manifest, write_atomic, Manifest};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Merges complete shard directories into `out`; refuses shards of different sweeps,
/// unfinished shards, and sets of shards that do not cover the grid exactly once.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Manifest> {
    if dirs.is_empty() {
        return Err(Error::invalid("DIR", "name at least one shard directory"));
    }
    let mut shards: Vec<(PathBuf, Manifest)> = dirs
        .iter()
        .map(|d| read_manifest(d).map(|m| (d.clone(), m)))
        .collect::<Result<_>>()?;
    let first = shards[0].1.clone();
    for (d, m) in &shards {
        if m.config_hash != first.config_hash {
            return Err(Error::invalid(
                d.display().to_string(),
                format!(
                    "is a different sweep (config hash {} vs {})",
                    m.config_hash, first.config_hash
                ),
            ));
        }
        if !m.complete {
            return Err(Error::invalid(
                d.display().to_string(),
                format!(
                    "is unfinished ({} of {} chunks): resume it first",
                    m.chunks_done, m.chunks_total
                ),
            ));
        }
    }
    shards.sort_by_key(|(_, m)| m.first);
    let mut next = 0;
    for (d, m) in &shards {
        if m.first != next {
            return Err(Error::invalid(
                d.display().to_string(),
                format!(
                    "starts at learner {} but learners from {next} are missing or duplicated",
                    m.first
                ),
            ));
        }
        next = m.end;
    }
    if next != first.grid_size {
        return Err(Error::invalid(
            "DIR",
            format!(
                "the shards end at learner {next}; the grid has {}",
                first.grid_size
            ),
        ));
    }
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.display().to_string(),
        source,
    })?;
    let mut results = String::new();
    let mut traj = String::new();
    let mut has_traj = false;
    for (i, (d, _)) in shards.iter().enumerate() {
        let text = read(&d.join("results.csv"))?;
        let mut lines = text.split_inclusive('\n');
        let head = lines.next().unwrap_or_default();
        if i == 0 {
            results.push_str(head);
        }
        lines.for_each(|l| results.push_str(l));
        let tp = d.join("trajectories.csv");
        if tp.exists() {
            has_traj = true;
            let text = read(&tp)?;
            let mut lines = text.split_inclusive('\n');
            let head = lines.next().unwrap_or_default();
            if i == 0 {
                traj.push_str(head);
            }
            lines.for_each(|l| traj.push_str(l));
        }
    }
    write_atomic(&out.join("results.csv"), results.as_bytes())?;
    if has_traj {
        write_atomic(&out.join("trajectories.csv"), traj.as_bytes())?;
    }
    let compute: f64 = shards.iter().map(|(_, m)| m.compute_seconds).sum();
    let devices: Vec<String> = shards
        .iter()
        .map(|(_, m)| format!("{} ({})", m.device, m.adapter))
        .collect();
    let mut merged = first.clone();
    merged.shard = super::run::Shard::WHOLE;
    merged.first = 0;
    merged.end = first.grid_size;
    merged.chunks_total = shards.iter().map(|(_, m)| m.chunks_total).sum();
    merged.chunks_done = merged.chunks_total;
    merged.results_bytes = results.len() as u64;
    merged.trajectories_bytes = traj.len() as u64;
    merged.compute_seconds = compute;
    merged.adapter = devices.join("; ");
    merged.complete = true;
    write_atomic(
        &out.join("manifest.json"),
        &serde_json::to_vec_pretty(&merged).expect("manifest serialises"),
    )?;
    Ok(merged)
}
