//! The output directory of a study, kept honest.
//!
//! One writer at a time: a run holds an exclusive lock on `DIR/.rulelab.lock` for its
//! whole life (the operating system releases it when the process dies, so a killed run
//! leaves no stale lock), and the lock file names the process that holds it.
//!
//! Verify, don't trust: the manifest records, for the header and for every finished
//! chunk, how many bytes each file held after it and an FNV-1a hash of those bytes.
//! Before a resume or a merge reads a file back, every recorded prefix is checked. A
//! file cut short (a crash mid-write, a sync tool, a full quota) or with bytes past the
//! last chunk is cut back to the last chunk that verifies and the rest is run again;
//! anything else that does not match (an edited row, an edited manifest) is refused
//! with what is wrong and how to recover. Nothing is padded, nothing is trusted.

use super::shard::Shard;
use crate::error::{Error, Result};
use crate::files::{io_error, Fnv};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// What a file held at one moment: its length and the hash of all its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub bytes: u64,
    pub fnv: u64,
}

impl Default for Mark {
    /// An empty file.
    fn default() -> Self {
        Mark {
            bytes: 0,
            fnv: Fnv::default().0,
        }
    }
}

impl Mark {
    /// This mark after appending `more`.
    pub fn extend(self, more: &[u8]) -> Mark {
        let mut h = Fnv(self.fnv);
        h.update(more);
        Mark {
            bytes: self.bytes + more.len() as u64,
            fnv: h.0,
        }
    }

    /// The mark of a file that holds exactly `bytes`.
    pub fn of(bytes: &[u8]) -> Mark {
        Mark::default().extend(bytes)
    }
}

/// The files after one finished chunk (or after the headers, for chunk 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkMark {
    /// One past the last learner written.
    pub end: u64,
    pub results: Mark,
    /// The series file (trajectories.csv, points.csv), when the study writes one.
    pub series: Option<Mark>,
}

/// DIR/manifest.json.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub rulelab_version: String,
    /// The family that ran (`landscape`, ...).
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
    /// Bytes of the results and series files that hold finished chunks.
    pub results_bytes: u64,
    pub trajectories_bytes: u64,
    /// The files after their headers (entry 0) and after each finished chunk.
    pub marks: Vec<ChunkMark>,
    pub device: String,
    pub adapter: String,
    /// Seconds spent computing chunks, summed over resumed runs.
    pub compute_seconds: f64,
    pub learner_steps_per_s: f64,
    pub complete: bool,
    /// For a merge: each shard's directory, learners, device and adapter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// The names of the results file and the series file (the family's; manifests
    /// written before families named them hold the landscape family's).
    #[serde(default = "results_file")]
    pub results_file: String,
    #[serde(default = "series_file")]
    pub series_file: String,
}

fn results_file() -> String {
    "results.csv".into()
}

fn series_file() -> String {
    "trajectories.csv".into()
}

impl Manifest {
    /// The files the manifest vouches for, each with its marks (header, then chunks).
    pub fn files(&self) -> Vec<(String, Vec<Mark>)> {
        let mut v = vec![(
            self.results_file.clone(),
            self.marks.iter().map(|c| c.results).collect(),
        )];
        if self.marks[0].series.is_some() {
            v.push((
                self.series_file.clone(),
                self.marks.iter().filter_map(|c| c.series).collect(),
            ));
        }
        v
    }

    /// Refuses a manifest whose fields disagree with one another: one that was edited
    /// or damaged cannot say which rows are good.
    pub fn check(&self, path: &Path) -> Result<()> {
        let bad = |what: String| {
            Error::invalid(
                path.display().to_string(),
                format!(
                    "is inconsistent ({what}): it was edited or damaged, so it cannot vouch \
                     for any row; restore it, or start again in a new directory"
                ),
            )
        };
        let last = self
            .marks
            .last()
            .ok_or_else(|| bad("it records no header".into()))?;
        if self.marks.len() as u64 != self.chunks_done + 1 {
            return Err(bad(format!(
                "chunks_done is {} but it records {} chunks",
                self.chunks_done,
                self.marks.len() - 1
            )));
        }
        if self.results_bytes != last.results.bytes
            || self.trajectories_bytes != last.series.map_or(0, |m| m.bytes)
        {
            return Err(bad(format!(
                "results_bytes {} and trajectories_bytes {} disagree with the last chunk's \
                 {} and {}",
                self.results_bytes,
                self.trajectories_bytes,
                last.results.bytes,
                last.series.map_or(0, |m| m.bytes)
            )));
        }
        if self.chunk == 0
            || self.first > self.end
            || self.end > self.grid_size
            || self.chunks_done > self.chunks_total
            || self.complete != (self.chunks_done == self.chunks_total)
        {
            return Err(bad("its chunk counts do not add up".into()));
        }
        if self.marks[0].end != self.first
            || (self.complete && last.end != self.end)
            || last.end > self.end
        {
            return Err(bad(format!(
                "its chunks cover learners {}..{}, not {}..{}",
                self.marks[0].end, last.end, self.first, self.end
            )));
        }
        for (i, m) in self.marks.iter().enumerate() {
            if i > 0 {
                let p = self.marks[i - 1];
                if m.end <= p.end {
                    return Err(bad(format!("chunk {i} ends at learner {}", m.end)));
                }
                if m.results.bytes < p.results.bytes
                    || m.series.map_or(0, |s| s.bytes) < p.series.map_or(0, |s| s.bytes)
                    || m.series.is_some() != p.series.is_some()
                {
                    return Err(bad(format!("chunk {i} records files that shrank")));
                }
            }
        }
        Ok(())
    }
}

pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::invalid(
            path.display().to_string(),
            format!(
                "is not a rulelab manifest ({e}); restore it, or start again in a new directory"
            ),
        )
    })?;
    m.check(&path)?;
    Ok(m)
}

pub fn write_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    crate::files::write_json(&dir.join("manifest.json"), m)
}

/// How much of a file its marks vouch for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Leading marks whose prefix the file holds exactly.
    pub good: usize,
    /// The file's length.
    pub len: u64,
    /// The first mark that fails lies within the file (its bytes differ) rather than
    /// past its end (the file was cut short).
    pub damaged: bool,
}

/// Checks `path` against `marks` (increasing byte counts) in one pass.
pub fn verify(path: &Path, marks: &[Mark]) -> Result<Verified> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Verified {
                good: 0,
                len: 0,
                damaged: false,
            })
        }
        Err(e) => return Err(io_error(path)(e)),
    };
    let len = f.metadata().map_err(io_error(path))?.len();
    let mut h = Fnv::default();
    let mut at = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for (i, m) in marks.iter().enumerate() {
        if m.bytes > len {
            return Ok(Verified {
                good: i,
                len,
                damaged: false,
            });
        }
        while at < m.bytes {
            let n = ((m.bytes - at) as usize).min(buf.len());
            f.read_exact(&mut buf[..n]).map_err(io_error(path))?;
            h.update(&buf[..n]);
            at += n as u64;
        }
        if h.0 != m.fnv {
            return Ok(Verified {
                good: i,
                len,
                damaged: true,
            });
        }
    }
    Ok(Verified {
        good: marks.len(),
        len,
        damaged: false,
    })
}

/// Cuts `path` to `len` bytes (never extends it).
pub fn cut(path: &Path, len: u64) -> Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_error(path))?;
    if f.metadata().map_err(io_error(path))?.len() > len {
        f.set_len(len).map_err(io_error(path))?;
        f.sync_all().map_err(io_error(path))?;
    }
    Ok(())
}

/// Appends `bytes` and makes them durable; returns the new mark.
pub fn append(path: &Path, mark: Mark, bytes: &[u8]) -> Result<Mark> {
    let mut f = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io_error(path))?;
    f.write_all(bytes).map_err(io_error(path))?;
    f.sync_data().map_err(io_error(path))?;
    Ok(mark.extend(bytes))
}

/// Creates (or empties) `path` with `bytes`, durably; returns its mark.
pub fn create(path: &Path, bytes: &[u8]) -> Result<Mark> {
    let mut f = File::create(path).map_err(io_error(path))?;
    f.write_all(bytes).map_err(io_error(path))?;
    f.sync_all().map_err(io_error(path))?;
    Ok(Mark::of(bytes))
}

/// Tries the lock a few times over half a second before calling it held. A process
/// that forks (any thread of this one spawning a child, say) shares every open file,
/// locks included, with the child until the child's exec closes them: a lock that is
/// only inherited that way clears within milliseconds, a real writer's does not.
fn try_lock_patiently(file: &File) -> std::result::Result<(), std::fs::TryLockError> {
    let mut tries = 0;
    loop {
        match file.try_lock() {
            Err(std::fs::TryLockError::WouldBlock) if tries < 25 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// An exclusive claim on an output directory, held until dropped.
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Claims `dir` (created if needed) or refuses, naming the process that holds it.
    /// The lock file's text is rewritten only when `note_owner`: a run that will write
    /// nothing leaves every file as it was.
    pub fn acquire(dir: &Path, note_owner: bool) -> Result<DirLock> {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let path = dir.join(".rulelab.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error(&path))?;
        match try_lock_patiently(&file) {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                let owner = owner.trim();
                return Err(Error::invalid(
                    "--out",
                    format!(
                        "{} is being written by another rulelab ({}); wait for it, or choose \
                         another directory",
                        dir.display(),
                        if owner.is_empty() {
                            "process unknown"
                        } else {
                            owner
                        }
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(&path)(e)),
        }
        let lock = DirLock { _file: file, path };
        if note_owner {
            lock.note_owner()?;
        }
        Ok(lock)
    }

    /// Refuses as [`DirLock::acquire`] would when another process holds `dir`, without
    /// creating or writing anything (a directory without a lock file is free).
    pub fn check(dir: &Path) -> Result<()> {
        let path = dir.join(".rulelab.lock");
        if !path.exists() {
            return Ok(());
        }
        DirLock::acquire(dir, false).map(drop)
    }

    /// Writes who holds the lock into the lock file.
    pub fn note_owner(&self) -> Result<()> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "this host".into());
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let text = format!(
            "pid {} on {host}, since unix time {since}: {}\n",
            std::process::id(),
            std::env::args().collect::<Vec<_>>().join(" ")
        );
        let mut f = &self._file;
        f.set_len(0).map_err(io_error(&self.path))?;
        f.rewind().map_err(io_error(&self.path))?;
        f.write_all(text.as_bytes()).map_err(io_error(&self.path))?;
        Ok(())
    }
}
