//! A cross-validation as a run (`rulelab infer cv`): checked before any work, its
//! directory claimed under the runner's discipline, each finished model-fold kept in a
//! checkpoint so a stopped cv continues to the same bytes, committed by its manifest.

use super::cv::{compare, folds, run, validate, write, CvModel, Pair, Unit};
use super::input::Input;
use super::options::FitConfig;
use crate::error::{Error, Result};
use crate::outdir::Claim;
use std::path::Path;

/// A cross-validation checked and ready to run: `rulelab infer cv` (and the Python
/// package) validate everything before opening a device or writing a file.
pub struct CvPlan {
    pub models: Vec<CvModel>,
    pub fits: Vec<(CvModel, FitConfig)>,
    pub input: Input,
    pub folds: usize,
    pub out: std::path::PathBuf,
    /// How cv's picture is written (default: SVG and PNG at 300 dpi).
    pub figure: crate::plot::Figure,
}

impl CvPlan {
    /// Reads `data` and checks the models (a comma-separated list of [`CvModel`]
    /// names), the networks' settings from `opts`, the folds and `out`, which must
    /// hold no cross-validation yet. Writes nothing.
    pub fn new(
        models: &str,
        opts: &super::options::FitOptions,
        folds: usize,
        data: &Path,
        ibl: bool,
        out: &Path,
    ) -> Result<CvPlan> {
        let models: Vec<CvModel> = models
            .split(',')
            .map(|m| {
                CvModel::from_name(m.trim()).ok_or_else(|| {
                    Error::invalid(
                        "--models",
                        format!("{m:?} is not one of {}", CvModel::names().join(", ")),
                    )
                })
            })
            .collect::<Result<_>>()?;
        opts.refuse_rnn_only(models.contains(&CvModel::Rnn), "--models names no rnn")?;
        if !models
            .iter()
            .any(|m| matches!(m, CvModel::Dnn | CvModel::Rnn))
        {
            // --seed still deals the folds.
            opts.refuse_all_but(&["seed"], "--models names no network")?;
        }
        let fits: Vec<(CvModel, FitConfig)> = models
            .iter()
            .map(|&m| {
                Ok((
                    m,
                    opts.config(if m == CvModel::Rnn { "rnn" } else { "dnn" })?,
                ))
            })
            .collect::<Result<_>>()?;
        let input = super::input::read(data, ibl, 2)?;
        validate(folds, input.data.animals.len(), &models)?;
        Claim::check(out, CV_KIND, &[&input.path])?;
        Ok(CvPlan {
            models,
            fits,
            input,
            folds,
            out: out.to_path_buf(),
            figure: Default::default(),
        })
    }

    /// Fits every model on every fold on `backend` and writes cv.csv, comparison.csv,
    /// the picture and manifest.json (last, committing the directory). A stopped cv
    /// continues where it stopped when run again with the same settings (its finished
    /// units are kept in cv.partial.jsonl meanwhile). `progress` hears (model, folds) as
    /// each set of fits starts. Returns the pairs and what the directory held before.
    pub fn run(
        &self,
        backend: &crate::gpu::Backend,
        progress: impl FnMut(&str, &[usize]),
    ) -> Result<(Vec<Pair>, Vec<String>)> {
        let (out, k, input) = (&self.out, self.folds, &self.input);
        let data_fnv = crate::files::fnv_hex(&input.path)?;
        let settings = serde_json::json!({
            "data_fnv": data_fnv, "models": self.models.iter().map(|m| m.name()).collect::<Vec<_>>(),
            "folds": k, "fits": self.fits.iter().map(|(_, c)| c).collect::<Vec<_>>(),
        });
        let fingerprint = format!(
            "{:016x}",
            crate::files::Fnv::of(settings.to_string().as_bytes())
        );
        let claim = Claim::open(
            out,
            CV_KIND,
            &fingerprint,
            &[
                CHECKPOINT,
                "cv.csv",
                "comparison.csv",
                "cv.svg",
                "cv.png",
                "cv.pdf",
            ],
            &[CHECKPOINT],
            &[&input.path],
        )?;
        let checkpoint = out.join(CHECKPOINT);
        let done = read_checkpoint(&checkpoint, self.fits.len(), k)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&checkpoint)
            .map_err(crate::files::io_error(&checkpoint))?;
        let record = |units: &[Unit]| -> Result<()> {
            use std::io::Write;
            let mut text = String::new();
            for u in units {
                text += &serde_json::to_string(u).expect("serialises");
                text.push('\n');
            }
            file.write_all(text.as_bytes())
                .and_then(|_| file.sync_data())
                .map_err(crate::files::io_error(&checkpoint))
        };
        let start = std::time::Instant::now();
        let rows = run(&self.fits, k, input, backend, &done, record, progress)?;
        let pairs = compare(&rows);
        write(out, &rows, &pairs, &self.figure)?;
        std::fs::remove_file(&checkpoint).map_err(crate::files::io_error(&checkpoint))?;
        let manifest = serde_json::json!({
            "data": input.path.display().to_string(),
            "data_fnv": data_fnv,
            "models": self.models.iter().map(|m| m.name()).collect::<Vec<_>>(),
            "folds": k,
            "fold_of_animal": input.data.animals.iter()
                .zip(folds(input.data.animals.len(), k, self.fits[0].1.seed))
                .map(|(a, f)| (a.id.clone(), f))
                .collect::<std::collections::BTreeMap<_, _>>(),
            "fits": self.fits.iter().map(|(m, c)| (m.name(), c))
                .collect::<std::collections::BTreeMap<_, _>>(),
            "device": backend.describe(),
            "seconds": start.elapsed().as_secs_f64(),
            "units_continued": done.len(),
        });
        let notes = claim.note.clone().into_iter().collect();
        claim.commit(&manifest)?;
        Ok((pairs, notes))
    }
}

/// What a cross-validation's manifest calls it.
const CV_KIND: &str = "cross-validation";

/// A stopped cross-validation's finished units, one JSON line each.
const CHECKPOINT: &str = "cv.partial.jsonl";

/// The units a checkpoint holds, each checked; a torn or damaged tail (a kill in the
/// middle of a write) is cut off, so those units are computed again.
fn read_checkpoint(path: &Path, models: usize, k: usize) -> Result<Vec<Unit>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(vec![]);
    };
    let mut units = vec![];
    let mut good = 0;
    for line in text.split_inclusive('\n') {
        let unit = line
            .strip_suffix('\n')
            .and_then(|l| serde_json::from_str::<Unit>(l).ok())
            .filter(|u| {
                u.model < models && u.fold < k && u.train_ll.is_finite() && u.test_ll.is_finite()
            });
        match unit {
            Some(u) => {
                units.push(u);
                good += line.len();
            }
            None => break,
        }
    }
    if good < text.len() {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(crate::files::io_error(path))?;
        f.set_len(good as u64)
            .and_then(|_| f.sync_all())
            .map_err(crate::files::io_error(path))?;
    }
    Ok(units)
}
