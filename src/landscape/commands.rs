//! The landscape family's commands beyond its sweep: `rulelab control horizon` (the
//! horizon picture, read from a finished sweep) and `rulelab bench sweep`.

use super::{bench, horizon};
use crate::command::{Arg, Args, Command, Context, Reply};
use crate::error::Result;
use crate::gpu::{Backend, DeviceChoice};
use std::fmt::Write;
use std::path::PathBuf;

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            path: &["control", "horizon"],
            about: "Measure a finished horizon sweep (examples/sweeps/horizon.toml).\n\n\
                    Each learner's rate from its trajectory, the ratio of the two \
                    curvatures' rates per γ beside the closed form; draws DIR/horizon.svg \
                    and .png.",
            args: || {
                vec![
                    Arg::input("dir", "The sweep's output directory."),
                    Arg::flag("json", "Print JSON rows instead of the table."),
                ]
            },
            uses_device: false,
            run: measure_horizon,
        },
        Command {
            path: &["bench", "sweep"],
            about: "The sweep workloads on the GPU and on the CPU in the same run.\n\n\
                    S1 (Adam on a diagonal quadratic, 16,384 learners) and momentum on \
                    Rosenbrock D = 64.",
            args: || {
                vec![
                    Arg::value("json", "Write the rows as a JSON list here."),
                    Arg::value(
                        "learners",
                        "Run only the first N learners of each workload (for slow adapters).",
                    ),
                    Arg::list(
                        "devices",
                        "Devices to run on, in order (gpu is skipped with a note when there \
                         is no adapter).",
                    )
                    .default(["gpu", "cpu"]),
                ]
            },
            uses_device: false,
            run: bench_sweep,
        },
    ]
}

fn measure_horizon(args: &Args, _: &Context) -> Result<Reply> {
    let dir: PathBuf = args.need("dir")?;
    let (cfg, rows) = horizon::measure(&dir)?;
    horizon::draw(&dir, &cfg, &rows, &crate::plot::Figure::default())?;
    if args.flag("json") {
        let text = serde_json::to_string_pretty(&rows).expect("serialises");
        return Ok(Reply::new(&rows, text));
    }
    let h = rows[0].h;
    let mut text = format!(
        "{:>10} {:>13} {:>13} {:>13} {:>13} {:>12} {:>12}\n",
        "gamma",
        format!("r({}) meas", h[0]),
        format!("r({}) closed", h[0]),
        format!("r({}) meas", h[1]),
        format!("r({}) closed", h[1]),
        "ratio meas",
        "ratio closed"
    );
    for r in &rows {
        let _ = writeln!(
            text,
            "{:>10.4} {:>13.6} {:>13.6} {:>13.6} {:>13.6} {:>12.5} {:>12.5}",
            r.gamma,
            r.measured[0],
            r.closed[0],
            r.measured[1],
            r.closed[1],
            r.ratio_measured,
            r.ratio_closed
        );
    }
    let _ = writeln!(text, "wrote {}", dir.join("horizon.png").display());
    Ok(Reply::new(&rows, text))
}

fn bench_sweep(args: &Args, ctx: &Context) -> Result<Reply> {
    let json = args.path("json")?;
    let learners: Option<u64> = args.get("learners")?;
    if learners == Some(0) {
        return Err(crate::error::Error::invalid(
            "--learners",
            "0 runs nothing: give at least 1",
        ));
    }
    let devices: Vec<DeviceChoice> = args.list("devices")?;
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    (ctx.show)(&format!(
        "{:<14} {:<5} {:>8} {:>9} {:>14} {:>14} {:>12}  adapter",
        "workload", "dev", "learners", "seconds", "learner-st/s", "coord-st/s", "median loss"
    ));
    for choice in devices {
        let backend = match Backend::open(choice) {
            Ok(b) => b,
            Err(e) => {
                notes.push(format!("skipping --device {}: {e}", choice.name()));
                continue;
            }
        };
        for (name, text) in [
            ("s1_adam_quadratic", bench::S1),
            ("rosenbrock64_momentum", bench::ROSENBROCK64),
        ] {
            let r = bench::run(name, text, &backend, learners)?;
            (ctx.show)(&format!(
                "{:<14} {:<5} {:>8} {:>9.3} {:>14.3e} {:>14.3e} {:>12.4e}  {} {}",
                &name[..name.len().min(14)],
                r.device,
                r.n,
                r.seconds,
                r.learner_steps_per_s,
                r.coordinate_steps_per_s,
                r.median_final_loss,
                r.adapter,
                r.simd
            ));
            (ctx.show)(&format!(
                "    best setting {} (mean final loss {:.4e})",
                r.best_setting, r.best_mean_final_loss
            ));
            rows.push(r);
        }
    }
    let mut text = String::new();
    if let Some(path) = json {
        crate::files::write_json(&path, &rows)?;
        text = format!("wrote {}", path.display());
    }
    let mut reply = Reply::new(&rows, text);
    reply.notes = notes;
    Ok(reply)
}
