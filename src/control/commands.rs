//! The control family's command beyond its study: `rulelab control rates`.

use super::closed;
use crate::command::{Arg, Args, Command, Context, Reply};
use crate::error::Result;
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn commands() -> Vec<Command> {
    vec![Command {
        path: &["control", "rates"],
        about: "The optimal feedback's rates on a diagonal quadratic.\n\n\
                Per discount γ and coordinate: the optimal rate r, the Riccati coefficient \
                p and the whole discounted cost J∞ from a unit displacement, and the ratio \
                of the first two coordinates' rates.",
        args: || {
            vec![
                Arg::value("eta", "Inverse mass η.").default(1.0),
                Arg::value("k", "Weight k of the loss.").default(1.0),
                Arg::list("gamma", "Discounts γ (comma-separated).").required(),
                Arg::list("h", "Curvatures h_i (comma-separated).").required(),
                Arg::list(
                    "g",
                    "Metric g_i (comma-separated; default 1 for every coordinate).",
                ),
                Arg::flag(
                    "json",
                    "Print JSON: {\"rows\": [...], \"rate_ratio\": {\"<gamma>\": r1 / r2}}.",
                ),
            ]
        },
        uses_device: false,
        run: rates,
    }]
}

fn rates(args: &Args, _: &Context) -> Result<Reply> {
    let (eta, k): (f64, f64) = (args.need("eta")?, args.need("k")?);
    let (gamma, h): (Vec<f64>, Vec<f64>) = (args.list("gamma")?, args.list("h")?);
    let mut g: Vec<f64> = args.list("g")?;
    if g.is_empty() {
        g = vec![1.0; h.len()];
    }
    let rows = closed::rates(eta, k, &gamma, &h, &g)?;
    let per = h.len();
    let ratios: BTreeMap<String, f64> = if per >= 2 {
        rows.chunks(per)
            .map(|c| (c[0].gamma.to_string(), c[0].rate / c[1].rate))
            .collect()
    } else {
        BTreeMap::new()
    };
    let value = serde_json::json!({ "rows": rows, "rate_ratio": ratios });
    if args.flag("json") {
        let text = serde_json::to_string_pretty(&value).expect("serialises");
        return Ok(Reply::new(value, text));
    }
    let mut text = format!(
        "{:>10} {:>10} {:>8} {:>14} {:>14} {:>14}\n",
        "gamma", "h", "g", "rate", "p", "j_inf"
    );
    for r in &rows {
        let _ = writeln!(
            text,
            "{:>10} {:>10} {:>8} {:>14.6e} {:>14.6e} {:>14.6e}",
            r.gamma, r.h, r.g, r.rate, r.p, r.j_inf
        );
    }
    for (gamma, ratio) in &ratios {
        let _ = writeln!(text, "gamma {gamma}: rate ratio r1/r2 = {ratio:.6}");
    }
    Ok(Reply::new(value, text))
}
