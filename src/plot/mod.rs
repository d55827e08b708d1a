//! The plotting kit every picture is drawn with: the text sizes, one tick format per
//! axis (`ticks`), colour ramps with their colour bars, line colours and styles,
//! titled panels, legends beside the data, subscripts; and one drawing written as SVG,
//! PNG and PDF (`output`). It knows nothing of what is plotted.

mod output;
mod style;
mod ticks;

pub use output::{
    plot_err, register_font, write_picture, Figure, Format, Picture, DPI_RANGE, UNITS_PER_INCH,
    WIDTH_RANGE,
};
pub use style::*;
pub use ticks::{superscript, Ticks};

use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The viridis-like ramp from dark blue (t = 0, low) to yellow (t = 1).
pub fn ramp(t: f64) -> RGBColor {
    let stops = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * (stops.len() - 1) as f64;
    let i = (t.floor() as usize).min(stops.len() - 2);
    let f = t - i as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    let (a, b) = (stops[i], stops[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Line colours, distinct in print and for the common colour blindnesses' worst
/// pairs kept apart (blue, orange, green first).
pub const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// A chart over the coordinates `x` and `y` become.
pub type Chart<'a, DB, X, Y> = ChartContext<
    'a,
    DB,
    Cartesian2d<
        <X as plotters::coord::ranged1d::AsRangedCoord>::CoordDescType,
        <Y as plotters::coord::ranged1d::AsRangedCoord>::CoordDescType,
    >,
>;

/// A titled chart over `x` × `y` (any coordinates plotters has) in `area`, with room
/// for the kit's tick labels and axis names.
pub fn chart<'a, DB, X, Y>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: X,
    y: Y,
) -> Result<Chart<'a, DB, X, Y>>
where
    DB: DrawingBackend + 'a,
    X: plotters::coord::ranged1d::AsRangedCoord,
    Y: plotters::coord::ranged1d::AsRangedCoord,
{
    ChartBuilder::on(area)
        .caption(title, font(TITLE))
        .margin(10)
        .x_label_area_size(LABEL + TICK + 22)
        .y_label_area_size(LABEL + 5 * TICK)
        .build_cartesian_2d(x, y)
        .map_err(plot_err)
}

/// Which grid lines a chart draws behind its data.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    Both,
    /// Only the horizontal ones (categories along x).
    Horizontal,
    None,
}

/// One axis as the kit draws it: its name, how many ticks to ask for, and their labels.
pub type Axis<'f> = (&'f str, usize, &'f dyn Fn(&f64) -> String);

/// Draws a chart's axes the kit's way: named, ticked and labelled as given, with a
/// light grid at the ticks.
pub fn axes<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    (x_desc, nx, xfmt): Axis,
    (y_desc, ny, yfmt): Axis,
    lines: Lines,
) -> Result<()>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(nx)
        .y_labels(ny)
        .x_label_formatter(xfmt)
        .y_label_formatter(yfmt)
        .label_style(font(TICK))
        .axis_desc_style(font(LABEL))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID);
    match lines {
        Lines::Both => {}
        Lines::Horizontal => {
            mesh.disable_x_mesh();
        }
        Lines::None => {
            mesh.disable_mesh();
        }
    }
    mesh.draw().map_err(plot_err)
}

/// The label of a categorical axis at `v`: the name at a whole-number position, none
/// between.
pub fn category(v: f64, names: &[&str]) -> String {
    let i = v.round();
    if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
        names[i as usize].to_string()
    } else {
        String::new()
    }
}

/// One panel: a titled chart over x × y with named axes in the kit's tick formats
/// (whole-number axes of few values, epochs, ticked at whole numbers only).
pub fn panel<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    (x_desc, y_desc): (&str, &str),
) -> Result<
    ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
> {
    let span = x.end - x.start;
    let nx = if x.start.fract() == 0.0 && x.end.fract() == 0.0 && span < X_TICKS as f64 {
        span as usize + 1
    } else {
        X_TICKS
    };
    let xt = Ticks::linear(x.start, x.end, nx);
    let yt = Ticks::linear(y.start, y.end, Y_TICKS);
    let mut c = chart(area, title, x, y)?;
    axes(
        &mut c,
        (x_desc, nx, &|v| xt.label(*v)),
        (y_desc, Y_TICKS, &|v| yt.label(*v)),
        Lines::Both,
    )?;
    Ok(c)
}

/// The finite values' range with 6 % padding (a small span around a constant).
pub fn data_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
        let c = if lo.is_finite() { lo } else { 0.0 };
        return (c - 1e-3, c + 1e-3);
    }
    let pad = 0.06 * (hi - lo);
    (lo - pad, hi + pad)
}

/// `θ_0` as `θ₀` and `w_stim` as `wₛₜᵢₘ`: an underscore followed by a run of letters
/// and digits that Unicode all has as subscripts becomes that subscript; any other run
/// is left as written.
pub fn sub(s: &str) -> String {
    const FROM: &str = "0123456789aehijklmnoprstuvx";
    const TO: &str = "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ";
    let lower = |c: char| {
        FROM.chars()
            .position(|f| f == c)
            .and_then(|i| TO.chars().nth(i))
    };
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        let mut run = String::new();
        while let Some(&n) = chars.peek() {
            if !n.is_alphanumeric() {
                break;
            }
            run.push(n);
            chars.next();
        }
        match run.chars().map(lower).collect::<Option<String>>() {
            Some(low) if !run.is_empty() => out.push_str(&low),
            _ => {
                out.push('_');
                out.push_str(&run);
            }
        }
    }
    out
}

/// How a legend entry shows its series: as the plot draws it.
#[derive(Clone, Copy, Debug)]
pub enum Mark {
    Line(RGBColor),
    Dashed(RGBColor),
    /// A line over its shaded spread.
    Band(RGBColor),
    Dot(RGBColor),
}

/// One legend entry.
#[derive(Clone, Debug)]
pub struct Entry {
    pub label: String,
    pub mark: Mark,
}

impl Entry {
    pub fn new(label: impl Into<String>, mark: Mark) -> Entry {
        Entry {
            label: label.into(),
            mark,
        }
    }
}

/// A dashed line through `points` in the kit's dashes.
pub fn dashed<I>(points: I, style: ShapeStyle) -> DashedLineSeries<I::IntoIter, u32>
where
    I: IntoIterator<Item = (f64, f64)>,
    I::IntoIter: Clone,
{
    DashedLineSeries::new(points, DASH.0, DASH.1, style)
}

/// Draws `entries` in a strip along the bottom of `area`, off the data, in as many
/// columns as fit, each with the mark its series is drawn with; returns the area
/// above the strip for the plot. No entries, no strip.
pub fn legend_below<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
) -> Result<DrawingArea<DB, Shift>> {
    if entries.is_empty() {
        return Ok(area.clone());
    }
    let (w, h) = area.dim_in_pixel();
    let style = font(LEGEND);
    const SAMPLE: u32 = 30;
    let widest = entries
        .iter()
        .map(|e| {
            area.estimate_text_size(&e.label, &style)
                .map_or(100, |s| s.0)
        })
        .max()
        .unwrap_or(100)
        + SAMPLE
        + 26;
    let cols = ((w.saturating_sub(20)) / widest).clamp(1, entries.len() as u32);
    let rows = (entries.len() as u32).div_ceil(cols);
    let row_h = LEGEND + 9;
    let strip = rows * row_h + 10;
    let (plot, legend) = area.split_vertically(h.saturating_sub(strip));
    let col_w = (w.saturating_sub(20) / cols).max(widest.min(w));
    for (k, e) in entries.iter().enumerate() {
        let (r, c) = (k as u32 / cols, k as u32 % cols);
        let x = 16 + (c * col_w) as i32;
        let y = 6 + (r * row_h) as i32 + row_h as i32 / 2;
        let seg = vec![(x, y), (x + SAMPLE as i32, y)];
        match e.mark {
            Mark::Line(col) => legend.draw(&PathElement::new(seg, col.stroke_width(2))),
            Mark::Dashed(col) => (0..)
                .map(|k| x + k * (DASH.0 + DASH.1) as i32)
                .take_while(|&a| a < x + SAMPLE as i32)
                .try_for_each(|a| {
                    let b = (a + DASH.0 as i32).min(x + SAMPLE as i32);
                    legend.draw(&PathElement::new(vec![(a, y), (b, y)], col.stroke_width(2)))
                }),
            Mark::Band(col) => legend
                .draw(&Rectangle::new(
                    [(x, y - 6), (x + SAMPLE as i32, y + 6)],
                    col.mix(0.18).filled(),
                ))
                .and_then(|_| legend.draw(&PathElement::new(seg, col.stroke_width(2)))),
            Mark::Dot(col) => {
                legend.draw(&Circle::new((x + SAMPLE as i32 / 2, y), 4, col.filled()))
            }
        }
        .map_err(plot_err)?;
        legend
            .draw(&Text::new(
                e.label.clone(),
                (x + SAMPLE as i32 + 8, y - LEGEND as i32 / 2 - 1),
                style.clone(),
            ))
            .map_err(plot_err)?;
    }
    Ok(plot)
}

/// A vertical colour bar filling `area`: `colour(t)` for t in 0..1 mapped to `lo..hi`
/// (log10 values when `log`), ticked with the kit's formats and titled `label`.
pub fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (lo, hi): (f64, f64),
    log: bool,
    label: &str,
    colour: impl Fn(f64) -> RGBColor,
) -> Result<()> {
    let hi = if hi > lo { hi } else { lo + 1e-3 };
    let ticks = if log {
        Ticks::log(10f64.powf(lo), 10f64.powf(hi), Y_TICKS)
    } else {
        Ticks::linear(lo, hi, Y_TICKS)
    };
    let mut chart = ChartBuilder::on(area)
        .margin(4)
        .y_label_area_size(0)
        .right_y_label_area_size(LABEL + 5 * TICK)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(plot_err)?
        .set_secondary_coord(0.0..1.0, lo..hi);
    let steps = 64;
    chart
        .draw_series((0..steps).map(|k| {
            let a = lo + (hi - lo) * k as f64 / steps as f64;
            let b = lo + (hi - lo) * (k + 1) as f64 / steps as f64;
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                colour(k as f64 / (steps - 1) as f64).filled(),
            )
        }))
        .map_err(plot_err)?;
    // On a log bar the ticks are the decades inside it (and its ends when it spans
    // less than one).
    let decades: Vec<f64> = if log && ticks == Ticks::Decades {
        (lo.ceil() as i64..=hi.floor() as i64)
            .map(|e| e as f64)
            .collect()
    } else {
        vec![]
    };
    let fmt = |v: &f64| {
        if log {
            let x = 10f64.powf(*v);
            if ticks == Ticks::Decades {
                if decades.iter().any(|d| (d - v).abs() < 1e-9) {
                    ticks.label(10f64.powf(v.round()))
                } else {
                    String::new()
                }
            } else {
                ticks.label(x)
            }
        } else {
            ticks.label(*v)
        }
    };
    let mut axes = chart.configure_secondary_axes();
    axes.y_desc(label)
        .label_style(font(TICK))
        .axis_desc_style(font(LABEL))
        .x_labels(0)
        .y_label_formatter(&fmt);
    if decades.is_empty() {
        axes.y_labels(Y_TICKS).draw().map_err(plot_err)?;
    } else {
        // Enough labels that every decade is among plotters' key points.
        axes.y_labels(((hi - lo) * 10.0).ceil() as usize + 2)
            .draw()
            .map_err(plot_err)?;
    }
    Ok(())
}

/// Rows and columns for `n` panels, at most `most` columns: one row when they fit,
/// else the column count that leaves the fewest empty slots (the most columns among
/// equals), so that a grid has no holes where it can have none.
pub fn grid(n: usize, most: usize) -> (usize, usize) {
    let n = n.max(1);
    if n <= most {
        return (1, n);
    }
    let cols = (2..=most)
        .rev()
        .min_by_key(|&c| n.div_ceil(c) * c - n)
        .unwrap_or(1);
    (n.div_ceil(cols), cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscripts_where_unicode_has_them() {
        assert_eq!(sub("θ_0"), "θ₀");
        assert_eq!(sub("Δw_stim"), "Δwₛₜᵢₘ");
        assert_eq!(sub("a_B"), "a_B");
        assert_eq!(grid(4, 3), (2, 2));
        assert_eq!(grid(6, 4), (2, 3));
        assert_eq!(grid(3, 4), (1, 3));
    }
}
