//! The optimiser family's command: `rulelab bench optim`.

use super::{bench, Member};
use crate::command::{Arg, Args, Command, Context, Reply};
use crate::error::{Error, Result};
use crate::gpu::Backend;

pub fn commands() -> Vec<Command> {
    vec![Command {
        path: &["bench", "optim"],
        about: "The optimiser family against the device's copy bandwidth.\n\n\
                Each member's fused step at each size, timed against a plain copy of the \
                same bytes (the median of --reps interleaved repetitions).",
        args: || {
            vec![
                Arg::value("json", "Write the rows as a JSON list here."),
                Arg::list("log2-sizes", "Sizes as powers of two.").default([20, 24, 26]),
                Arg::value(
                    "reps",
                    "Timed repetitions per kernel (the median is reported).",
                )
                .default(7),
                Arg::list("members", "Only these members (default: every member)."),
            ]
        },
        uses_device: true,
        run: bench_optim,
    }]
}

fn bench_optim(args: &Args, ctx: &Context) -> Result<Reply> {
    let json = args.path("json")?;
    let log2: Vec<u32> = args.list("log2-sizes")?;
    let reps: usize = args.need("reps")?;
    if !(1..=1000).contains(&reps) {
        return Err(Error::invalid(
            "--reps",
            format!("{reps} must be in 1..=1000"),
        ));
    }
    let names: Vec<String> = args.list("members")?;
    let members = if names.is_empty() {
        Member::ALL.to_vec()
    } else {
        names
            .iter()
            .map(|s| {
                Member::from_name(s).ok_or_else(|| {
                    Error::invalid(
                        "--members",
                        format!("{s:?} is not one of {}", Member::names().join(", ")),
                    )
                })
            })
            .collect::<Result<_>>()?
    };
    if let Some(&k) = log2.iter().find(|&&k| !(4..=30).contains(&k)) {
        return Err(Error::invalid(
            "--log2-sizes",
            format!("{k} must be in 4..=30"),
        ));
    }
    let sizes: Vec<usize> = log2.iter().map(|&k| 1usize << k).collect();
    let backend = Backend::open(ctx.device)?;
    (ctx.show)(&format!(
        "device: {} — {}",
        backend.kind(),
        backend.describe()
    ));
    (ctx.show)(&format!(
        "{:<12} {:>10} {:>11} {:>10} {:>10} {:>10} {:>6}",
        "kernel", "n", "seconds", "GB/s", "copy GB/s", "shader", "ratio"
    ));
    let rows = bench::run(&backend, &members, &sizes, reps, |r| {
        (ctx.show)(&format!(
            "{:<12} {:>10} {:>11.3e} {:>10.2} {:>10.2} {:>10.2} {:>6.3}",
            r.kernel,
            r.n,
            r.seconds,
            r.bytes_per_s / 1e9,
            r.copy_bytes_per_s / 1e9,
            r.copy_shader_bytes_per_s / 1e9,
            r.ratio
        ));
    })?;
    let mut text = String::new();
    if let Some(path) = json {
        crate::files::write_json(&path, &rows)?;
        text = format!("wrote {}", path.display());
    }
    Ok(Reply::new(&rows, text))
}
