//! Reading a TOML config one key at a time: each value checked for its type and range,
//! and each error naming the key (`landscape.dim`) and what is allowed, so a person can
//! fix the file from the message alone.

use crate::error::{Error, Result};
use toml::{Table, Value};

/// The error for `key`: what is wrong with its value.
pub fn err(key: impl Into<String>, msg: impl Into<String>) -> Error {
    Error::invalid(key, msg)
}

/// A number (an infinity allowed, NaN never).
pub fn number(key: &str, v: &Value) -> Result<f64> {
    match v {
        Value::Float(f) if f.is_nan() => Err(err(key, "is NaN; give a number")),
        Value::Float(f) => Ok(*f),
        Value::Integer(i) => Ok(*i as f64),
        other => Err(err(
            key,
            format!("must be a number, not {}", other.type_str()),
        )),
    }
}

/// A finite number.
pub fn finite(key: &str, v: &Value) -> Result<f64> {
    let x = number(key, v)?;
    if x.is_finite() {
        Ok(x)
    } else {
        Err(err(key, format!("{x} must be finite")))
    }
}

pub fn integer(key: &str, v: &Value, lo: i64, hi: i64) -> Result<usize> {
    match v {
        Value::Integer(i) if (lo..=hi).contains(i) => Ok(*i as usize),
        Value::Integer(i) => Err(err(key, format!("{i} is outside {lo}..={hi}"))),
        other => Err(err(
            key,
            format!("must be an integer, not {}", other.type_str()),
        )),
    }
}

/// A per-learner number that must be a whole number in lo..=hi (a count, a seed).
pub fn whole(key: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if v.fract() != 0.0 || !(lo..=hi).contains(&v) {
        return Err(err(
            key,
            format!("{v} must be a whole number in {lo}..={hi}"),
        ));
    }
    Ok(())
}

pub fn string<'a>(key: &str, v: &'a Value, allowed: &[&str]) -> Result<&'a str> {
    match v.as_str() {
        Some(s) if allowed.contains(&s) => Ok(s),
        Some(s) => Err(err(
            key,
            format!("{s:?} is not one of {}", allowed.join(", ")),
        )),
        None => Err(err(
            key,
            format!("must be a string, one of {}", allowed.join(", ")),
        )),
    }
}

pub fn boolean(key: &str, v: &Value) -> Result<bool> {
    v.as_bool()
        .ok_or_else(|| err(key, format!("must be true or false, not {}", v.type_str())))
}

/// The section `name` of `root`: None when absent (an error when `required`).
pub fn section<'a>(root: &'a Table, name: &str, required: bool) -> Result<Option<&'a Table>> {
    match root.get(name) {
        Some(Value::Table(t)) => Ok(Some(t)),
        Some(other) => Err(err(
            name,
            format!("must be a table ([{name}]), not {}", other.type_str()),
        )),
        None if required => Err(err(name, format!("the [{name}] section is missing"))),
        None => Ok(None),
    }
}
