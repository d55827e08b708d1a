//! The K-th of N equal parts of a grid: how a sweep splits over machines, by
//! `--shard K/N` or from a Slurm array task's variables.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

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

    /// The shard of a Slurm array task: None outside an array job (no
    /// SLURM_ARRAY_TASK_* variable set). Inside one, K = (ID − MIN) / STEP of COUNT; a
    /// missing or non-numeric value, or an ID that is not MIN + K·STEP for some K <
    /// COUNT, is an error naming the variables: an array job never falls back to the
    /// whole grid.
    pub fn from_slurm() -> Result<Option<Shard>> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Shard::from_slurm`] over any source of variables (tests pass a map).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
        const NAMES: [&str; 5] = [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_COUNT",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_MAX",
            "SLURM_ARRAY_TASK_STEP",
        ];
        let values: Vec<Option<String>> = NAMES.iter().map(|n| var(n)).collect();
        if values.iter().all(Option::is_none) {
            return Ok(None);
        }
        let shown = NAMES
            .iter()
            .zip(&values)
            .map(|(n, v)| format!("{n}={}", v.as_deref().unwrap_or("(unset)")))
            .collect::<Vec<_>>()
            .join(" ");
        let bad = |why: &str| {
            Error::invalid(
                "Slurm array",
                format!("{why} ({shown}); pass --shard K/N to choose the part yourself"),
            )
        };
        let num = |i: usize, default: Option<u64>| -> Result<u64> {
            match &values[i] {
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| bad(&format!("{} is not a number", NAMES[i]))),
                None => default.ok_or_else(|| bad(&format!("{} is not set", NAMES[i]))),
            }
        };
        let id = num(0, None)?;
        let count = num(1, None)?;
        let min = num(2, Some(0))?;
        let step = num(4, Some(1))?;
        if count == 0 || step == 0 {
            return Err(bad("SLURM_ARRAY_TASK_COUNT and _STEP must be at least 1"));
        }
        let offset = id
            .checked_sub(min)
            .filter(|o| o % step == 0 && o / step < count)
            .ok_or_else(|| {
                bad(
                    "the task ID is not MIN + K * STEP for a K below COUNT (rulelab needs \
                     a contiguous array, --array=MIN-MAX[:STEP])",
                )
            })?;
        Ok(Some(Shard {
            index: offset / step,
            count,
        }))
    }

    /// The learners [first, end) of a grid of `total`.
    pub fn range(&self, total: u64) -> (u64, u64) {
        let at = |k: u64| ((total as u128 * k as u128) / self.count as u128) as u64;
        (at(self.index), at(self.index + 1))
    }
}
