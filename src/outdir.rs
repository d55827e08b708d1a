//! A directory a one-shot command writes (a fit, a cross-validation, a merge) under the
//! same discipline as the study runner's: one writer at a time (the runner's lock), a
//! mark that says the directory is being written, and a manifest written last that
//! commits it and names the kind of run. So a killed or failed run is never taken for
//! a finished one, a finished one is never written over, and a directory that holds
//! another run (or files rulelab did not write) is refused with the way out.
//!
//! Knows no science: a run's kind, the files it writes and its inputs are the caller's.

use crate::error::{Error, Result};
use crate::files::io_error;
use crate::sweep::store::DirLock;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The runner's lock file (every rulelab directory has one).
const LOCK: &str = ".rulelab.lock";
/// Present while a run writes the directory: its kind, then the files it writes.
const UNFINISHED: &str = ".rulelab.unfinished";
const MANIFEST: &str = "manifest.json";

/// A claimed directory, locked until dropped or [`Claim::commit`]ted.
pub struct Claim {
    dir: PathBuf,
    kind: &'static str,
    _lock: DirLock,
    /// What the claim found and did (an unfinished run cleared), for the caller to say.
    pub note: Option<String>,
}

/// What a manifest.json says it is: `kind` (one-shot runs), `family` (study runs).
pub fn kind_of(manifest: &Path) -> String {
    let v: Option<serde_json::Value> = std::fs::read(manifest)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match v {
        Some(v) => match (v.get("kind"), v.get("family")) {
            (Some(k), _) => format!("a finished {}", k.as_str().unwrap_or("run")),
            (None, Some(f)) => format!("a {} study run", f.as_str().unwrap_or("rulelab")),
            _ => "a manifest.json of another kind".into(),
        },
        None => "a manifest.json that is not rulelab's JSON".into(),
    }
}

/// What one-shot run `dir` holds, finished or not (a fit, a cross-validation, a merge
/// under way), so a study run refuses it by name instead of misreading its manifest.
pub fn one_shot_run(dir: &Path) -> Option<String> {
    let mark = dir.join(UNFINISHED);
    if let Ok(text) = std::fs::read_to_string(&mark) {
        return Some(format!(
            "an unfinished {}",
            text.lines().next().unwrap_or("run")
        ));
    }
    let manifest = dir.join(MANIFEST);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).ok()?).ok()?;
    v.get("kind").map(|_| kind_of(&manifest))
}

impl Claim {
    /// Claims `dir` (created if needed) for a run of `kind` that writes the files
    /// `writes` (manifest.json last). `inputs` are files the run reads that may sit in
    /// the directory. Refuses a directory that holds a finished run, another kind's
    /// unfinished one, or anything else; clears this kind's unfinished run (killed or
    /// failed before its manifest) and says so in [`Claim::note`].
    pub fn new(dir: &Path, kind: &'static str, writes: &[&str], inputs: &[&Path]) -> Result<Claim> {
        Claim::open(dir, kind, "", writes, &[], inputs)
    }

    /// As [`Claim::new`], for a run that can continue: an unfinished run of the same
    /// kind and `fingerprint` (its settings and inputs) keeps the files in `keeps` (its
    /// checkpoint) and clears the rest; one with another fingerprint is cleared whole.
    pub fn open(
        dir: &Path,
        kind: &'static str,
        fingerprint: &str,
        writes: &[&str],
        keeps: &[&str],
        inputs: &[&Path],
    ) -> Result<Claim> {
        let lock = DirLock::acquire(dir, false)?;
        let mut note = None;
        if let Some(before) = inspect(dir, kind, inputs)? {
            let same = !fingerprint.is_empty() && before.fingerprint == fingerprint;
            for (p, name) in entries(dir)? {
                if before.wrote(&name) && !(same && keeps.contains(&name.as_str())) {
                    std::fs::remove_file(&p).map_err(io_error(&p))?;
                }
            }
            let what = if same {
                "with these settings: continued it"
            } else {
                "(killed or failed before it finished): cleared it and started again"
            };
            note = Some(format!(
                "{} held an unfinished {kind} {what}",
                dir.display()
            ));
        }
        lock.note_owner()?;
        let mut text = format!("{kind}\nfingerprint {fingerprint}\n");
        for w in writes.iter().chain([&MANIFEST]) {
            text.push_str(w);
            text.push('\n');
        }
        crate::files::write_atomic(&dir.join(UNFINISHED), text.as_bytes())?;
        Ok(Claim {
            dir: dir.to_path_buf(),
            kind,
            _lock: lock,
            note,
        })
    }

    /// Whether [`Claim::new`] would take `dir`, without taking it or writing anything
    /// (so a command refuses before its work, and before it prints a word).
    pub fn check(dir: &Path, kind: &'static str, inputs: &[&Path]) -> Result<()> {
        DirLock::check(dir)?;
        inspect(dir, kind, inputs).map(|_| ())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Commits a run whose caller wrote its own manifest.json (last): removes the mark.
    pub fn finish(self) -> Result<()> {
        let mark = self.dir.join(UNFINISHED);
        std::fs::remove_file(&mark).map_err(io_error(&mark))
    }

    /// Commits the run: writes manifest.json (its `kind` first, then `body`'s fields)
    /// durably, then removes the unfinished mark. Call after every other file is written.
    pub fn commit(self, body: &impl Serialize) -> Result<()> {
        #[derive(Serialize)]
        struct Committed<'a, T: Serialize> {
            kind: &'a str,
            #[serde(flatten)]
            body: &'a T,
        }
        let manifest = Committed {
            kind: self.kind,
            body,
        };
        crate::files::write_json(&self.dir.join(MANIFEST), &manifest)?;
        self.finish()
    }
}

/// An unfinished run of a claim's own kind, as its mark describes it.
struct Unfinished {
    fingerprint: String,
    written: Vec<String>,
}

impl Unfinished {
    /// Whether `name` is one of its files, or the temporary file an atomic write of one
    /// leaves when killed (`cv.tmp`, `fit.tmp.png`).
    fn wrote(&self, name: &str) -> bool {
        self.written.iter().any(|w| {
            let stem = w.split('.').next().unwrap_or(w);
            name == w || name.starts_with(&format!("{stem}.tmp"))
        })
    }
}

/// What `dir` holds, refused unless it may be claimed for `kind`: nothing (or only
/// `inputs`), or an unfinished run of `kind` (returned).
fn inspect(dir: &Path, kind: &str, inputs: &[&Path]) -> Result<Option<Unfinished>> {
    if !dir.exists() {
        return Ok(None);
    }
    let refuse = |what: String| {
        Error::invalid(
            "--out",
            format!(
                "{} holds {what}; choose an empty or new directory",
                dir.display()
            ),
        )
    };
    if dir.join(MANIFEST).exists() {
        // The manifest is the commit: whatever else is there, the run finished.
        return Err(refuse(kind_of(&dir.join(MANIFEST))));
    }
    let mark = dir.join(UNFINISHED);
    let before = if mark.exists() {
        let text = std::fs::read_to_string(&mark).map_err(io_error(&mark))?;
        let mut lines = text.lines();
        let theirs = lines.next().unwrap_or("").trim();
        if theirs != kind {
            return Err(refuse(format!("an unfinished {theirs}")));
        }
        let fingerprint = lines
            .next()
            .and_then(|l| l.strip_prefix("fingerprint "))
            .unwrap_or("")
            .to_string();
        let written = lines
            .filter(|f| is_plain_name(f))
            .map(String::from)
            .collect();
        Some(Unfinished {
            fingerprint,
            written,
        })
    } else {
        None
    };
    let inputs: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let mut strays = Vec::new();
    for (p, name) in entries(dir)? {
        let ours = [LOCK, UNFINISHED, ".rulelab.tmp"].contains(&name.as_str())
            || before.as_ref().is_some_and(|b| b.wrote(&name));
        let input = std::fs::canonicalize(&p).is_ok_and(|c| inputs.contains(&c));
        if !ours && !input {
            strays.push(name);
        }
    }
    if !strays.is_empty() {
        strays.sort();
        let shown = strays
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let more = if strays.len() > 5 { ", ..." } else { "" };
        return Err(refuse(format!(
            "files this {kind} did not write ({shown}{more})"
        )));
    }
    Ok(before)
}

/// A directory's entries: each path with its file name.
fn entries(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let p = e.map_err(io_error(dir))?.path();
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        out.push((p, name));
    }
    Ok(out)
}

/// A file name without a directory part (a mark's list never reaches outside).
fn is_plain_name(f: &str) -> bool {
    !f.is_empty() && !f.contains('/') && !f.contains('\\') && f != ".." && f != "."
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rulelab-outdir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_finished_run_is_refused_and_an_unfinished_one_cleared() {
        let d = dir("cycle");
        let c = Claim::new(&d, "fit", &["a.csv"], &[]).unwrap();
        assert!(c.note.is_none());
        std::fs::write(d.join("a.csv"), "x").unwrap();
        drop(c); // killed before its commit
        let c = Claim::new(&d, "fit", &["a.csv"], &[]).unwrap();
        assert!(c.note.as_deref().unwrap().contains("unfinished fit"));
        assert!(!d.join("a.csv").exists());
        std::fs::write(d.join("a.csv"), "y").unwrap();
        c.commit(&serde_json::json!({"n": 1})).unwrap();
        let err = Claim::new(&d, "fit", &["a.csv"], &[])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("holds a finished fit"), "{err}");
        let err = Claim::new(&d, "cv", &[], &[]).err().unwrap().to_string();
        assert!(err.contains("holds a finished fit"), "{err}");
        assert_eq!(std::fs::read_to_string(d.join("a.csv")).unwrap(), "y");
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn a_checkpoint_is_kept_for_the_same_settings_only() {
        let d = dir("resume");
        let w = ["part.jsonl", "out.csv"];
        let c = Claim::open(&d, "cv", "abc", &w, &["part.jsonl"], &[]).unwrap();
        std::fs::write(d.join("part.jsonl"), "1\n").unwrap();
        std::fs::write(d.join("out.tmp"), "torn").unwrap();
        drop(c);
        let c = Claim::open(&d, "cv", "abc", &w, &["part.jsonl"], &[]).unwrap();
        assert!(c.note.as_deref().unwrap().contains("continued"));
        assert!(d.join("part.jsonl").exists() && !d.join("out.tmp").exists());
        drop(c);
        let c = Claim::open(&d, "cv", "xyz", &w, &["part.jsonl"], &[]).unwrap();
        assert!(c.note.as_deref().unwrap().contains("cleared"));
        assert!(!d.join("part.jsonl").exists());
        drop(c);
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn foreign_files_and_other_kinds_are_refused_and_inputs_allowed() {
        let d = dir("foreign");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("data.csv"), "x").unwrap();
        let err = Claim::new(&d, "cv", &[], &[]).err().unwrap().to_string();
        assert!(err.contains("did not write (data.csv)"), "{err}");
        let c = Claim::new(&d, "cv", &[], &[&d.join("data.csv")]).unwrap();
        drop(c);
        let err = Claim::new(&d, "fit", &[], &[&d.join("data.csv")])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("an unfinished cv"), "{err}");
        std::fs::write(d.join("manifest.json"), "{\"family\": \"hippo\"}").unwrap();
        let err = Claim::new(&d, "cv", &[], &[&d.join("data.csv")])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("a hippo study run"), "{err}");
        std::fs::remove_dir_all(&d).ok();
    }
}
