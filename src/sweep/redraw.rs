//! `rulelab plot DIR`: a finished study run's pictures drawn again from its files,
//! without computing anything: after a merge, with other axes (`[output] plot_axes`
//! is read from the run's config), in other formats or sizes. The directory is checked
//! first: not being written, its manifest complete, and its results and series files
//! exactly what the manifest vouches for.

use super::store::{self, DirLock, Manifest};
use crate::error::{Error, Result};
use std::path::Path;

/// The manifest of the finished study run in `dir`, its files verified, and the lock
/// that keeps it still while it is drawn.
pub fn finished(dir: &Path) -> Result<(Manifest, DirLock)> {
    let name = dir.display().to_string();
    if let Some(kind) = crate::outdir::one_shot_run(dir) {
        return Err(Error::invalid(
            name,
            format!(
                "holds {kind}: its pictures are drawn by the command that made it (run it \
                 again to redraw); `rulelab plot` redraws study runs (sweep, control path, \
                 infer sweep, hippo run) and merges"
            ),
        ));
    }
    if !dir.join("manifest.json").exists() {
        return Err(Error::invalid(
            name,
            "has no manifest.json: not a rulelab run directory",
        ));
    }
    let lock = DirLock::acquire(dir, false)?;
    let m = store::read_manifest(dir)?;
    if !m.complete {
        return Err(Error::invalid(
            name,
            format!(
                "is unfinished ({} of {} chunks): finish it with --resume, then plot",
                m.chunks_done, m.chunks_total
            ),
        ));
    }
    let files: [(&str, Vec<store::Mark>); 2] = [
        (&m.results_file, m.marks.iter().map(|c| c.results).collect()),
        (
            &m.series_file,
            m.marks.iter().filter_map(|c| c.series).collect(),
        ),
    ];
    for (file, marks) in files {
        let Some(last) = marks.last() else { continue };
        let path = dir.join(file);
        let v = store::verify(&path, &marks)?;
        if v.good != marks.len() || v.len != last.bytes {
            return Err(Error::invalid(
                path.display().to_string(),
                "differs from what manifest.json vouches for (edited, cut or damaged): \
                 restore it, or run the sweep again",
            ));
        }
    }
    Ok((m, lock))
}

/// The manifest of the finished run in `dir`, checked: a study run (or merge) as
/// [`finished`] checks it; a one-shot run (a fit, a cross-validation) finished, its
/// manifest naming its kind. For readers that open a run to show it (the Python
/// package's `load`).
pub fn open(dir: &Path) -> Result<serde_json::Value> {
    let name = dir.display().to_string();
    let manifest = dir.join("manifest.json");
    if let Some(kind) = crate::outdir::one_shot_run(dir) {
        if kind.starts_with("an unfinished") {
            return Err(Error::invalid(
                name,
                format!("holds {kind}: run it again to finish it"),
            ));
        }
        DirLock::check(dir)?;
        let text = std::fs::read_to_string(&manifest).map_err(crate::files::io_error(&manifest))?;
        return serde_json::from_str(&text).map_err(|e| {
            Error::invalid(manifest.display().to_string(), format!("is not JSON: {e}"))
        });
    }
    let (m, _lock) = finished(dir)?;
    serde_json::to_value(&m).map_err(|e| Error::invalid(name, e.to_string()))
}

/// The config's text with `[output] plot_axes` set to `axes` (checked as the config's
/// own would be when it is parsed).
pub fn with_plot_axes(config: &str, axes: &[String]) -> Result<String> {
    let mut root: toml::Table = config
        .parse()
        .map_err(|e| Error::invalid("manifest.json", format!("its config does not parse: {e}")))?;
    let output = root
        .entry("output")
        .or_insert_with(|| toml::Value::Table(Default::default()));
    let Some(output) = output.as_table_mut() else {
        return Err(Error::invalid("output", "is not a table"));
    };
    output.insert(
        "plot_axes".into(),
        toml::Value::Array(
            axes.iter()
                .map(|a| toml::Value::String(a.clone()))
                .collect(),
        ),
    );
    Ok(root.to_string())
}
