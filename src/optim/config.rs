//! What defines an optimiser over one parameter arena: the member, the groups (runs of
//! the arena) and their hyper-parameters, clipping and the non-finite guard.

use super::hyper::Hyper;
use super::member::Member;
use crate::error::{Error, Result};
use num_traits::Float;
use serde::{Deserialize, Serialize};

/// A contiguous run of the arena updated with one set of hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub offset: usize,
    pub len: usize,
    /// Index into [`Config::hypers`].
    pub hyper: usize,
}

/// Everything that defines an optimiser over one arena.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub member: Member,
    pub hypers: Vec<Hyper>,
    pub groups: Vec<Group>,
    /// Global-norm gradient clipping: gradients are scaled by
    /// min(1, clip_norm / (||g|| + 1e-6)) over all groups not skipped.
    pub clip_norm: Option<f64>,
    /// Skip (and count) a group whose gradient holds NaN or an infinity this step.
    pub skip_nonfinite: bool,
}

impl Config {
    /// One group over the whole arena.
    pub fn single(member: Member, hyper: Hyper, len: usize) -> Config {
        Config {
            member,
            hypers: vec![hyper],
            groups: vec![Group {
                offset: 0,
                len,
                hyper: 0,
            }],
            clip_norm: None,
            skip_nonfinite: false,
        }
    }

    /// Checks every field the member uses and the group table against an arena of
    /// `arena_len` parameters; the error names the field.
    pub fn validate(&self, arena_len: usize) -> Result<()> {
        if arena_len == 0 {
            return Err(Error::invalid("arena", "length must be at least 1"));
        }
        let spec = self.member.spec();
        for (i, h) in self.hypers.iter().enumerate() {
            for &(hp, domain) in spec.hypers {
                domain
                    .check(hp.get(h))
                    .map_err(|m| Error::invalid(format!("hypers[{i}].{}", hp.name()), m))?;
            }
        }
        if self.groups.is_empty() {
            return Err(Error::invalid("groups", "at least one group is needed"));
        }
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        order.sort_by_key(|&i| self.groups[i].offset);
        let mut prev: Option<usize> = None;
        for &i in &order {
            let g = self.groups[i];
            let end = g.offset.saturating_add(g.len);
            if g.hyper >= self.hypers.len() {
                return Err(Error::invalid(
                    format!("groups[{i}].hyper"),
                    format!(
                        "{} names no entry of hypers (there are {})",
                        g.hyper,
                        self.hypers.len()
                    ),
                ));
            }
            if end > arena_len {
                return Err(Error::invalid(
                    format!("groups[{i}]"),
                    format!("range {}..{end} leaves the arena of {arena_len}", g.offset),
                ));
            }
            if let Some(p) = prev {
                let pg = self.groups[p];
                if g.offset < pg.offset + pg.len && g.len > 0 {
                    return Err(Error::invalid(
                        format!("groups[{i}]"),
                        format!(
                            "range {}..{end} overlaps groups[{p}] {}..{}",
                            g.offset,
                            pg.offset,
                            pg.offset + pg.len
                        ),
                    ));
                }
            }
            if g.len > 0 {
                prev = Some(i);
            }
        }
        if let Some(c) = self.clip_norm {
            if !(c > 0.0 && c.is_finite()) {
                return Err(Error::invalid(
                    "clip_norm",
                    format!("{c} must be finite and > 0"),
                ));
            }
        }
        Ok(())
    }

    /// This config with hyper-parameter entry `i` replaced, validated.
    pub fn with_hyper(&self, i: usize, h: Hyper, arena_len: usize) -> Result<Config> {
        let mut c = self.clone();
        *c.hypers
            .get_mut(i)
            .ok_or_else(|| Error::invalid("hyper index", format!("{i} is out of range")))? = h;
        c.validate(arena_len)?;
        Ok(c)
    }

    /// Initial state buffers over the arena (elements outside every group stay 0).
    pub fn initial_states<F: Float>(&self, arena_len: usize) -> Vec<Vec<F>> {
        let k = self.member.spec().states.len();
        let mut out = vec![vec![F::zero(); arena_len]; k];
        for g in &self.groups {
            let init = self.member.initial_state(&self.hypers[g.hyper]);
            for (s, &v) in out.iter_mut().zip(&init) {
                s[g.offset..g.offset + g.len].fill(F::from(v).unwrap());
            }
        }
        out
    }
}
