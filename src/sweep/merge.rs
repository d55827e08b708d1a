//! `rulelab merge`: joins the outputs of shards of one sweep into one results file (rows
//! in learner order), one series file when present, and one manifest that records
//! every shard's device. Every shard is checked against its manifest first (lengths and
//! hashes of every chunk); a shard that is unfinished, being written, damaged, of
//! another sweep, or that leaves learners missing or doubled is refused.

use super::store::{self, ChunkMark, DirLock, Manifest, Mark};
use crate::error::{Error, Result};
use crate::files::io_error;
use crate::files::Fnv;
use crate::outdir::Claim;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Merges complete shard directories into `out` (a new or empty directory).
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Manifest> {
    if dirs.is_empty() {
        return Err(Error::invalid("DIR", "name at least one shard directory"));
    }
    for d in dirs {
        if same_dir(d, out) {
            return Err(Error::invalid(
                "--out",
                format!(
                    "{} is one of the shards; merge into a new directory",
                    out.display()
                ),
            ));
        }
    }
    // Shards being written are refused (their lock is held); holding the locks keeps
    // them still while they are read.
    let _locks = dirs
        .iter()
        .map(|d| {
            if !d.join("manifest.json").exists() {
                return Err(Error::invalid(
                    d.display().to_string(),
                    "has no manifest.json: not a rulelab output directory",
                ));
            }
            DirLock::acquire(d, false)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut shards: Vec<(PathBuf, Manifest)> = dirs
        .iter()
        .map(|d| store::read_manifest(d).map(|m| (d.clone(), m)))
        .collect::<Result<_>>()?;
    let first = shards[0].1.clone();
    for (d, m) in &shards {
        let name = d.display().to_string();
        if m.config_hash != first.config_hash {
            return Err(Error::invalid(
                name,
                format!(
                    "is a different sweep (config hash {} vs {})",
                    m.config_hash, first.config_hash
                ),
            ));
        }
        if !m.complete {
            return Err(Error::invalid(
                name,
                format!(
                    "is unfinished ({} of {} chunks): resume it first",
                    m.chunks_done, m.chunks_total
                ),
            ));
        }
        for (file, marks) in m.files() {
            let path = d.join(file);
            let v = store::verify(&path, &marks)?;
            let recorded = marks.last().expect("a header").bytes;
            if v.good != marks.len() || v.len != recorded {
                return Err(Error::invalid(
                    path.display().to_string(),
                    format!(
                        "does not match its manifest ({} bytes, {recorded} recorded{}): run \
                         its shard again with --resume to repair it",
                        v.len,
                        if v.damaged {
                            ", and recorded bytes differ"
                        } else {
                            ""
                        }
                    ),
                ));
            }
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

    // Only into an empty or new directory: one that holds another run, or files the
    // merge would not write, is refused; a killed merge's own files are cleared.
    let claim = Claim::new(
        out,
        "merge",
        &[
            &first.results_file,
            &first.series_file,
            "summary.svg",
            "summary.png",
            "summary.pdf",
            "regret.svg",
            "regret.png",
            "regret.pdf",
        ],
        &[],
    )?;
    let series = first.marks[0].series.is_some();
    let mut merged_marks = Vec::new();
    let results = concat(
        &shards,
        out,
        &first.results_file,
        |c| Some(c.results),
        &mut merged_marks,
    )?;
    let mut traj_marks = Vec::new();
    if series {
        concat(
            &shards,
            out,
            &first.series_file,
            |c| c.series,
            &mut traj_marks,
        )?;
    }
    let marks: Vec<ChunkMark> = merged_marks
        .iter()
        .enumerate()
        .map(|(i, &(end, r))| ChunkMark {
            end,
            results: r,
            series: traj_marks.get(i).map(|&(_, t)| t),
        })
        .collect();
    let devices: Vec<(String, String)> = shards
        .iter()
        .map(|(_, m)| (m.device.clone(), m.adapter.clone()))
        .collect();
    let one_device = devices.iter().all(|d| *d == devices[0]);
    let mut merged = first.clone();
    merged.shard = super::shard::Shard::WHOLE;
    merged.first = 0;
    merged.end = first.grid_size;
    merged.chunks_total = shards.len() as u64;
    merged.chunks_done = merged.chunks_total;
    merged.chunk = shards
        .iter()
        .map(|(_, m)| m.end - m.first)
        .max()
        .unwrap_or(1)
        .max(1);
    merged.results_bytes = results.bytes;
    merged.trajectories_bytes = marks.last().and_then(|c| c.series).map_or(0, |s| s.bytes);
    merged.marks = marks;
    merged.compute_seconds = shards.iter().map(|(_, m)| m.compute_seconds).sum();
    merged.complete = true;
    if !one_device {
        merged.device = "mixed".into();
        merged.adapter = "see sources".into();
    }
    merged.sources = shards
        .iter()
        .map(|(d, m)| {
            format!(
                "{}: learners {}..{} on {} ({})",
                d.display(),
                m.first,
                m.end,
                m.device,
                m.adapter
            )
        })
        .collect();
    let path = out.join("manifest.json");
    merged.check(&path)?;
    store::write_manifest(out, &merged)?;
    claim.finish()?;
    Ok(merged)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Writes `out/name` as the first shard's header and every shard's rows in order,
/// streaming through a temporary file renamed into place; records (end learner, mark)
/// after the header and after each shard, starting with the header.
fn concat(
    shards: &[(PathBuf, Manifest)],
    out: &Path,
    name: &str,
    mark_of: impl Fn(&ChunkMark) -> Option<Mark>,
    marks: &mut Vec<(u64, Mark)>,
) -> Result<Mark> {
    let path = out.join(name);
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io_error(&tmp))?;
    let mut hash = Fnv::default();
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for (i, (dir, m)) in shards.iter().enumerate() {
        let header = mark_of(&m.marks[0]).expect("checked").bytes;
        let total = mark_of(m.marks.last().expect("a header"))
            .expect("checked")
            .bytes;
        let src_path = dir.join(name);
        let mut src = File::open(&src_path).map_err(io_error(&src_path))?;
        let start = if i == 0 { 0 } else { header };
        src.seek(SeekFrom::Start(start))
            .map_err(io_error(&src_path))?;
        let mut left = total - start;
        let mut copied_header = i > 0;
        while left > 0 {
            let n = (left as usize).min(buf.len());
            let chunk = if !copied_header {
                // Record the mark after the header as the merge's chunk 0.
                let n = n.min((header - bytes) as usize);
                src.read_exact(&mut buf[..n]).map_err(io_error(&src_path))?;
                &buf[..n]
            } else {
                src.read_exact(&mut buf[..n]).map_err(io_error(&src_path))?;
                &buf[..n]
            };
            f.write_all(chunk).map_err(io_error(&tmp))?;
            hash.update(chunk);
            bytes += chunk.len() as u64;
            left -= chunk.len() as u64;
            if !copied_header && bytes == header {
                copied_header = true;
                marks.push((m.first, Mark { bytes, fnv: hash.0 }));
            }
        }
        if marks.last().is_none_or(|&(end, _)| end < m.end) {
            marks.push((m.end, Mark { bytes, fnv: hash.0 }));
        }
    }
    f.sync_all().map_err(io_error(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(io_error(&path))?;
    Ok(Mark { bytes, fnv: hash.0 })
}
