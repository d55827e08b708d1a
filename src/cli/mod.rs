//! The command line: a few commands of its own (devices, check, merge) and, built from
//! the registry, every family's study and commands. Nothing here names a family.

pub mod check;
pub mod devices;
pub mod family;
pub mod sweep;

use clap::{ArgMatches, FromArgMatches, Subcommand};
use rulelab::gpu::DeviceChoice;
use rulelab::{registry, Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;

// The commands that belong to no family (no doc comment: clap would take it for the
// whole command line's help).
#[derive(Subcommand)]
enum Own {
    /// List every adapter found and the one rulelab would choose.
    Devices,
    /// Run every kernel (and the CPU device) against its f64 reference on fresh random
    /// inputs: by default on the CPU device and on any GPU adapter, software ones
    /// included.
    Check {
        /// Only these families (comma-separated; an unknown name lists the families).
        #[arg(long, value_delimiter = ',')]
        family: Vec<String>,
        /// Replay the inputs of an earlier run.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Join shard outputs of one study into one results file and manifest.
    Merge {
        /// The shard directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The merged run's directory (new).
        #[arg(long)]
        out: PathBuf,
    },
    /// Draw a finished run's pictures again from its files (after a merge, with other
    /// axes from its config, in other formats or sizes), computing nothing.
    ///
    /// Writes DIR/summary.{svg,png,pdf} (and the family's other pictures) as asked;
    /// the directory's files are checked against its manifest first.
    Plot {
        /// The run's directory (a sweep, control path, infer sweep or hippo run, or a merge).
        dir: PathBuf,
        /// Formats to write (comma-separated: svg, png, pdf); default: the config's
        /// `[output] format`, else svg,png.
        #[arg(long, value_delimiter = ',')]
        format: Vec<String>,
        /// Printed width in inches: the whole picture, text included, scales to it
        /// (at each picture's own width, text is 7 to 9 points); default: the config's
        /// `[output] width`, else each picture's own.
        #[arg(long)]
        width: Option<f64>,
        /// PNG resolution in dots per inch; default: the config's `[output] dpi`, else 300.
        #[arg(long)]
        dpi: Option<u32>,
        /// The heat map's x and y axes (one or two grid axes, comma-separated); default:
        /// the config's `[output] plot_axes`, else the two with the most values.
        #[arg(long, value_delimiter = ',')]
        axes: Vec<String>,
    },
}

/// `--device` and `RULELAB_DEVICE`.
fn device(s: &str) -> std::result::Result<DeviceChoice, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not one of auto, gpu, cpu"))
}

/// `--device`, for the commands it acts on.
fn device_arg() -> clap::Arg {
    clap::Arg::new("device")
        .long("device")
        .value_parser(device)
        .help(
            "Where work runs: auto (a hardware GPU if present, else the CPU), gpu (any \
             adapter, software ones included) or cpu [default: RULELAB_DEVICE, else auto]",
        )
}

/// The whole command line.
pub fn app() -> clap::Command {
    let root = clap::Command::new("rulelab")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Learning-rule science on the GPU, checked against CPU references")
        .subcommand_required(true)
        .arg_required_else_help(true)
        // Before the command (`rulelab --device cpu sweep ...`) too; refused there for a
        // command that runs on no device.
        .arg(device_arg());
    // --device only where it changes something: a command that runs on no device
    // (merge, plot, control rates, ...) does not offer it, so clap refuses it there.
    let mut root = Own::augment_subcommands(root)
        .about("Learning-rule science on the GPU, checked against CPU references")
        .mut_subcommand("check", |c| c.arg(device_arg()));
    let mut groups: Vec<clap::Command> = registry::GROUPS
        .iter()
        .map(|(name, about)| {
            clap::Command::new(*name)
                .about(about.trim_end_matches('.'))
                .subcommand_required(true)
                .arg_required_else_help(true)
        })
        .collect();
    let mut place = |path: Vec<&'static str>, cmd: clap::Command| match path.as_slice() {
        [_] => root = std::mem::take(&mut root).subcommand(cmd),
        [group, _] => {
            let g = groups
                .iter_mut()
                .find(|g| g.get_name() == *group)
                .unwrap_or_else(|| panic!("registry::GROUPS has no {group:?}"));
            *g = std::mem::take(g).subcommand(cmd);
        }
        _ => panic!("a command is named by one or two words: {path:?}"),
    };
    for f in registry::families() {
        if let Some(s) = f.study {
            let path: Vec<&'static str> = s.command.split(' ').collect();
            place(
                path.clone(),
                sweep::study_command(path[path.len() - 1], s.about).arg(device_arg()),
            );
        }
        for c in (f.commands)() {
            let cmd = family::clap_command(&c);
            let cmd = if c.uses_device {
                cmd.arg(device_arg())
            } else {
                cmd
            };
            place(c.path.to_vec(), cmd);
        }
    }
    groups.into_iter().fold(root, |r, g| r.subcommand(g))
}

/// Runs what `matches` names.
pub fn dispatch(matches: &ArgMatches) -> Result<ExitCode> {
    let (name, sub) = matches.subcommand().expect("a subcommand is required");
    let (path, leaf) = match sub.subcommand() {
        Some((second, leaf)) => (vec![name, second], leaf),
        None => (vec![name], sub),
    };
    // Commands without --device read none (RULELAB_DEVICE changes nothing for them);
    // one given before such a command is refused, as clap refuses it after.
    let before = matches.get_one::<DeviceChoice>("device").copied();
    let offers = path
        .iter()
        .try_fold(app(), |c, name| c.find_subcommand(name).cloned())
        .is_some_and(|c| c.get_arguments().any(|a| a.get_id() == "device"));
    if before.is_some() && !offers {
        return Err(Error::invalid(
            "--device",
            format!(
                "changes nothing for `rulelab {}` (it runs on no device)",
                path.join(" ")
            ),
        ));
    }
    let after = if offers {
        leaf.get_one::<DeviceChoice>("device").copied()
    } else {
        None
    };
    let given = after.or(before);
    let device = DeviceChoice::resolve(given)?;
    rulelab::gpu::check_env()?;
    if Own::has_subcommand(name) {
        let own =
            Own::from_arg_matches(matches).map_err(|e| Error::invalid("command", e.to_string()))?;
        return match own {
            Own::Devices => devices::run(),
            Own::Check { family, seed } => check::run(device, &family, seed),
            Own::Merge { dirs, out } => sweep::merge(&dirs, &out),
            Own::Plot {
                dir,
                format,
                width,
                dpi,
                axes,
            } => sweep::plot(&dir, format, width, dpi, axes),
        };
    }
    let spelled = path.join(" ");
    if let Some(f) = registry::families()
        .into_iter()
        .find(|f| f.study.is_some_and(|s| s.command == spelled))
    {
        return sweep::run(f.name, device, &sweep::RunArgs::from_matches(leaf));
    }
    let command = registry::command(&path)?;
    family::run(&command, leaf, device)
}
