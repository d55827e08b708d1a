//! Kernels composed from named WGSL files.
//!
//! Every file under `shaders/` is embedded with its path. A file states the files it
//! builds on with `// needs: common/philox.wgsl, optim/consts.wgsl` lines; a kernel is
//! a name, an entry point and its root files, and composing it joins the roots with
//! everything they need, each file once, dependencies first. What a file may read is
//! what it declares or what the files it needs declare; a driver that leaves a slot
//! (the sweep's `loss_grad` and `step`) names it in its header, and the kernel's roots
//! fill it.
//!
//! Composition keeps a line map, so a parse or validation error names the file, line
//! and column it comes from (`shaders/loss/quadratic.wgsl:12:9`) and the kernel.
//!
//! Why not naga_oil: its modules are namespaced and mangled, which turns every error
//! message and debugger name into `X_naga_oil_mod_...`, and it hands wgpu a naga module
//! (another wgpu feature and a second release train to follow). Plain includes with a
//! line map are all these kernels need.

use crate::error::{Error, Result};

include!(concat!(env!("OUT_DIR"), "/shader_files.rs"));

/// One WGSL source: a file under `shaders/` (by its path there) or, for tests and
/// callers' own code, text with a name of its choosing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Piece {
    pub path: &'static str,
    pub text: &'static str,
}

impl Piece {
    /// The file at `path` under `shaders/`, if there is one.
    pub fn find(path: &str) -> Option<Piece> {
        FILES
            .iter()
            .find(|(p, _)| *p == path)
            .map(|&(path, text)| Piece { path, text })
    }

    /// The file at `path` under `shaders/`. Kernel definitions name their files with
    /// constants, and every kernel is composed by the shader tests, so a wrong path
    /// fails there; composing reports it as an error too.
    pub fn file(path: &'static str) -> Piece {
        Self::find(path).unwrap_or(Piece { path, text: "" })
    }

    /// Text that is not a file of the crate (a caller's kernel, a test's broken piece).
    pub const fn inline(path: &'static str, text: &'static str) -> Piece {
        Piece { path, text }
    }

    /// Every embedded file.
    pub fn all() -> impl Iterator<Item = Piece> {
        FILES.iter().map(|&(path, text)| Piece { path, text })
    }

    /// The files named on this piece's `// needs:` lines, with the line each is on.
    fn needs(&self) -> impl Iterator<Item = (usize, &'static str)> {
        self.text.lines().enumerate().flat_map(|(i, line)| {
            line.trim_start()
                .strip_prefix("// needs:")
                .into_iter()
                .flat_map(|list| list.split(',').map(str::trim).filter(|s| !s.is_empty()))
                .map(move |p| (i + 1, p))
        })
    }

    /// How errors and the line map name this piece.
    fn display_path(&self) -> String {
        if Self::find(self.path).is_some_and(|p| p.text == self.text) {
            format!("shaders/{}", self.path)
        } else {
            self.path.to_string()
        }
    }
}

/// A compute kernel: its name (unique in the crate; with its constants it keys the
/// pipeline cache), its entry point, the pieces it is composed from, and the values of
/// its pipeline-overridable constants (WGSL `override`), which choose its modes when
/// the pipeline is built instead of on every step at run time.
#[derive(Clone, Debug)]
pub struct Kernel {
    pub name: String,
    pub entry: &'static str,
    pub roots: Vec<Piece>,
    pub constants: Vec<(&'static str, f64)>,
}

/// The joined text of a kernel and where each piece's lines lie in it.
#[derive(Clone, Debug)]
pub struct Composed {
    pub text: String,
    /// (piece, first line in `text`, 0-based), in order.
    pub pieces: Vec<(Piece, usize)>,
}

impl Composed {
    /// The piece and its own 1-based line for 1-based line `line` of the joined text.
    pub fn locate(&self, line: usize) -> Option<(Piece, usize)> {
        let i = line.checked_sub(1)?;
        self.pieces
            .iter()
            .rev()
            .find(|(_, first)| *first <= i)
            .map(|&(p, first)| (p, i - first + 1))
    }
}

impl Kernel {
    /// A kernel of files under `shaders/`, by path.
    pub fn new(name: impl Into<String>, entry: &'static str, roots: &[&'static str]) -> Kernel {
        Kernel {
            name: name.into(),
            entry,
            roots: roots.iter().map(|&p| Piece::file(p)).collect(),
            constants: vec![],
        }
    }

    /// This kernel with its `override` constants set (each by its WGSL name).
    pub fn specialised(mut self, constants: &[(&'static str, f64)]) -> Kernel {
        self.constants = constants.to_vec();
        self
    }

    /// What keys its pipeline: the name, and the constants' values when set.
    pub fn cache_key(&self) -> String {
        let mut key = self.name.clone();
        for (name, value) in &self.constants {
            key.push_str(&format!(" {name}={value}"));
        }
        key
    }

    /// A kernel of any pieces (callers' own text included).
    pub fn from_pieces(name: impl Into<String>, entry: &'static str, roots: Vec<Piece>) -> Kernel {
        Kernel {
            name: name.into(),
            entry,
            roots,
            constants: vec![],
        }
    }

    /// Every piece of the kernel, each once, dependencies before the pieces that need
    /// them, roots in the order given.
    pub fn pieces(&self) -> Result<Vec<Piece>> {
        fn visit(
            kernel: &Kernel,
            p: Piece,
            stack: &mut Vec<&'static str>,
            out: &mut Vec<Piece>,
        ) -> Result<()> {
            if out.iter().any(|q| q.path == p.path) {
                return Ok(());
            }
            if p.text.is_empty() && Piece::find(p.path).is_none() {
                return Err(kernel.error(
                    format!("shaders/{}", p.path),
                    "no such file under shaders/".into(),
                ));
            }
            stack.push(p.path);
            for (line, need) in p.needs() {
                let at = format!("{}:{line}", p.display_path());
                if stack.contains(&need) {
                    return Err(kernel.error(at, format!("needs {need}, which needs this file")));
                }
                let Some(q) = Piece::find(need) else {
                    return Err(
                        kernel.error(at, format!("needs {need}: no such file under shaders/"))
                    );
                };
                visit(kernel, q, stack, out)?;
            }
            stack.pop();
            out.push(p);
            Ok(())
        }
        let mut out = Vec::new();
        for &root in &self.roots {
            visit(self, root, &mut Vec::new(), &mut out)?;
        }
        Ok(out)
    }

    /// The kernel's WGSL, joined, with its line map.
    pub fn compose(&self) -> Result<Composed> {
        let mut text = String::new();
        let mut pieces = Vec::new();
        let mut line = 0;
        for p in self.pieces()? {
            pieces.push((p, line));
            text.push_str(p.text);
            if !p.text.ends_with('\n') {
                text.push('\n');
            }
            line += p.text.lines().count().max(1);
        }
        Ok(Composed { text, pieces })
    }

    /// Composes, parses and validates the kernel with naga, as a device would; an error
    /// names the file, line and column it comes from.
    pub fn validate(&self) -> Result<(Composed, naga::Module)> {
        let composed = self.compose()?;
        let module = naga::front::wgsl::parse_str(&composed.text).map_err(|e| {
            let labels: Vec<String> = e
                .labels()
                .filter(|(_, l)| !l.is_empty())
                .map(|(_, l)| l.to_string())
                .collect();
            let message = if labels.is_empty() {
                e.message().to_string()
            } else {
                format!("{} ({})", e.message(), labels.join("; "))
            };
            self.located(&composed, e.location(&composed.text), message)
        })?;
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .map_err(|e| {
            let mut message = e.as_inner().to_string();
            let mut source: Option<&dyn std::error::Error> =
                std::error::Error::source(e.as_inner());
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            // Spans run from the function to the expression at fault: the last is
            // where the mistake is.
            let at = e
                .spans()
                .filter(|(s, _)| s.is_defined())
                .last()
                .map(|(s, _)| s.location(&composed.text));
            self.located(&composed, at, message)
        })?;
        Ok((composed, module))
    }

    fn located(
        &self,
        composed: &Composed,
        at: Option<naga::SourceLocation>,
        message: String,
    ) -> Error {
        let place = at
            .and_then(|loc| {
                composed
                    .locate(loc.line_number as usize)
                    .map(|(p, line)| format!("{}:{line}:{}", p.display_path(), loc.line_position))
            })
            .unwrap_or_else(|| format!("kernel {}", self.name));
        self.error(place, message)
    }

    fn error(&self, at: String, message: String) -> Error {
        Error::Shader {
            at,
            message,
            kernel: self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_come_first_and_once() {
        let k = Kernel::new("t", "main", &["landscape/sweep.wgsl"]);
        let order: Vec<&str> = k.pieces().unwrap().iter().map(|p| p.path).collect();
        let at = |p: &str| order.iter().position(|&q| q == p).unwrap();
        assert!(at("common/philox.wgsl") < at("landscape/sweep.wgsl"));
        let mut dedup = order.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), order.len(), "{order:?}");
    }
}
