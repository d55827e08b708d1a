//! `rulelab control rates`: the optimal feedback's rates on a diagonal quadratic.

use clap::Subcommand;
use rulelab::control::closed;
use rulelab::gpu::DeviceChoice;
use rulelab::Result;
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ControlWhat {
    /// Per discount γ and coordinate: the optimal rate r, the Riccati coefficient p and
    /// the whole discounted cost J∞ from a unit displacement, and the ratio of the first
    /// two coordinates' rates.
    Rates {
        /// Inverse mass η.
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
        eta: f64,
        /// Weight k of the loss.
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
        k: f64,
        /// Discounts γ (comma-separated).
        #[arg(
            long,
            value_delimiter = ',',
            required = true,
            allow_negative_numbers = true
        )]
        gamma: Vec<f64>,
        /// Curvatures h_i (comma-separated).
        #[arg(
            long,
            value_delimiter = ',',
            required = true,
            allow_negative_numbers = true
        )]
        h: Vec<f64>,
        /// Metric g_i (comma-separated; default 1 for every coordinate).
        #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
        g: Vec<f64>,
        /// Print JSON: {"rows": [...], "rate_ratio": {"<gamma>": r1 / r2}}.
        #[arg(long)]
        json: bool,
    },
    /// Measure a finished horizon sweep (examples/sweeps/horizon.toml): each learner's
    /// rate from its trajectory, the ratio of the two curvatures' rates per γ beside the
    /// closed form; draws DIR/horizon.svg and .png.
    Horizon {
        /// The sweep's output directory.
        dir: std::path::PathBuf,
        /// Print JSON rows instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Optimal paths by batched L-BFGS from a TOML config (see examples/control/).
    /// Output: paths.csv, points.csv, manifest.json, summary.svg and .png.
    Path {
        #[command(flatten)]
        run: super::sweep::RunArgs,
    },
}

pub fn run(device: DeviceChoice, what: ControlWhat) -> Result<ExitCode> {
    match what {
        ControlWhat::Horizon { dir, json } => {
            let (cfg, rows) = rulelab::landscape::horizon::measure(&dir)?;
            rulelab::landscape::horizon::draw(&dir, &cfg, &rows)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).expect("serialises")
                );
            } else {
                let h = rows[0].h;
                println!(
                    "{:>10} {:>13} {:>13} {:>13} {:>13} {:>12} {:>12}",
                    "gamma",
                    format!("r({}) meas", h[0]),
                    format!("r({}) closed", h[0]),
                    format!("r({}) meas", h[1]),
                    format!("r({}) closed", h[1]),
                    "ratio meas",
                    "ratio closed"
                );
                for r in &rows {
                    println!(
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
                println!("wrote {}", dir.join("horizon.png").display());
            }
            Ok(ExitCode::SUCCESS)
        }
        ControlWhat::Path { run } => super::sweep::run("control", device, &run),
        ControlWhat::Rates {
            eta,
            k,
            gamma,
            h,
            g,
            json,
        } => {
            let g = if g.is_empty() { vec![1.0; h.len()] } else { g };
            let rows = closed::rates(eta, k, &gamma, &h, &g)?;
            let per = h.len();
            let ratios: BTreeMap<String, f64> = if per >= 2 {
                rows.chunks(per)
                    .map(|c| (c[0].gamma.to_string(), c[0].rate / c[1].rate))
                    .collect()
            } else {
                BTreeMap::new()
            };
            if json {
                let v = serde_json::json!({ "rows": rows, "rate_ratio": ratios });
                println!("{}", serde_json::to_string_pretty(&v).expect("serialises"));
            } else {
                println!(
                    "{:>10} {:>10} {:>8} {:>14} {:>14} {:>14}",
                    "gamma", "h", "g", "rate", "p", "j_inf"
                );
                for r in &rows {
                    println!(
                        "{:>10} {:>10} {:>8} {:>14.6e} {:>14.6e} {:>14.6e}",
                        r.gamma, r.h, r.g, r.rate, r.p, r.j_inf
                    );
                }
                for (gamma, ratio) in &ratios {
                    println!("gamma {gamma}: rate ratio r1/r2 = {ratio:.6}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
