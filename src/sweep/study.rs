//! What a family implements to be swept: the [`Study`] trait, and the per-learner
//! numbers it declares with [`params!`](crate::params).
//!
//! The runner owns everything that is the same for every family: the grid (computed
//! from the learner index, never materialised), shards, chunks, durable writes, resume,
//! merge, progress, the manifest and the summary plot. A family owns its config
//! sections, its per-learner numbers, its result columns, how big a chunk may be on a
//! backend, and how a chunk runs.

use crate::error::Result;
use crate::gpu::Backend;
use serde::Serialize;
use toml::{Table, Value};

/// One learner's numbers, by name. Every field may be a grid axis.
pub trait ParamSet: Copy + Default + Send + Sync + Serialize + std::fmt::Debug {
    /// Every parameter name, as configs and result files spell it.
    const NAMES: &'static [&'static str];
    fn get(&self, name: &str) -> Option<f64>;
    /// Sets `name`; false when there is no such parameter.
    fn set(&mut self, name: &str, value: f64) -> bool;
}

/// Declares a family's per-learner numbers: a `Copy` struct of f64 fields with their
/// defaults, and its [`ParamSet`] impl.
#[macro_export]
macro_rules! params {
    ($(#[$meta:meta])* $vis:vis struct $name:ident {
        $( $(#[$doc:meta])* $field:ident = $default:expr ),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        $vis struct $name { $( $(#[$doc])* pub $field: f64, )* }

        impl Default for $name {
            fn default() -> Self { $name { $( $field: $default, )* } }
        }

        impl $crate::sweep::ParamSet for $name {
            const NAMES: &'static [&'static str] = &[$( stringify!($field) ),*];

            fn get(&self, name: &str) -> Option<f64> {
                match name { $( stringify!($field) => Some(self.$field), )* _ => None }
            }

            fn set(&mut self, name: &str, value: f64) -> bool {
                match name { $( stringify!($field) => { self.$field = value; true } )* _ => false }
            }
        }
    };
}

/// A science family the study runner can sweep: what it says about its config
/// ([`Parse`]), how it runs a chunk of learners ([`Compute`]) and how it presents
/// their results ([`Present`]). Implemented for every type that implements the three;
/// each has defaults wherever a family may have nothing to say.
pub trait Study: Present {}

impl<T: Present> Study for T {}

/// A study's config: its sections and per-learner numbers, parsed and checked.
pub trait Parse: Sized + Send + Sync + Serialize {
    /// One learner's numbers.
    type Params: ParamSet;

    /// The family's name, as manifests record it.
    const FAMILY: &'static str;

    /// The config sections the family owns. `[grid]` belongs to the runner, and so do
    /// `[run] chunk` and `[output] summary`.
    const SECTIONS: &'static [&'static str];

    /// Parses and validates the family's sections: `root` holds every section but
    /// `[grid]`, without the runner's keys; an unknown key is an error that names it
    /// and what is allowed. `grid` is the `[grid]` table (the family may need to know
    /// which numbers vary). Returns the study and the numbers of every learner before
    /// the grid sets its axes.
    fn parse(root: &Table, grid: &Table) -> Result<(Self, Self::Params)>;

    /// An axis whose values are names (rule kinds), as numbers: None for numeric axes.
    fn categorical(&mut self, _name: &str, _values: &Value) -> Option<Result<Vec<f64>>> {
        None
    }

    /// An axis value as result files write it (names for categorical axes).
    fn label(&self, _axis: &str, v: f64) -> String {
        v.to_string()
    }

    /// The inverse of [`Parse::label`].
    fn parse_label(&self, _axis: &str, s: &str) -> Option<f64> {
        s.parse().ok()
    }

    /// Numbers that shape data every learner shares, so no axis may vary them.
    fn fixed(&self) -> Vec<&'static str> {
        vec![]
    }

    /// Axes whose values are replicates (seeds): summaries fold them instead of
    /// plotting them.
    fn replicates(&self) -> Vec<&'static str> {
        vec!["seed"]
    }

    /// Finishes a learner after the grid has set its axes (defaults that depend on
    /// another axis, such as a rule's own β2).
    fn complete(&self, _p: &mut Self::Params) {}

    /// Checks one learner's numbers; the error names the key.
    fn validate(&self, p: &Self::Params) -> Result<()>;

    /// Why `name` has no effect on learner `p` (so an axis over it would only repeat
    /// rows), or None when it has one. `grid` is the sweep's, for numbers whose effect
    /// depends on other axes (a seed matters only where something is random).
    fn ignores(&self, _p: &Self::Params, _name: &str, _grid: &super::Grid) -> Option<String> {
        None
    }

    /// Checks the config as a whole once the grid is known: keys the family parsed that
    /// have no effect on any learner of the sweep are errors.
    fn check(&self, _base: &Self::Params, _grid: &super::Grid) -> Result<()> {
        Ok(())
    }

    /// A one-line description of the sweep for titles and logs.
    fn describe(&self) -> String;
}

/// How a study runs: what a chunk shares, how big one may be on a backend, and how one
/// runs.
pub trait Compute: Parse {
    /// What a learner's run reports.
    type Outcome: Send;

    /// Data every chunk shares, built once per run (a data set, a Hessian, tables).
    type Prepared: Send + Sync;

    /// What [`Compute::work_per_learner`] counts, for the throughput figure.
    const WORK: &'static str = "learner-steps";

    /// What a learner is called in messages (plural).
    const LEARNERS: &'static str = "learners";

    /// Work per learner, in the unit the throughput figure counts (steps).
    fn work_per_learner(&self) -> f64;

    /// Builds what every chunk shares, from the learners' common numbers.
    fn prepare(&self, base: &Self::Params) -> Result<Self::Prepared>;

    /// Bytes of the largest per-learner buffer on a GPU; a chunk must fit one binding.
    fn learner_bytes(&self) -> u64;

    /// The most learners one chunk may hold on the backend.
    fn max_chunk(&self, backend: &Backend) -> u64 {
        match backend {
            Backend::Cpu => u64::MAX,
            Backend::Gpu(gpu) => (gpu.max_binding_bytes() / self.learner_bytes().max(1)).max(1),
        }
    }

    /// Learners per chunk when the config does not say: enough to keep every core (or
    /// the whole GPU) busy, few enough that checkpoints stay frequent.
    fn chunk_size(&self, backend: &Backend) -> u64 {
        let want = match backend {
            Backend::Cpu => (256 * rayon::current_num_threads()).max(1024) as u64,
            Backend::Gpu(_) => 1 << 16,
        };
        want.min(self.max_chunk(backend))
    }

    /// Whether the family can prune (see [`super::prune`]): stop settings at rungs
    /// within a chunk's run.
    const PRUNES: bool = false;

    /// Why this config cannot be pruned, when it cannot (PRUNES families).
    fn refuses_pruning(&self) -> Option<String> {
        None
    }

    /// Refuses a backend that cannot run this config, before anything is written.
    fn supports(&self, _backend: &Backend) -> Result<()> {
        Ok(())
    }

    /// The step at which a learner was pruned, if it was.
    fn pruned_at(&self, _o: &Self::Outcome) -> Option<u64> {
        None
    }

    /// Runs a chunk of learners on the backend; outcomes in the chunk's order. With a
    /// plan, settings are pruned at its rungs (families with `PRUNES`).
    fn run_chunk(
        &self,
        prepared: &Self::Prepared,
        backend: &Backend,
        learners: &[Self::Params],
        prune: Option<&super::prune::PrunePlan>,
    ) -> Result<Vec<Self::Outcome>>;
}

/// How a study presents its results: its columns and series, and its summary picture.
pub trait Present: Compute {
    /// The results file (a row per learner) and the series file (rows per learner).
    const RESULTS: &'static str = "results.csv";

    const SERIES: &'static str = "trajectories.csv";

    /// The result columns after `learner` and the axes.
    fn columns(&self) -> Vec<String>;

    /// Appends a learner's values of [`Present::columns`], each preceded by a comma.
    fn write_row(&self, o: &Self::Outcome, out: &mut String);

    /// The column the summary plots (lower is better).
    fn headline(&self) -> &'static str;

    /// A true/false column that marks a learner as failed (diverged), if the study has
    /// one: the summary counts and crosses out settings where most seeds failed.
    fn flag(&self) -> Option<&'static str> {
        None
    }

    /// The series the summary draws as curves (x, y columns of the series file), when
    /// the study records one per learner.
    /// A column's name as pictures label it: words, then any units after a comma
    /// ("held-out NLL, nats per trial").
    fn quantity(&self, column: &str) -> String {
        column.replace('_', " ")
    }

    fn series(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// The series file's columns after `learner`, when there is one: by default the
    /// curve's x and y.
    fn series_columns(&self) -> Option<Vec<String>> {
        self.series()
            .map(|(x, y)| vec![x.to_string(), y.to_string()])
    }

    /// Draws the summary of a complete run into `dir`: the runner's heat map and
    /// curves of the headline ([`super::summary::write_summary`]), the family's own
    /// pictures, or both.
    /// Draws the run's pictures from its files in `dir`, as `fig` asks; returns the
    /// files written.
    fn summary(
        cfg: &StudyConfig<Self>,
        dir: &std::path::Path,
        fig: &crate::plot::Figure,
    ) -> Result<Vec<std::path::PathBuf>>;

    /// Appends a learner's series rows, `learner,` then the series columns.
    fn write_series(&self, _learner: u64, _o: &Self::Outcome, _out: &mut String) {}

    /// About how many bytes a learner adds to the output files (its row and series),
    /// for the size estimate of large sweeps.
    fn bytes_per_learner(&self, grid: &super::Grid) -> u64;
}

/// A parsed and validated study: the family's part, every learner's base numbers, the
/// grid, and the runner's settings.
#[derive(Clone, Debug, Serialize)]
pub struct StudyConfig<S: Parse> {
    pub study: S,
    /// Every learner's numbers before the grid sets its axes.
    pub base: S::Params,
    pub grid: super::Grid,
    /// Learners per chunk (0: chosen for the device).
    pub chunk: usize,
    /// Draw summary.svg when the run completes.
    pub summary: bool,
    /// Confirms a large sweep in advance: it runs if it has at most this many learners.
    pub max_learners: Option<u64>,
    /// The summary's heat-map axes (x, then y), when the config names them.
    pub plot_axes: Option<Vec<String>>,
    /// How its pictures are written (`[output] format`, `width`, `dpi`).
    pub figure: crate::plot::Figure,
    /// Successive halving across settings (`[prune]`).
    pub prune: Option<super::prune::Prune>,
}
