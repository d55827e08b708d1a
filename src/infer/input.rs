//! The animals a fit reads (the project's CSV or an IBL table) with the record of the
//! simulation that made them, when one did: checked against the data before any
//! comparison with the truth, and the truth's own likelihood and weights.

use super::data::{read_csv, read_ibl, Dataset};
use super::net::K;
use super::simulate::{self, SimRecord};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub struct Input {
    pub path: PathBuf,
    pub data: Dataset,
    pub sim: Option<SimRecord>,
}

/// Reads a table (the project's CSV, or IBL with `ibl`) and its simulation record.
pub fn read(path: &Path, ibl: bool, min_trials: usize) -> Result<Input> {
    let data = if ibl {
        read_ibl(path)?
    } else {
        read_csv(path)?
    };
    data.require_trials(path, min_trials)?;
    let sim = if ibl {
        None
    } else {
        simulate::read_record(path)?
    };
    Ok(Input {
        path: path.to_path_buf(),
        data,
        sim,
    })
}

/// The true probabilities' mean log-likelihood per trial, from FILE.truth.csv, checked
/// row by row against the data (same animals, same number of trials).
pub(super) fn truth_ll(input: &Input) -> Result<Option<f64>> {
    Ok(
        truth_ll_by_animal(input)?
            .map(|sums| sums.iter().sum::<f64>() / input.data.trials() as f64),
    )
}

/// Per animal, the summed log-likelihood of its choices under the true probabilities
/// (see [`truth_ll`]); None for data that was not simulated.
pub fn truth_ll_by_animal(input: &Input) -> Result<Option<Vec<f64>>> {
    if input.sim.is_none() {
        return Ok(None);
    }
    let file = simulate::sidecars(&input.path).0;
    let text = std::fs::read_to_string(&file).map_err(crate::files::io_error(&file))?;
    let mut lines = text.lines().skip(1);
    let mut sums = Vec::with_capacity(input.data.animals.len());
    for a in &input.data.animals {
        let mut sum = 0.0;
        for t in &a.trials {
            let line = lines.next().ok_or_else(|| {
                Error::invalid(file.display().to_string(), "has fewer rows than the data")
            })?;
            let f: Vec<&str> = line.split(',').collect();
            let p: f64 = f
                .get(4)
                .and_then(|v| v.parse().ok())
                .filter(|p: &f64| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    Error::invalid(file.display().to_string(), format!("bad row {line:?}"))
                })?;
            if f[0] != a.id || f[1].parse::<i64>().ok() != Some(t.trial) {
                return Err(Error::invalid(
                    file.display().to_string(),
                    format!(
                        "row {line:?} does not match the data's animal {} trial {}",
                        a.id, t.trial
                    ),
                ));
            }
            sum += if t.choice == 1 {
                p.ln()
            } else {
                (1.0 - p).ln()
            };
        }
        sums.push(sum);
    }
    if lines.next().is_some() {
        return Err(Error::invalid(
            file.display().to_string(),
            "has more rows than the data",
        ));
    }
    Ok(Some(sums))
}

/// The true weight paths of the first `n` animals, from FILE.truth.csv (already checked
/// against the data by `truth_ll`).
pub(super) fn truth_paths(input: &Input, n: usize) -> Result<Option<Vec<Vec<[f64; K]>>>> {
    if input.sim.is_none() {
        return Ok(None);
    }
    let file = simulate::sidecars(&input.path).0;
    let text = std::fs::read_to_string(&file).map_err(crate::files::io_error(&file))?;
    let mut lines = text.lines().skip(1);
    let mut out = vec![];
    for a in input.data.animals.iter().take(n) {
        let path = (0..a.trials.len())
            .map(|_| {
                let f: Vec<f64> = lines
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .skip(2)
                    .take(2)
                    .map(|v| v.parse().unwrap_or(f64::NAN))
                    .collect();
                [
                    f.first().copied().unwrap_or(f64::NAN),
                    f.get(1).copied().unwrap_or(f64::NAN),
                ]
            })
            .collect();
        out.push(path);
    }
    Ok(Some(out))
}
