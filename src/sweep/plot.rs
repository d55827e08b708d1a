//! DIR/summary.svg: a heat map of the median final loss over the two grid axes with the
//! most values (every other axis folded into the median), and, when trajectories were
//! recorded, the mean loss curves of the best few settings. Plain SVG, no dependency.

use super::config::SweepConfig;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// Rows of a results.csv as (learner, axis values, final loss).
pub fn read_results(cfg: &SweepConfig, path: &Path) -> Result<Vec<(u64, Vec<f64>, f64)>> {
    let n_axes = cfg.axes.len();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let axes = cfg
                .axes
                .iter()
                .zip(&f[1..1 + n_axes])
                .map(|(a, v)| cfg.parse_value(&a.name, v))
                .collect();
            let learner = f[0].parse().unwrap_or(0);
            (learner, axes, f[1 + n_axes].parse().unwrap_or(f64::NAN))
        })
        .collect())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// A perceptual-ish ramp from dark blue (t = 0, low loss) to yellow (t = 1).
fn color(t: f64) -> String {
    let stops = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = t.clamp(0.0, 1.0) * (stops.len() - 1) as f64;
    let i = (t.floor() as usize).min(stops.len() - 2);
    let f = t - i as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    let (a, b) = (stops[i], stops[i + 1]);
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

fn label(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-2 || v.abs() >= 1e4) {
        format!("{v:.2e}")
    } else {
        format!("{}", (v * 1e4).round() / 1e4)
    }
}

/// A value of axis `i` as the plot prints it (rule kinds by name).
fn axis_label(cfg: &SweepConfig, i: Option<usize>, v: f64) -> String {
    match i {
        Some(i) => match cfg.axes[i].name.as_str() {
            "rule" => cfg.value_label("rule", v),
            _ => label(v),
        },
        None => label(v),
    }
}

pub fn write_summary(cfg: &SweepConfig, dir: &Path) -> Result<()> {
    let rows = read_results(cfg, &dir.join("results.csv"))?;
    // The two axes with the most values (stable: earlier axes win ties).
    let mut order: Vec<usize> = (0..cfg.axes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(cfg.axes[i].values.len()));
    let xi = order.first().copied();
    let yi = order.get(1).copied();
    let xs: Vec<f64> = xi.map_or(vec![0.0], |i| cfg.axes[i].values.clone());
    let ys: Vec<f64> = yi.map_or(vec![0.0], |i| cfg.axes[i].values.clone());
    let pos = |vals: &[f64], v: f64| vals.iter().position(|&x| x == v);
    let mut cells: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    for (_, axes, loss) in &rows {
        let cx = xi.map_or(Some(0), |i| pos(&xs, axes[i]));
        let cy = yi.map_or(Some(0), |i| pos(&ys, axes[i]));
        if let (Some(cx), Some(cy)) = (cx, cy) {
            cells.entry((cx, cy)).or_default().push(*loss);
        }
    }
    let medians: BTreeMap<(usize, usize), f64> =
        cells.into_iter().map(|(k, v)| (k, median(v))).collect();
    let logs: Vec<f64> = medians
        .values()
        .filter(|v| v.is_finite() && **v > 0.0)
        .map(|v| v.log10())
        .collect();
    let (lo, hi) = logs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (lo, hi) = if lo.is_finite() {
        (lo, hi.max(lo + 1e-9))
    } else {
        (0.0, 1.0)
    };

    let cell = 36.0;
    let (left, top) = (110.0, 50.0);
    let width = left + cell * xs.len() as f64 + 140.0;
    let heat_h = top + cell * ys.len() as f64 + 60.0;
    let curves = read_curves(cfg, dir, &rows)?;
    let height = heat_h + if curves.is_empty() { 0.0 } else { 320.0 };
    let width = width.max(if curves.is_empty() { 700.0 } else { 900.0 });
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let name = |i: Option<usize>| i.map_or("(no axis)".to_string(), |i| cfg.axes[i].name.clone());
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="20" font-size="13">median final loss: {} on {} ({} x {}; other axes folded)</text>"#,
        cfg.rules
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(" vs "),
        cfg.problem.landscape.name(),
        name(xi),
        name(yi)
    );
    for (&(cx, cy), &m) in &medians {
        let x = left + cx as f64 * cell;
        let y = top + (ys.len() - 1 - cy) as f64 * cell;
        let fill = if m.is_finite() && m > 0.0 {
            color((m.log10() - lo) / (hi - lo))
        } else if m == 0.0 {
            color(0.0)
        } else {
            "#bbbbbb".into()
        };
        let _ = writeln!(
            svg,
            r#"<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}"><title>{} = {}, {} = {}: {m:e}</title></rect>"#,
            name(xi),
            xs[cx],
            name(yi),
            ys[cy]
        );
    }
    for (i, &v) in xs.iter().enumerate() {
        let x = left + (i as f64 + 0.5) * cell;
        let y = top + ys.len() as f64 * cell + 12.0;
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{y}" text-anchor="end" transform="rotate(-45 {x} {y})">{}</text>"#,
            axis_label(cfg, xi, v)
        );
    }
    for (i, &v) in ys.iter().enumerate() {
        let y = top + (ys.len() - 1 - i) as f64 * cell + cell * 0.6;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{y}" text-anchor="end">{}</text>"#,
            left - 4.0,
            axis_label(cfg, yi, v)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        left + cell * xs.len() as f64 / 2.0,
        heat_h - 4.0,
        name(xi)
    );
    let _ = writeln!(
        svg,
        r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">{}</text>"#,
        top + cell * ys.len() as f64 / 2.0,
        top + cell * ys.len() as f64 / 2.0,
        name(yi)
    );
    // Colour bar.
    let bx = left + cell * xs.len() as f64 + 20.0;
    for k in 0..20 {
        let t = k as f64 / 19.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{bx}" y="{}" width="14" height="8" fill="{}"/>"#,
            top + (19 - k) as f64 * 8.0,
            color(t)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}">{:.2e}</text>"#,
        bx + 18.0,
        top + 8.0,
        10f64.powf(hi)
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}">{:.2e}</text>"#,
        bx + 18.0,
        top + 160.0,
        10f64.powf(lo)
    );
    if !curves.is_empty() {
        plot_curves(&mut svg, &curves, heat_h, cfg.problem.record_every);
    }
    svg.push_str("</svg>\n");
    super::run::write_atomic(&dir.join("summary.svg"), svg.as_bytes())
}

/// Mean loss curves of the best five settings (all axes but seed), by median final loss.
fn read_curves(
    cfg: &SweepConfig,
    dir: &Path,
    rows: &[(u64, Vec<f64>, f64)],
) -> Result<Vec<(String, Vec<f64>)>> {
    let path = dir.join("trajectories.csv");
    if !cfg.trajectories || !path.exists() {
        return Ok(vec![]);
    }
    let seed_axis = cfg.axes.iter().position(|a| a.name == "seed");
    let setting = |axes: &[f64]| -> String {
        cfg.axes
            .iter()
            .zip(axes)
            .enumerate()
            .filter(|(i, _)| Some(*i) != seed_axis)
            .map(|(i, (a, v))| format!("{}={}", a.name, axis_label(cfg, Some(i), *v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let first_learner = rows.first().map_or(0, |r| r.0);
    let mut by_setting: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut finals: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (i, (_, axes, loss)) in rows.iter().enumerate() {
        let s = setting(axes);
        by_setting.entry(s.clone()).or_default().push(i);
        finals.entry(s).or_default().push(*loss);
    }
    let mut ranked: Vec<(String, f64)> = finals
        .into_iter()
        .map(|(k, v)| (k, median(v)))
        .filter(|(_, m)| m.is_finite())
        .collect();
    ranked.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap());
    ranked.truncate(5);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let records = cfg.problem.steps / cfg.problem.record_every + 1;
    let mut traj: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 3 {
            continue;
        }
        let (Ok(k), Ok(step), Ok(loss)) = (
            f[0].parse::<u64>(),
            f[1].parse::<usize>(),
            f[2].parse::<f64>(),
        ) else {
            continue;
        };
        let row = (k - first_learner) as usize;
        traj.entry(row).or_insert_with(|| vec![0.0; records])[step / cfg.problem.record_every] =
            loss;
    }
    Ok(ranked
        .into_iter()
        .map(|(name, _)| {
            let members = &by_setting[&name];
            let mean = (0..records)
                .map(|r| {
                    members
                        .iter()
                        .filter_map(|m| traj.get(m).map(|t| t[r]))
                        .sum::<f64>()
                        / members.len() as f64
                })
                .collect();
            (name, mean)
        })
        .collect())
}

fn plot_curves(svg: &mut String, curves: &[(String, Vec<f64>)], y0: f64, every: usize) {
    let (left, w, h) = (70.0, 360.0, 240.0);
    let top = y0 + 30.0;
    let vals: Vec<f64> = curves
        .iter()
        .flat_map(|c| c.1.iter())
        .filter(|v| v.is_finite() && **v > 0.0)
        .map(|v| v.log10())
        .collect();
    let (lo, hi) = vals
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return;
    }
    let hi = hi.max(lo + 1e-9);
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="{}" font-size="13">mean loss of the best settings (log scale)</text>"#,
        top - 10.0
    );
    let _ = writeln!(
        svg,
        r#"<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="gray"/>"#
    );
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
    for (i, (name, c)) in curves.iter().enumerate() {
        let n = c.len().max(2) - 1;
        let pts: Vec<String> = c
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite() && **v > 0.0)
            .map(|(k, v)| {
                format!(
                    "{:.1},{:.1}",
                    left + w * k as f64 / n as f64,
                    top + h * (1.0 - (v.log10() - lo) / (hi - lo))
                )
            })
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
            colors[i % 5],
            pts.join(" ")
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" fill="{}">{name}</text>"#,
            left + w + 10.0,
            top + 14.0 * (i + 1) as f64,
            colors[i % 5]
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="end">{:.2e}</text>"#,
        left - 4.0,
        top + 10.0,
        10f64.powf(hi)
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="end">{:.2e}</text>"#,
        left - 4.0,
        top + h,
        10f64.powf(lo)
    );
    let last = (curves[0].1.len().max(1) - 1) * every;
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">step (0 .. {last})</text>"#,
        left + w / 2.0,
        top + h + 16.0
    );
}
