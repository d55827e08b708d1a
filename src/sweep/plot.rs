//! DIR/summary.svg: a heat map of the median headline value (final loss) over the two
//! grid axes with the most values (replicate axes such as seed, and every other axis,
//! folded into the median), and, when the study records a series per learner, the mean
//! curves of the best few settings. Plain SVG, no dependency.

use super::config::StudyConfig;
use super::study::Study;
use crate::check::median;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Rows of a results.csv as (learner, axis values, headline value), the columns found
/// by name.
pub fn read_results<S: Study>(
    cfg: &StudyConfig<S>,
    path: &Path,
) -> Result<Vec<(u64, Vec<f64>, f64)>> {
    let text = read(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).ok_or_else(|| {
            Error::invalid(path.display().to_string(), format!("has no column {name}"))
        })
    };
    let axis_cols: Vec<usize> = cfg
        .grid
        .axes
        .iter()
        .map(|a| col(&a.name))
        .collect::<Result<_>>()?;
    let head = col(cfg.study.headline())?;
    Ok(lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let field = |i: usize| f.get(i).copied().unwrap_or("");
            let axes = cfg
                .grid
                .axes
                .iter()
                .zip(&axis_cols)
                .map(|(a, &i)| cfg.parse_value(&a.name, field(i)))
                .collect();
            let learner = field(0).parse().unwrap_or(0);
            (learner, axes, field(head).parse().unwrap_or(f64::NAN))
        })
        .collect())
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

/// A value of axis `i` as the plot prints it (categorical values by name).
fn axis_label<S: Study>(cfg: &StudyConfig<S>, i: Option<usize>, v: f64) -> String {
    match i {
        Some(i) if cfg.grid.axes[i].categorical => cfg.value_label(&cfg.grid.axes[i].name, v),
        _ => label(v),
    }
}

/// Axes the heat map may show: not replicates, and few enough values to draw.
fn plottable<S: Study>(cfg: &StudyConfig<S>) -> Vec<usize> {
    let replicates = cfg.study.replicates();
    (0..cfg.grid.axes.len())
        .filter(|&i| {
            let a = &cfg.grid.axes[i];
            !replicates.contains(&a.name.as_str()) && a.values.len() <= 64
        })
        .collect()
}

pub fn write_summary<S: Study>(cfg: &StudyConfig<S>, dir: &Path) -> Result<()> {
    let rows = read_results(cfg, &dir.join("results.csv"))?;
    // The two axes with the most values (stable: earlier axes win ties).
    let mut order = plottable(cfg);
    order.sort_by_key(|&i| std::cmp::Reverse(cfg.grid.axes[i].values.len()));
    let xi = order.first().copied();
    let yi = order.get(1).copied();
    let xs: Vec<f64> = xi.map_or(vec![0.0], |i| cfg.grid.axes[i].values.all());
    let ys: Vec<f64> = yi.map_or(vec![0.0], |i| cfg.grid.axes[i].values.all());
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
    let name =
        |i: Option<usize>| i.map_or("(no axis)".to_string(), |i| cfg.grid.axes[i].name.clone());
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="20" font-size="13">median {}: {} ({} x {}; other axes folded)</text>"#,
        cfg.study.headline().replace('_', " "),
        cfg.study.describe(),
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
    if let (false, Some((x, _))) = (curves.is_empty(), cfg.study.series()) {
        plot_curves(&mut svg, &curves, heat_h, x);
    }
    svg.push_str("</svg>\n");
    crate::files::write_atomic(&dir.join("summary.svg"), svg.as_bytes())
}

/// Mean curves of the best five settings (all axes but replicates), by median
/// headline value: (setting, [(x, mean y)]).
#[allow(clippy::type_complexity)]
fn read_curves<S: Study>(
    cfg: &StudyConfig<S>,
    dir: &Path,
    rows: &[(u64, Vec<f64>, f64)],
) -> Result<Vec<(String, Vec<(f64, f64)>)>> {
    let path = dir.join("trajectories.csv");
    if cfg.study.series().is_none() || !path.exists() {
        return Ok(vec![]);
    }
    let replicates = cfg.study.replicates();
    let setting = |axes: &[f64]| -> String {
        cfg.grid
            .axes
            .iter()
            .zip(axes)
            .enumerate()
            .filter(|(_, (a, _))| !replicates.contains(&a.name.as_str()))
            .map(|(i, (a, v))| format!("{}={}", a.name, axis_label(cfg, Some(i), *v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut setting_of: BTreeMap<u64, String> = BTreeMap::new();
    let mut finals: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (k, axes, loss) in rows {
        let s = setting(axes);
        setting_of.insert(*k, s.clone());
        finals.entry(s).or_default().push(*loss);
    }
    let mut ranked: Vec<(String, f64)> = finals
        .into_iter()
        .map(|(k, v)| (k, median(v)))
        .filter(|(_, m)| m.is_finite())
        .collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    ranked.truncate(5);
    // Sums and counts per (setting, x), for the chosen settings only.
    let mut sums: BTreeMap<&str, BTreeMap<u64, (f64, f64, usize)>> = ranked
        .iter()
        .map(|(name, _)| (name.as_str(), BTreeMap::new()))
        .collect();
    let text = read(&path)?;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (Some(Ok(k)), Some(Ok(x)), Some(Ok(y))) = (
            f.first().map(|v| v.parse::<u64>()),
            f.get(1).map(|v| v.parse::<f64>()),
            f.get(2).map(|v| v.parse::<f64>()),
        ) else {
            continue;
        };
        let Some(curve) = setting_of.get(&k).and_then(|s| sums.get_mut(s.as_str())) else {
            continue;
        };
        let e = curve.entry(x.to_bits()).or_insert((x, 0.0, 0));
        e.1 += y;
        e.2 += 1;
    }
    Ok(ranked
        .iter()
        .map(|(name, _)| {
            let mut pts: Vec<(f64, f64)> = sums[name.as_str()]
                .values()
                .map(|&(x, s, n)| (x, s / n as f64))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (name.clone(), pts)
        })
        .collect())
}

fn plot_curves(svg: &mut String, curves: &[(String, Vec<(f64, f64)>)], y0: f64, x_name: &str) {
    let (left, w, h) = (70.0, 360.0, 240.0);
    let top = y0 + 30.0;
    let vals: Vec<f64> = curves
        .iter()
        .flat_map(|c| c.1.iter().map(|p| p.1))
        .filter(|v| v.is_finite() && *v > 0.0)
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
        r#"<text x="{left}" y="{}" font-size="13">mean of the best settings (log scale)</text>"#,
        top - 10.0
    );
    let _ = writeln!(
        svg,
        r#"<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="gray"/>"#
    );
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
    let (x0, x1) = curves
        .iter()
        .flat_map(|c| c.1.iter().map(|p| p.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    let span = (x1 - x0).max(1e-300);
    for (i, (name, c)) in curves.iter().enumerate() {
        let pts: Vec<String> = c
            .iter()
            .filter(|(_, v)| v.is_finite() && *v > 0.0)
            .map(|(x, v)| {
                format!(
                    "{:.1},{:.1}",
                    left + w * (x - x0) / span,
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
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{x_name} ({x0} .. {x1})</text>"#,
        left + w / 2.0,
        top + h + 16.0
    );
}
