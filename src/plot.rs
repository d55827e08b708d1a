//! The plotting kit every picture is drawn with: one drawing into an SVG and a PNG
//! (written whole, then renamed), the bundled font, colour ramps and line colours,
//! titled panels with readable ticks, framed legends. It knows nothing of what is
//! plotted.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

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

pub const CURVE_COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

/// The legend every picture draws: a framed, mostly opaque box at `position` with
/// labels of `size` points.
pub fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    size: u32,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", size))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .draw()
        .map_err(plot_err)
}

pub fn plot_err<E: std::error::Error>(e: E) -> Error {
    Error::Plot(e.to_string())
}

/// Something drawn the same into an SVG and a PNG.
pub trait Picture {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Draws `pic` into DIR/NAME.svg and DIR/NAME.png, each written whole and renamed into
/// place, so a reader never sees half a picture.
pub fn write_picture(dir: &Path, name: &str, pic: &impl Picture) -> Result<()> {
    let (w, h) = pic.size();
    let svg = dir.join(format!("{name}.svg"));
    let png = dir.join(format!("{name}.png"));
    let tmp_svg = dir.join(format!("{name}.tmp.svg"));
    let tmp_png = dir.join(format!("{name}.tmp.png"));
    register_font();
    let drawn = (|| {
        {
            let root = SVGBackend::new(&tmp_svg, (w, h)).into_drawing_area();
            pic.draw(&root)?;
            root.present().map_err(plot_err)?;
        }
        let root = BitMapBackend::new(&tmp_png, (w, h)).into_drawing_area();
        pic.draw(&root)?;
        root.present().map_err(plot_err)
    })();
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&tmp_svg);
        let _ = std::fs::remove_file(&tmp_png);
        return Err(e);
    }
    for (tmp, path) in [(&tmp_svg, &svg), (&tmp_png, &png)] {
        std::fs::rename(tmp, path).map_err(crate::files::io_error(path))?;
    }
    Ok(())
}

/// DejaVu Sans, bundled: text in PNGs is drawn with it, and both backends lay text out
/// with its metrics (the SVG names the family and lets the viewer render it).
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSans.ttf"),
        );
    });
}

/// Three distinct line colours for panels of a family's own pictures.
pub const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// A tick label with enough decimals that ticks `span` apart read differently.
pub fn tick(v: f64, span: f64) -> String {
    let decimals = (2.0 - span.abs().max(1e-12).log10().floor()).clamp(0.0, 12.0) as usize;
    format!("{v:.decimals$}")
}

/// One panel: a titled chart over x × y with labelled axes, its y ticks showing enough
/// decimals for the range.
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
    let span = y.end - y.start;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 14))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .y_label_formatter(&|v| tick(*v, span))
        .label_style(("sans-serif", 11))
        .axis_desc_style(("sans-serif", 12))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(plot_err)?;
    Ok(chart)
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
