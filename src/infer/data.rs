//! Trial tables (spec §1): the project's CSV and the IBL trials table exported to CSV,
//! read into animals of trials with every field checked. A bad row is refused with
//! its file, line and column; trials without a response are dropped and counted.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// One trial, after dropping no-response trials.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    pub session: String,
    pub trial: i64,
    /// Signed stimulus s (right minus left).
    pub stimulus: f64,
    /// y: 0 left, 1 right.
    pub choice: u8,
    /// z: the correct side, 0 left, 1 right.
    pub correct: u8,
    /// r = 1[y = z].
    pub reward: u8,
    /// d: the first trial of a session.
    pub session_start: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Animal {
    pub id: String,
    pub trials: Vec<Trial>,
}

/// A table of animals in the order they first appear, and what reading it dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub animals: Vec<Animal>,
    /// Trials without a response, dropped before modelling.
    pub dropped: usize,
}

impl Dataset {
    pub fn trials(&self) -> usize {
        self.animals.iter().map(|a| a.trials.len()).sum()
    }

    /// Refuses an animal with fewer than `min` trials, naming it.
    pub fn require_trials(&self, file: &Path, min: usize) -> Result<()> {
        if let Some(a) = self.animals.iter().find(|a| a.trials.len() < min) {
            return Err(Error::invalid(
                file.display().to_string(),
                format!(
                    "animal {} has {} trials with a response; at least {min} are needed",
                    a.id,
                    a.trials.len()
                ),
            ));
        }
        Ok(())
    }
}

/// The project's columns, in the order `write_csv` writes them.
pub const COLUMNS: &[&str] = &[
    "animal",
    "session",
    "trial",
    "stimulus",
    "choice",
    "correct_side",
    "reward",
];

fn at(file: &Path, line: u64, col: &str) -> String {
    format!("{}:{line}, column {col}", file.display())
}

/// The CSV's header as column positions, refusing an empty file or a missing column.
fn open(file: &Path) -> Result<(csv::Reader<std::fs::File>, HashMap<String, usize>)> {
    let f = std::fs::File::open(file).map_err(crate::files::io_error(file))?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(f);
    let header = reader
        .headers()
        .map_err(|e| Error::invalid(file.display().to_string(), e.to_string()))?
        .clone();
    if header.is_empty() || header.iter().all(str::is_empty) {
        return Err(Error::invalid(
            file.display().to_string(),
            "is empty: it needs a header line and trials",
        ));
    }
    let cols = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.to_string(), i))
        .collect();
    Ok((reader, cols))
}

fn column(file: &Path, cols: &HashMap<String, usize>, name: &str) -> Result<usize> {
    cols.get(name).copied().ok_or_else(|| {
        let mut have: Vec<&str> = cols.keys().map(String::as_str).collect();
        have.sort_unstable();
        Error::invalid(
            file.display().to_string(),
            format!(
                "has no column {name:?} (its header has {})",
                have.join(", ")
            ),
        )
    })
}

/// Collects trials into animals (first-appearance order), checking that each animal's
/// trial numbers increase and marking session starts.
struct Builder {
    animals: Vec<Animal>,
    index: HashMap<String, usize>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            animals: vec![],
            index: HashMap::new(),
        }
    }

    fn push(&mut self, file: &Path, line: u64, animal: &str, mut t: Trial) -> Result<()> {
        let i = *self.index.entry(animal.to_string()).or_insert_with(|| {
            self.animals.push(Animal {
                id: animal.to_string(),
                trials: vec![],
            });
            self.animals.len() - 1
        });
        let trials = &mut self.animals[i].trials;
        if let Some(last) = trials.last() {
            if t.trial <= last.trial {
                return Err(Error::invalid(
                    at(file, line, "trial"),
                    format!(
                        "{} does not follow animal {animal}'s previous trial {}: trial numbers \
                         must increase",
                        t.trial, last.trial
                    ),
                ));
            }
        }
        t.session_start = trials.last().is_none_or(|last| last.session != t.session);
        trials.push(t);
        Ok(())
    }

    fn finish(self, file: &Path, dropped: usize) -> Result<Dataset> {
        if self.animals.is_empty() {
            return Err(Error::invalid(
                file.display().to_string(),
                if dropped > 0 {
                    format!("has no trial with a response ({dropped} without)")
                } else {
                    "has a header but no trials".to_string()
                },
            ));
        }
        Ok(Dataset {
            animals: self.animals,
            dropped,
        })
    }
}

fn record(
    file: &Path,
    r: std::result::Result<csv::StringRecord, csv::Error>,
) -> Result<(u64, csv::StringRecord)> {
    let rec = r.map_err(|e| {
        let line = e.position().map_or(0, |p| p.line());
        Error::invalid(format!("{}:{line}", file.display()), e.to_string())
    })?;
    let line = rec.position().map_or(0, |p| p.line());
    Ok((line, rec))
}

fn binary(file: &Path, line: u64, col: &str, v: &str) -> Result<u8> {
    match v {
        "0" | "0.0" => Ok(0),
        "1" | "1.0" => Ok(1),
        _ => Err(Error::invalid(
            at(file, line, col),
            format!("{v:?} is not 0 or 1"),
        )),
    }
}

/// The largest stimulus magnitude a table may hold.
const MAX_STIMULUS: f64 = 1e6;

/// Reads the project's CSV: animal, session, trial, stimulus, choice (0 left, 1 right,
/// empty or NaN: no response, dropped), correct_side (0, 1) and optionally reward,
/// which must be 1[choice = correct_side]. Other columns are ignored.
pub fn read_csv(file: &Path) -> Result<Dataset> {
    let (mut reader, cols) = open(file)?;
    let c = |name| column(file, &cols, name);
    let (animal, session, trial, stimulus, choice, correct) = (
        c("animal")?,
        c("session")?,
        c("trial")?,
        c("stimulus")?,
        c("choice")?,
        c("correct_side")?,
    );
    let reward = cols.get("reward").copied();
    let mut b = Builder::new();
    let mut dropped = 0;
    for r in reader.records() {
        let (line, rec) = record(file, r)?;
        let get = |i: usize| rec.get(i).unwrap_or("");
        let y = match get(choice) {
            "" | "nan" | "NaN" | "NA" => {
                dropped += 1;
                continue;
            }
            v => binary(file, line, "choice", v)?,
        };
        let z = binary(file, line, "correct_side", get(correct))?;
        let s: f64 = get(stimulus)
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .ok_or_else(|| {
                Error::invalid(
                    at(file, line, "stimulus"),
                    format!("{:?} is not a finite number", get(stimulus)),
                )
            })?;
        if s.abs() > MAX_STIMULUS {
            // The models compute in f32: w·s past this turns a fit's gradient non-finite
            // long before f32 itself overflows.
            return Err(Error::invalid(
                at(file, line, "stimulus"),
                format!(
                    "{s:e} is outside ±{MAX_STIMULUS:e} (stimuli are signed contrasts, usually \
                     within ±1): rescale the column"
                ),
            ));
        }
        let n: i64 = get(trial).parse().map_err(|_| {
            Error::invalid(
                at(file, line, "trial"),
                format!("{:?} is not an integer", get(trial)),
            )
        })?;
        let r = u8::from(y == z);
        if let Some(i) = reward {
            let given = binary(file, line, "reward", get(i))?;
            if given != r {
                return Err(Error::invalid(
                    at(file, line, "reward"),
                    format!("is {given} but choice {y} and correct_side {z} make it {r}"),
                ));
            }
        }
        let id = get(animal);
        if id.is_empty() {
            return Err(Error::invalid(at(file, line, "animal"), "is empty"));
        }
        let t = Trial {
            session: get(session).to_string(),
            trial: n,
            stimulus: s,
            choice: y,
            correct: z,
            reward: r,
            session_start: false,
        };
        b.push(file, line, id, t)?;
    }
    b.finish(file, dropped)
}

/// The IBL stimulus transform: s = tanh(5 c_R)/tanh(5) − tanh(5 c_L)/tanh(5), a missing
/// (NaN) contrast counting as 0.
pub fn ibl_stimulus(left: f64, right: f64) -> f64 {
    let f = |c: f64| {
        if c.is_nan() {
            0.0
        } else {
            (5.0 * c).tanh() / 5f64.tanh()
        }
    };
    f(right) - f(left)
}

/// Reads an IBL trials table exported to CSV: contrastLeft, contrastRight (empty or
/// NaN: 0), choice (−1: rightward, a counter-clockwise wheel turn; +1: leftward; 0: no
/// response, dropped), feedbackType (+1 rewarded, −1 not), a session column (`session`,
/// `eid` or `session_id`) and optionally the animal (`subject` or `animal`; else the
/// file's name). Trials keep the file's order within an animal. The correct side is the
/// choice when rewarded and the other side when not; on trials with contrast on one
/// side only it must be that side, which checks the choice convention: a file where more
/// than 10% of those trials disagree is refused.
pub fn read_ibl(file: &Path) -> Result<Dataset> {
    let (mut reader, cols) = open(file)?;
    let c = |name| column(file, &cols, name);
    let (left, right, choice, feedback) = (
        c("contrastLeft")?,
        c("contrastRight")?,
        c("choice")?,
        c("feedbackType")?,
    );
    let session = ["session", "eid", "session_id"]
        .iter()
        .find_map(|n| cols.get(*n).copied())
        .ok_or_else(|| {
            Error::invalid(
                file.display().to_string(),
                "has no session column (session, eid or session_id)",
            )
        })?;
    let subject = ["subject", "animal"]
        .iter()
        .find_map(|n| cols.get(*n).copied());
    let stem = file
        .file_stem()
        .map_or("animal".into(), |s| s.to_string_lossy().into_owned());
    let mut b = Builder::new();
    let (mut dropped, mut one_sided, mut contradicted) = (0, 0, 0);
    let mut count: HashMap<String, i64> = HashMap::new();
    for r in reader.records() {
        let (line, rec) = record(file, r)?;
        let get = |i: usize| rec.get(i).unwrap_or("");
        let contrast = |i: usize, name: &str| -> Result<f64> {
            match get(i) {
                "" | "nan" | "NaN" => Ok(f64::NAN),
                v => v
                    .parse::<f64>()
                    .ok()
                    .filter(|x| (0.0..=1.0).contains(x))
                    .ok_or_else(|| {
                        Error::invalid(
                            at(file, line, name),
                            format!("{v:?} is not a contrast in [0, 1] (or empty)"),
                        )
                    }),
            }
        };
        let (cl, cr) = (
            contrast(left, "contrastLeft")?,
            contrast(right, "contrastRight")?,
        );
        let y = match get(choice) {
            "-1" | "-1.0" => 1,
            "1" | "1.0" | "+1" => 0,
            "0" | "0.0" => {
                dropped += 1;
                continue;
            }
            v => {
                return Err(Error::invalid(
                    at(file, line, "choice"),
                    format!("{v:?} is not -1 (right), 1 (left) or 0 (no response)"),
                ))
            }
        };
        let rewarded = match get(feedback) {
            "1" | "1.0" | "+1" => true,
            "-1" | "-1.0" => false,
            v => {
                return Err(Error::invalid(
                    at(file, line, "feedbackType"),
                    format!("{v:?} is not 1 (rewarded) or -1"),
                ))
            }
        };
        let z = if rewarded { y } else { 1 - y };
        let (l, r) = (cl.is_nan() || cl == 0.0, cr.is_nan() || cr == 0.0);
        if l != r {
            one_sided += 1;
            let side = u8::from(l); // contrast on the right only → 1
            if side != z {
                contradicted += 1;
            }
        }
        let id = subject.map_or(stem.as_str(), |i| get(i));
        if id.is_empty() {
            return Err(Error::invalid(at(file, line, "subject"), "is empty"));
        }
        let n = count.entry(id.to_string()).or_insert(0);
        *n += 1;
        let t = Trial {
            session: get(session).to_string(),
            trial: *n,
            stimulus: ibl_stimulus(cl, cr),
            choice: y,
            correct: z,
            reward: u8::from(rewarded),
            session_start: false,
        };
        b.push(file, line, id, t)?;
    }
    if one_sided > 0 && contradicted * 10 > one_sided {
        return Err(Error::invalid(
            file.display().to_string(),
            format!(
                "feedback contradicts the choice convention (-1 = right) on {contradicted} of \
                 {one_sided} trials with contrast on one side: is choice coded otherwise?"
            ),
        ));
    }
    b.finish(file, dropped)
}

/// Writes animals in the project's format (every trial has a response).
pub fn write_csv(file: &Path, data: &Dataset) -> Result<()> {
    let mut out = String::with_capacity(40 * data.trials() + 64);
    out.push_str(&COLUMNS.join(","));
    out.push('\n');
    for a in &data.animals {
        for t in &a.trials {
            use std::fmt::Write;
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{}",
                a.id, t.session, t.trial, t.stimulus, t.choice, t.correct, t.reward
            );
        }
    }
    crate::files::write_atomic(file, out.as_bytes())
}
