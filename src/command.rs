//! A family's commands as data. Each family declares its commands here-shaped (the
//! words that name one, its arguments with help and defaults, and a function that runs
//! it); the command line builds its flags from them and the Python package its keyword
//! arguments, and both call [`Command::call`]. Neither front end names a family's types,
//! and every default is written once, in the family's declaration.
//!
//! This floor knows no science: arguments are text until a command reads them as the
//! type it needs, and an error names the argument as the command line spells it
//! (`--lr`), which the Python package respells as its own (`lr`).

use crate::error::{Error, Result};
use crate::gpu::DeviceChoice;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

/// One command: `rulelab control rates`, `rulelab infer fit`, ...
pub struct Command {
    /// The words that name it after `rulelab`: `["infer", "fit"]`.
    pub path: &'static [&'static str],
    /// Its help: the first line a summary, the rest (after a blank line) the details.
    pub about: &'static str,
    /// Its arguments, in the order help lists them.
    pub args: fn() -> Vec<Arg>,
    /// Whether the device choice changes what it does (a `--device` given to one that
    /// does not use it is refused: a knob without an effect).
    pub uses_device: bool,
    pub run: fn(&Args, &Context) -> Result<Reply>,
}

/// How an argument is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `--name`, on or off.
    Flag,
    /// `--name VALUE`.
    Value,
    /// `--name A,B,C` (a list from Python).
    List,
    /// A positional value.
    Input,
    /// One or more positional values.
    Inputs,
}

/// One argument of a command.
#[derive(Clone, Debug, Serialize)]
pub struct Arg {
    /// As the command line spells it without `--` (Python: with `_` for `-`).
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    /// The value used when none is given (`null`: none; the command decides).
    pub default: serde_json::Value,
    pub required: bool,
    /// A heading that groups arguments in help (and names a set, e.g. the network
    /// fits' settings, that the Python package offers together).
    pub heading: Option<&'static str>,
}

impl Arg {
    /// `--name VALUE`, optional, without a default.
    pub fn value(name: &'static str, help: &'static str) -> Arg {
        Arg {
            name,
            help,
            kind: Kind::Value,
            default: serde_json::Value::Null,
            required: false,
            heading: None,
        }
    }

    /// `--name`, off unless given.
    pub fn flag(name: &'static str, help: &'static str) -> Arg {
        Arg {
            kind: Kind::Flag,
            default: false.into(),
            ..Arg::value(name, help)
        }
    }

    /// `--name A,B,C`.
    pub fn list(name: &'static str, help: &'static str) -> Arg {
        Arg {
            kind: Kind::List,
            ..Arg::value(name, help)
        }
    }

    /// A required positional value.
    pub fn input(name: &'static str, help: &'static str) -> Arg {
        Arg {
            kind: Kind::Input,
            required: true,
            ..Arg::value(name, help)
        }
    }

    /// One or more positional values.
    pub fn inputs(name: &'static str, help: &'static str) -> Arg {
        Arg {
            kind: Kind::Inputs,
            required: true,
            ..Arg::value(name, help)
        }
    }

    pub fn default(mut self, value: impl Into<serde_json::Value>) -> Arg {
        self.default = value.into();
        self
    }

    pub fn required(mut self) -> Arg {
        self.required = true;
        self
    }

    pub fn heading(mut self, heading: &'static str) -> Arg {
        self.heading = Some(heading);
        self
    }

    /// How errors name it: `--lr`, or a positional's own name.
    pub fn key(&self) -> String {
        key(self.name, self.kind)
    }
}

fn key(name: &str, kind: Kind) -> String {
    match kind {
        Kind::Input | Kind::Inputs => name.to_string(),
        _ => format!("--{name}"),
    }
}

/// A value as text, the way a front end hands it over and [`Args`] reads it.
pub fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A command's arguments as given (text until read), with its declaration's defaults
/// filled in by [`Command::call`].
#[derive(Clone, Debug, Default)]
pub struct Args {
    given: BTreeMap<String, Given>,
    declared: BTreeMap<String, Kind>,
}

#[derive(Clone, Debug)]
enum Given {
    Flag(bool),
    Values(Vec<String>),
}

/// The picture options of a command that draws (`--format`, `--width`, `--dpi`), under
/// their own heading; [`Args::figure`] reads them.
pub fn figure_args() -> Vec<Arg> {
    vec![
        Arg::list(
            "format",
            "Picture formats, comma-separated: svg, png, pdf (default svg,png).",
        )
        .heading(PICTURES),
        Arg::value(
            "width",
            "Pictures' printed width in inches, text included (default: each picture's own).",
        )
        .heading(PICTURES),
        Arg::value("dpi", "The PNG's resolution in dots per inch.")
            .default(crate::plot::Figure::default().dpi)
            .heading(PICTURES),
    ]
}

/// The heading of [`figure_args`].
pub const PICTURES: &str = "Pictures";

impl Args {
    /// The picture settings [`figure_args`] declares, checked.
    pub fn figure(&self) -> Result<crate::plot::Figure> {
        let d = crate::plot::Figure::default();
        let mut formats: Vec<String> = self.list("format")?;
        if formats.is_empty() {
            formats = d.formats.iter().map(|f| f.ext().to_string()).collect();
        }
        let dpi = self.get::<u32>("dpi")?.unwrap_or(d.dpi);
        crate::plot::Figure::new(&formats, self.get("width")?, dpi, "--")
    }

    pub fn new() -> Args {
        Args::default()
    }

    pub fn set_flag(&mut self, name: &str, on: bool) {
        self.given.insert(name.to_string(), Given::Flag(on));
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.given
            .insert(name.to_string(), Given::Values(vec![value.into()]));
    }

    pub fn set_all(&mut self, name: &str, values: Vec<String>) {
        self.given.insert(name.to_string(), Given::Values(values));
    }

    /// From a JSON object (the Python package's keyword arguments): `null` is not
    /// given, a boolean a flag, an array a list, anything else one value; `_` in a name
    /// reads as `-`.
    pub fn from_json(object: &serde_json::Value) -> Result<Args> {
        let map = object
            .as_object()
            .ok_or_else(|| Error::invalid("arguments", "are not a table of names"))?;
        let mut args = Args::new();
        for (name, v) in map {
            let name = name.replace('_', "-");
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::Bool(b) => args.set_flag(&name, *b),
                serde_json::Value::Array(items) => {
                    args.set_all(&name, items.iter().filter_map(text_of).collect())
                }
                other => args.set(&name, text_of(other).expect("not null")),
            }
        }
        Ok(args)
    }

    fn declared(&self, name: &str) -> Kind {
        *self
            .declared
            .get(name)
            .unwrap_or_else(|| panic!("a command reads {name:?}, which it does not declare"))
    }

    /// Whether the flag `name` is on.
    pub fn flag(&self, name: &str) -> bool {
        self.declared(name);
        matches!(self.given.get(name), Some(Given::Flag(true)))
    }

    /// The value of `name` read as a T, or None when neither given nor defaulted.
    pub fn get<T: FromStr>(&self, name: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        let kind = self.declared(name);
        match self.given.get(name) {
            None => Ok(None),
            Some(Given::Flag(_)) => Err(Error::invalid(key(name, kind), "takes a value")),
            Some(Given::Values(v)) => match v.as_slice() {
                [one] => one
                    .parse()
                    .map(Some)
                    .map_err(|e| Error::invalid(key(name, kind), format!("{one:?}: {e}"))),
                _ => Err(Error::invalid(key(name, kind), "takes one value")),
            },
        }
    }

    /// The value of `name`, which the command cannot do without.
    pub fn need<T: FromStr>(&self, name: &str) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        self.get(name)?
            .ok_or_else(|| Error::invalid(key(name, self.declared(name)), "is required"))
    }

    /// A path argument.
    pub fn path(&self, name: &str) -> Result<Option<PathBuf>> {
        self.get::<String>(name).map(|p| p.map(PathBuf::from))
    }

    /// The values of a list (a single text with commas counts as a list).
    pub fn list<T: FromStr>(&self, name: &str) -> Result<Vec<T>>
    where
        T::Err: std::fmt::Display,
    {
        let kind = self.declared(name);
        let items: Vec<&str> = match self.given.get(name) {
            None => Vec::new(),
            Some(Given::Flag(_)) => return Err(Error::invalid(key(name, kind), "takes values")),
            Some(Given::Values(v)) => v.iter().flat_map(|s| s.split(',')).map(str::trim).collect(),
        };
        items
            .into_iter()
            .map(|s| {
                s.parse()
                    .map_err(|e| Error::invalid(key(name, kind), format!("{s:?}: {e}")))
            })
            .collect()
    }
}

/// What a running command may tell its caller.
pub struct Context<'a> {
    /// Where its work runs.
    pub device: DeviceChoice,
    /// Progress: (done, total, a note that says where the work is in words, e.g.
    /// `epoch 3/20: train LL ...`, shown alone where no bar can be drawn).
    pub progress: &'a dyn Fn(u64, u64, &str),
    /// A line for the person running it, beside the result (stderr on the command line).
    pub say: &'a dyn Fn(&str),
    /// A line of the result, shown as soon as it is known (stdout on the command line;
    /// the Python package reads [`Reply::json`] instead).
    pub show: &'a dyn Fn(&str),
}

impl Context<'_> {
    /// A context that reports nothing (tests, embedders without a display).
    pub fn quiet(device: DeviceChoice) -> Context<'static> {
        Context {
            device,
            progress: &|_, _, _| {},
            say: &|_| {},
            show: &|_| {},
        }
    }
}

/// What a command returns.
#[derive(Debug, Default)]
pub struct Reply {
    /// The result as JSON text, its fields in the order of the types that wrote it (a
    /// table's columns keep their order): the Python package's return value.
    pub json: String,
    /// The rest of the result for a person (stdout on the command line).
    pub text: String,
    /// Remarks beside the result (stderr, `note: ...`).
    pub notes: Vec<String>,
}

impl Reply {
    pub fn new(value: impl Serialize, text: impl Into<String>) -> Reply {
        Reply {
            json: serde_json::to_string(&value).expect("serialises"),
            text: text.into(),
            notes: Vec::new(),
        }
    }
}

impl Command {
    /// The command as a person types it: `rulelab infer fit`.
    pub fn spelling(&self) -> String {
        format!("rulelab {}", self.path.join(" "))
    }

    /// Runs it with `given` (an argument it does not declare is refused; a missing one
    /// takes its default; a required one missing is an error).
    pub fn call(&self, given: Args, ctx: &Context) -> Result<Reply> {
        let declared = (self.args)();
        let mut args = Args {
            given: BTreeMap::new(),
            declared: declared
                .iter()
                .map(|a| (a.name.to_string(), a.kind))
                .collect(),
        };
        for (name, value) in given.given {
            if !args.declared.contains_key(&name) {
                let names: Vec<String> = declared.iter().map(Arg::key).collect();
                return Err(Error::invalid(
                    name,
                    format!(
                        "is not an argument of `{}` (it takes {})",
                        self.spelling(),
                        names.join(", ")
                    ),
                ));
            }
            args.given.insert(name, value);
        }
        for a in &declared {
            if args.given.contains_key(a.name) {
                continue;
            }
            if a.required {
                return Err(Error::invalid(a.key(), "is required"));
            }
            match (&a.default, a.kind) {
                (serde_json::Value::Bool(on), Kind::Flag) => args.set_flag(a.name, *on),
                (serde_json::Value::Array(items), _) => {
                    args.set_all(a.name, items.iter().filter_map(text_of).collect())
                }
                (v, _) => {
                    if let Some(t) = text_of(v) {
                        args.set(a.name, t)
                    }
                }
            }
        }
        // An error that names an argument by its bare name (the library's own checks,
        // shared with configs) names it as the command line spells it.
        (self.run)(&args, ctx).map_err(|e| match e {
            Error::Invalid { field, message } => match declared.iter().find(|a| a.name == field) {
                Some(a) => Error::invalid(a.key(), message),
                None => Error::Invalid { field, message },
            },
            e => e,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(args: &Args, _: &Context) -> Result<Reply> {
        let xs: Vec<f64> = args.list("x")?;
        let scale: f64 = args.need("scale")?;
        let total = xs.iter().sum::<f64>() * scale * if args.flag("neg") { -1.0 } else { 1.0 };
        Ok(Reply::new(total, total.to_string()))
    }

    fn command() -> Command {
        Command {
            path: &["test", "sum"],
            about: "Sums.",
            args: || {
                vec![
                    Arg::list("x", "numbers").required(),
                    Arg::value("scale", "factor").default(2.0),
                    Arg::flag("neg", "negate"),
                ]
            },
            uses_device: false,
            run: sum,
        }
    }

    #[test]
    fn defaults_fill_in_and_values_parse() {
        let ctx = Context::quiet(DeviceChoice::Cpu);
        let mut a = Args::new();
        a.set("x", "1,2.5");
        let r = command().call(a, &ctx).unwrap();
        assert_eq!(r.json, "7.0");
        let a =
            Args::from_json(&serde_json::json!({"x": [1, 2], "neg": true, "scale": null})).unwrap();
        assert_eq!(command().call(a, &ctx).unwrap().json, "-6.0");
    }

    #[test]
    fn unknown_missing_and_malformed_arguments_are_refused() {
        let ctx = Context::quiet(DeviceChoice::Cpu);
        let err = command().call(Args::new(), &ctx).unwrap_err().to_string();
        assert!(err.contains("--x") && err.contains("required"), "{err}");
        let mut a = Args::new();
        a.set("x", "1");
        a.set("sclae", "3");
        let err = command().call(a, &ctx).unwrap_err().to_string();
        assert!(err.contains("sclae") && err.contains("--scale"), "{err}");
        let mut a = Args::new();
        a.set("x", "1,two");
        let err = command().call(a, &ctx).unwrap_err().to_string();
        assert!(err.contains("--x") && err.contains("two"), "{err}");
    }
}
