//! Every family's study command (`rulelab sweep`, `control path`, `infer sweep`,
//! `hippo run`) and `rulelab merge`.

use rulelab::gpu::DeviceChoice;
use rulelab::plot::Figure;
use rulelab::registry;
use rulelab::sweep::{self, Progress};
use rulelab::Result;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The arguments of every command that runs a study.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The config (TOML).
    pub config: PathBuf,
    /// Output directory (new, or one to --resume).
    #[arg(long)]
    pub out: PathBuf,
    /// Run the K-th of N equal parts of the grid (0-based). Inside a Slurm array job
    /// the default comes from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT.
    #[arg(long)]
    pub shard: Option<String>,
    /// Continue a run in --out from its last finished chunk (its files are checked
    /// against the manifest first and cut back to what verifies).
    #[arg(long)]
    pub resume: bool,
    /// Run past 2^24 learners or about 4 GB of output without asking.
    #[arg(long)]
    pub yes: bool,
    /// Print what the run did as JSON (the files written, the best setting, the
    /// timings) instead of the summary lines.
    #[arg(long)]
    pub json: bool,
}

impl RunArgs {
    pub fn from_matches(m: &clap::ArgMatches) -> RunArgs {
        <RunArgs as clap::FromArgMatches>::from_arg_matches(m).expect("clap checked them")
    }
}

/// A study's command, named `name`, with its registry help.
pub fn study_command(name: &'static str, about: &'static str) -> clap::Command {
    let (summary, details) = about.split_once("\n\n").unwrap_or((about, ""));
    // The help after augment_args, which would set RunArgs' own doc comment as it.
    <RunArgs as clap::Args>::augment_args(clap::Command::new(name))
        .about(summary.trim_end_matches('.'))
        .long_about(format!("{summary}\n\n{details}"))
}

/// Runs (or resumes) the study of `family` (a registry entry) from its config file:
/// `rulelab sweep`, `rulelab control path`, `rulelab infer sweep`, `rulelab hippo run`.
pub fn run(family: &str, device: DeviceChoice, args: &RunArgs) -> Result<ExitCode> {
    let runner = rulelab::registry::study(family)?.runner;
    let RunArgs {
        config,
        out,
        shard,
        resume,
        yes,
        json,
    } = args;
    let launch = runner.launch_file(config, shard.as_deref(), device)?;
    // From here Ctrl-C asks the run to stop at a chunk boundary (a second one kills).
    rulelab::interrupt::install();
    eprintln!("{}", launch.describe());
    let report = launch.run(out, *resume, *yes, Progress::Bar)?;
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    let m = &report.manifest;
    if *json {
        let value = serde_json::json!({
            "out": out,
            "complete": m.complete,
            "ran_chunks": report.ran_chunks,
            "results": out.join(&m.results_file),
            "series": Some(out.join(&m.series_file)).filter(|p| p.exists()),
            "pictures": report.pictures,
            "best": report.best,
            "learners": m.end - m.first,
            "compute_seconds": m.compute_seconds,
            "work_per_second": m.learner_steps_per_s,
            "notes": report.notes,
        });
        println!("{value:#}");
        return Ok(ExitCode::SUCCESS);
    }
    if report.ran_chunks > 0 {
        let pictures: Vec<String> = report
            .pictures
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e != "svg"))
            .map(|p| p.display().to_string())
            .collect();
        println!(
            "wrote {}{} ({} {}, {:.2} s compute, {:.3e} {}/s)",
            out.join(&m.results_file).display(),
            if pictures.is_empty() {
                String::new()
            } else {
                format!(" and {}", pictures.join(", "))
            },
            m.end - m.first,
            runner.learners,
            m.compute_seconds,
            m.learner_steps_per_s,
            runner.work
        );
        if let Some(best) = &report.best {
            println!("best: {}", best.text);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<ExitCode> {
    let m = sweep::merge::merge(dirs, out)?;
    println!(
        "merged {} shards: {} learners into {}{}",
        dirs.len(),
        m.grid_size,
        out.join(&m.results_file).display(),
        if m.device == "mixed" {
            " (from more than one device: see sources in manifest.json)"
        } else {
            ""
        }
    );
    // The whole sweep's picture, which no shard could draw; the merged results are
    // complete and durable whatever happens to it.
    match registry::redraw(out, None, &|f| Ok(f)) {
        Ok(drawn) => say_drawn(&drawn),
        Err(e) => eprintln!("note: no picture drawn: {e}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `rulelab plot DIR`: the options override the run's config.
pub fn plot(
    dir: &Path,
    format: Vec<String>,
    width: Option<f64>,
    dpi: Option<u32>,
    axes: Vec<String>,
) -> Result<ExitCode> {
    let adjust = |f: Figure| {
        let formats: Vec<String> = if format.is_empty() {
            f.formats.iter().map(|x| x.ext().to_string()).collect()
        } else {
            format.clone()
        };
        Figure::new(&formats, width.or(f.width), dpi.unwrap_or(f.dpi), "--")
    };
    let axes = (!axes.is_empty()).then_some(axes.as_slice());
    let drawn = registry::redraw(dir, axes, &adjust)?;
    if drawn.is_empty() {
        return Err(rulelab::Error::invalid(
            dir.display().to_string(),
            "holds a run whose study draws no picture",
        ));
    }
    say_drawn(&drawn);
    Ok(ExitCode::SUCCESS)
}

fn say_drawn(drawn: &[PathBuf]) {
    let names: Vec<String> = drawn.iter().map(|p| p.display().to_string()).collect();
    println!("drew {}", names.join(", "));
}
