//! The loss keys of a `[landscape]` section, as every study that stands on a landscape
//! reads them: the kind, its shape and seeded data, and the point numbers it fixes.
//! The study's own keys in the same section (a learner's noise, a path's drift) go to
//! the caller.

use super::{Landscape, LandscapeKind, Shape, Spectrum, TeacherShape};
use crate::error::Result;
use crate::keys::{err, finite, integer, number, string};
use crate::sweep::config::unknown_key;
use toml::{Table, Value};

/// The keys this module reads.
pub const LOSS_KEYS: &[&str] = &[
    "kind",
    "dim",
    "spectrum",
    "h",
    "mu",
    "h_min",
    "h_max",
    "alpha",
    "a",
    "b",
    "c",
    "d",
    "data_seed",
    "samples",
    "label_noise",
    "d_in",
    "hidden",
    "minibatch",
];

/// What a `[landscape]` section says of the loss.
pub struct Section {
    pub landscape: Landscape,
    /// The point numbers: the defaults, with those the section gives.
    pub shape: Shape,
    /// `landscape.NAME` of every point number the section gives (each must have an
    /// effect on some point).
    pub fixed_keys: Vec<String>,
}

/// How a study reads the rest of its `[landscape]` section.
pub struct Caller<'a> {
    /// Keys it reads itself (for the list an unknown key's error shows).
    pub keys: &'a [&'a str],
    /// Loss keys it has no use for: refused as having no effect.
    pub forbidden: &'a [&'a str],
    /// Whether something else of the study reads `data_seed` (a seeded control basis).
    pub seeds_data: bool,
}

/// Reads the loss keys of `section`; `other(key, value)` reads each of the caller's
/// keys and returns false for a key it does not know either.
pub fn parse_section(
    section: &Table,
    caller: &Caller,
    mut other: impl FnMut(&str, &Value) -> Result<bool>,
) -> Result<Section> {
    for k in caller.forbidden {
        if section.contains_key(*k) {
            return Err(err(format!("landscape.{k}"), "has no effect here"));
        }
    }
    let kinds = LandscapeKind::names();
    let kind_value = section.get("kind").ok_or_else(|| {
        err(
            "landscape.kind",
            format!("is required: one of {}", kinds.join(", ")),
        )
    })?;
    let kind = LandscapeKind::from_name(string("landscape.kind", kind_value, &kinds)?)
        .expect("a listed name");
    let mut landscape = Landscape::new(kind);
    let mut shape = Shape::DEFAULT;
    let mut fixed_keys = Vec::new();
    let (mut d_in, mut hidden, mut t_samples, mut minibatch) = (None, None, None, 0usize);
    for (k, v) in section {
        let key = format!("landscape.{k}");
        match k.as_str() {
            "kind" => {}
            "dim" => landscape.dim = integer(&key, v, 1, 1024)?,
            "spectrum" => {
                landscape.spectrum = Spectrum::from_name(string(&key, v, &Spectrum::names())?)
                    .expect("a listed name")
            }
            "h" => {
                landscape.h = v
                    .as_array()
                    .ok_or_else(|| err(&key, "must be a list of numbers"))?
                    .iter()
                    .map(|x| number(&key, x))
                    .collect::<Result<_>>()?;
                landscape.spectrum = Spectrum::List;
            }
            "data_seed" => landscape.data_seed = integer(&key, v, 0, i64::MAX)? as u64,
            "samples" => {
                let n = integer(&key, v, 1, 1 << 20)?;
                landscape.samples = n;
                t_samples = Some(n);
            }
            "label_noise" => landscape.label_noise = finite(&key, v)?,
            "d_in" => d_in = Some(integer(&key, v, 1, 1024)?),
            "hidden" => hidden = Some(integer(&key, v, 1, 1024)?),
            "minibatch" => minibatch = integer(&key, v, 0, 1 << 20)?,
            name if Shape::NAMES.contains(&name) => {
                shape.set(name, finite(&key, v)?);
                fixed_keys.push(key.clone());
            }
            _ => {
                if !other(k, v)? {
                    let all: Vec<&str> = LOSS_KEYS
                        .iter()
                        .filter(|k| !caller.forbidden.contains(k))
                        .chain(caller.keys)
                        .copied()
                        .collect();
                    return Err(unknown_key("landscape", k, &all));
                }
            }
        }
    }
    if kind == LandscapeKind::TeacherStudent {
        let (Some(d_in), Some(hidden), Some(samples)) = (d_in, hidden, t_samples) else {
            return Err(err(
                "landscape",
                "teacher_student needs d_in, hidden and samples",
            ));
        };
        landscape.teacher = Some(TeacherShape {
            d_in,
            hidden,
            samples,
            minibatch,
        });
        if landscape.dim == 0 {
            landscape.dim = hidden * d_in + hidden;
        }
    }
    if landscape.dim == 0 {
        return Err(err("landscape.dim", "is required: an integer in 1..=1024"));
    }
    // Loss keys that shape nothing this landscape has.
    let kind_is = |ks: &[LandscapeKind]| ks.contains(&kind);
    use LandscapeKind::*;
    for (k, applies) in [
        ("samples", kind_is(&[LinearRegression, TeacherStudent])),
        ("label_noise", kind_is(&[LinearRegression])),
        ("d_in", kind_is(&[TeacherStudent])),
        ("hidden", kind_is(&[TeacherStudent])),
        ("minibatch", kind_is(&[TeacherStudent])),
        (
            "data_seed",
            kind_is(&[QuadraticDense, LinearRegression, TeacherStudent]) || caller.seeds_data,
        ),
        ("spectrum", kind_is(&[Quadratic, QuadraticDense])),
        ("h", kind_is(&[Quadratic, QuadraticDense])),
    ] {
        if section.contains_key(k) && !applies {
            return Err(err(
                format!("landscape.{k}"),
                format!("has no effect on {}", kind.name()),
            ));
        }
    }
    Ok(Section {
        landscape,
        shape,
        fixed_keys,
    })
}
