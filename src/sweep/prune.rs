//! Adaptive sweeps: successive halving inside one batched run.
//!
//! `[prune] every = E, keep = K, min_steps = M, group = G`: at the rungs t = M, M + E,
//! M + 2E, ... (below the last step), the settings of each group of G settings (every
//! non-replicate axis fixed; their seeds judged together by the median of their current
//! loss, a diverged seed counting as the worst) are ranked, and only the best ceil(K·n)
//! of the n still running go on. The others stop computing; their rows are kept, with
//! `pruned_at` = the rung, the loss there as their final loss, and NaN past it in their
//! trajectories.
//!
//! The contract: decisions are made within a group of G consecutive settings of the
//! grid (replicate axes last, so a setting's seeds are neighbours), from losses the
//! device computed. A group is always one chunk and shards are cut at group boundaries,
//! so decisions do not depend on chunking, sharding or resuming; they do depend on the
//! device only where two settings' medians tie to f32 round-off.

use crate::error::Result;
use crate::keys::{err, integer, number};
use serde::Serialize;
use toml::{Table, Value};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prune {
    /// Steps between rungs.
    pub every: u64,
    /// The fraction of running settings that go on at each rung, in (0, 1).
    pub keep: f64,
    /// The first rung.
    pub min_steps: u64,
    /// Settings judged together (0: every setting of the grid).
    pub group: u64,
}

impl Prune {
    /// Parses `[prune]`.
    pub fn parse(t: &Table) -> Result<Prune> {
        let mut p = Prune {
            every: 0,
            keep: 0.5,
            min_steps: 0,
            group: 0,
        };
        for (k, v) in t {
            let key = format!("prune.{k}");
            match k.as_str() {
                "every" => p.every = integer(&key, v, 1, i64::MAX)? as u64,
                "keep" => {
                    p.keep = number(&key, v)?;
                    if !(p.keep > 0.0 && p.keep < 1.0) {
                        return Err(err(&key, format!("{} must be in (0, 1)", p.keep)));
                    }
                }
                "min_steps" => p.min_steps = integer(&key, v, 1, i64::MAX)? as u64,
                "group" => p.group = integer(&key, v, 1, i64::MAX)? as u64,
                _ => {
                    return Err(err(
                        &key,
                        "unknown key; allowed: every, keep, min_steps, group",
                    ))
                }
            }
        }
        if p.every == 0 {
            return Err(err("prune.every", "is required: steps between rungs"));
        }
        if p.min_steps == 0 {
            p.min_steps = p.every;
        }
        Ok(p)
    }

    /// The rungs before `steps`.
    pub fn rungs(&self, steps: u64) -> Vec<u64> {
        (0..)
            .map(|k| self.min_steps + k * self.every)
            .take_while(|&r| r < steps)
            .collect()
    }
}

/// What a chunk's run needs to prune: the rule, and each learner's setting (learners of
/// one setting share an index; the chunk is one group).
#[derive(Clone, Debug)]
pub struct PrunePlan {
    pub prune: Prune,
    pub setting: Vec<usize>,
}

/// Which learners go on after a rung. `loss` is each learner's loss at the rung (NaN
/// or infinite when diverged), `running` whether it is still computing. Settings with a
/// running learner are ranked by the median of their learners' losses (non-finite as
/// +inf, ties by setting index); the best ceil(keep · n) keep running.
pub fn survivors(plan: &PrunePlan, loss: &[f64], running: &[bool]) -> Vec<bool> {
    let n_settings = plan.setting.iter().max().map_or(0, |&s| s + 1);
    let mut members: Vec<Vec<f64>> = vec![vec![]; n_settings];
    let mut live = vec![false; n_settings];
    for ((&s, &l), &r) in plan.setting.iter().zip(loss).zip(running) {
        members[s].push(if l.is_finite() { l } else { f64::INFINITY });
        live[s] |= r;
    }
    let mut ranked: Vec<(f64, usize)> = (0..n_settings)
        .filter(|&s| live[s])
        .map(|s| {
            let m = &mut members[s];
            m.sort_by(f64::total_cmp);
            let n = m.len();
            let median = if n % 2 == 1 {
                m[n / 2]
            } else {
                0.5 * (m[n / 2 - 1] + m[n / 2])
            };
            (median, s)
        })
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let keep = ((plan.prune.keep * ranked.len() as f64).ceil() as usize).max(1);
    let mut go_on = vec![false; n_settings];
    for &(_, s) in ranked.iter().take(keep) {
        go_on[s] = true;
    }
    plan.setting
        .iter()
        .zip(running)
        .map(|(&s, &r)| r && go_on[s])
        .collect()
}

/// Parses `[prune]` from a config's root, if present.
pub fn from_root(root: &Table) -> Result<Option<Prune>> {
    match root.get("prune") {
        None => Ok(None),
        Some(Value::Table(t)) => Prune::parse(t).map(Some),
        Some(other) => Err(err(
            "prune",
            format!("must be a table ([prune]), not {}", other.type_str()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_settings_go_on_by_their_median() {
        let plan = PrunePlan {
            prune: Prune {
                every: 10,
                keep: 0.5,
                min_steps: 10,
                group: 0,
            },
            // Four settings of two seeds.
            setting: vec![0, 0, 1, 1, 2, 2, 3, 3],
        };
        let loss = [5.0, 6.0, 1.0, 9.0, 2.0, 2.0, f64::NAN, 0.1];
        let running = [true; 8];
        let s = survivors(&plan, &loss, &running);
        // Medians: 5.5, 5.0, 2.0, inf -> settings 2 and 1 go on.
        assert_eq!(s, vec![false, false, true, true, true, true, false, false]);
        // Settings that already stopped are not ranked again.
        let s2 = survivors(&plan, &loss, &s);
        assert_eq!(
            s2,
            vec![false, false, false, false, true, true, false, false]
        );
        assert_eq!(plan.prune.rungs(35), vec![10, 20, 30]);
    }
}
