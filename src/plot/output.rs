//! Pictures to files. Every picture is drawn once, as SVG; the PNG is that SVG
//! rasterised at the asked DPI and the PDF that SVG as vector graphics, so the three
//! formats show the same thing. Sizes are physical: a picture is laid out in units of
//! 1/150 inch, at which its text is 7 to 9 points; a width asked for scales the whole
//! picture (text included) to that many inches.

use super::style::{font, LEGEND, MUTED};
use crate::error::{Error, Result};
use crate::files::write_atomic;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub fn plot_err<E: std::error::Error>(e: E) -> Error {
    Error::Plot(e.to_string())
}

/// Something drawn the same into an SVG and a PNG.
pub trait Picture {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// DejaVu Sans, bundled: text in PNGs is drawn with it, and both backends lay text out
/// with its metrics (the SVG names the family and lets the viewer render it).
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../../assets/DejaVuSans.ttf"),
        );
    });
}

/// Layout units per inch: a picture 1,050 units wide is 7 inches (a journal's full
/// width), and text of 15 units is 7.2 points.
pub const UNITS_PER_INCH: f64 = 150.0;

/// A file format a picture is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Svg,
    Png,
    Pdf,
}

impl Format {
    pub const ALL: [(&'static str, Format); 3] = [
        ("svg", Format::Svg),
        ("png", Format::Png),
        ("pdf", Format::Pdf),
    ];

    pub fn ext(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Png => "png",
            Format::Pdf => "pdf",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.iter().find(|(n, _)| *n == s).map(|&(_, f)| f)
    }
}

/// How pictures are written: which formats, how wide, at what resolution.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Figure {
    pub formats: Vec<Format>,
    /// Inches; `None` keeps each picture's own width.
    pub width: Option<f64>,
    /// The PNG's pixels per inch.
    pub dpi: u32,
    /// A line every picture carries at its foot, saying what part of a run it shows
    /// ("shard 2/4: learners 100–199 of 400").
    #[serde(skip)]
    pub stamp: Option<String>,
}

impl Default for Figure {
    fn default() -> Self {
        Figure {
            formats: vec![Format::Svg, Format::Png],
            width: None,
            dpi: 300,
            stamp: None,
        }
    }
}

/// The widths and resolutions a figure may have: a stamp to a poster.
pub const WIDTH_RANGE: (f64, f64) = (2.0, 40.0);
pub const DPI_RANGE: (u32, u32) = (50, 1200);

impl Figure {
    /// A figure with these settings, each checked (`key` names the setting in errors).
    pub fn new(formats: &[String], width: Option<f64>, dpi: u32, key: &str) -> Result<Figure> {
        let mut out = Vec::new();
        for f in formats {
            let fmt = Format::parse(f).ok_or_else(|| {
                Error::invalid(
                    format!("{key}format"),
                    format!("unknown format \"{f}\": choose from svg, png, pdf"),
                )
            })?;
            if out.contains(&fmt) {
                return Err(Error::invalid(
                    format!("{key}format"),
                    format!("\"{f}\" is named twice"),
                ));
            }
            out.push(fmt);
        }
        if out.is_empty() {
            return Err(Error::invalid(
                format!("{key}format"),
                "name at least one of svg, png, pdf",
            ));
        }
        if let Some(w) = width {
            if !(WIDTH_RANGE.0..=WIDTH_RANGE.1).contains(&w) {
                return Err(Error::invalid(
                    format!("{key}width"),
                    format!("{w} inches is outside {}..{}", WIDTH_RANGE.0, WIDTH_RANGE.1),
                ));
            }
        }
        if !(DPI_RANGE.0..=DPI_RANGE.1).contains(&dpi) {
            return Err(Error::invalid(
                format!("{key}dpi"),
                format!("{dpi} is outside {}..{}", DPI_RANGE.0, DPI_RANGE.1),
            ));
        }
        Ok(Figure {
            formats: out,
            width,
            dpi,
            stamp: None,
        })
    }

    /// The printed width in inches of a picture `units` wide: the width asked, else
    /// its own.
    pub fn inches(&self, units: u32) -> f64 {
        self.width.unwrap_or(units as f64 / UNITS_PER_INCH)
    }
}

/// The fonts the rasteriser and the PDF writer know: the bundled DejaVu Sans, which is
/// also every generic family, so a picture looks the same on every machine.
fn fonts() -> Arc<resvg::usvg::fontdb::Database> {
    static DB: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(include_bytes!("../../assets/DejaVuSans.ttf").to_vec());
        for set in [
            resvg::usvg::fontdb::Database::set_sans_serif_family,
            resvg::usvg::fontdb::Database::set_serif_family,
            resvg::usvg::fontdb::Database::set_monospace_family,
        ] {
            set(&mut db, "DejaVu Sans");
        }
        Arc::new(db)
    })
    .clone()
}

/// Draws `pic` into DIR/NAME.{svg,png,pdf} as `fig` asks, each file written whole and
/// renamed into place, so a reader never sees half a picture. Returns the files.
pub fn write_picture(
    dir: &Path,
    name: &str,
    pic: &impl Picture,
    fig: &Figure,
) -> Result<Vec<PathBuf>> {
    let (w, mut h) = pic.size();
    let foot = LEGEND + 12;
    if fig.stamp.is_some() {
        h += foot;
    }
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        match &fig.stamp {
            None => pic.draw(&root)?,
            Some(stamp) => {
                let (body, strip) = root.split_vertically(h - foot);
                pic.draw(&body)?;
                strip.fill(&WHITE).map_err(plot_err)?;
                strip
                    .draw(&Text::new(
                        stamp.clone(),
                        (10, 4),
                        font(LEGEND).color(&MUTED),
                    ))
                    .map_err(plot_err)?;
            }
        }
        root.present().map_err(plot_err)?;
    }
    let opt = resvg::usvg::Options {
        fontdb: fonts(),
        font_family: "DejaVu Sans".into(),
        ..Default::default()
    };
    let tree = resvg::usvg::Tree::from_str(&svg, &opt).map_err(plot_err)?;
    // Layout units per printed inch.
    let per_inch = w as f64 / fig.inches(w);
    let mut written = Vec::new();
    for &format in &fig.formats {
        let path = dir.join(format!("{name}.{}", format.ext()));
        let bytes = match format {
            Format::Svg => physical_svg(&svg, w, h, per_inch).into_bytes(),
            Format::Png => {
                let s = (fig.dpi as f64 / per_inch) as f32;
                let (pw, ph) = ((w as f32 * s).round(), (h as f32 * s).round());
                let mut pixmap = resvg::tiny_skia::Pixmap::new(pw as u32, ph as u32)
                    .ok_or_else(|| Error::Plot(format!("{pw}x{ph} pixels is no picture")))?;
                pixmap.fill(resvg::tiny_skia::Color::WHITE);
                resvg::render(
                    &tree,
                    resvg::tiny_skia::Transform::from_scale(s, s),
                    &mut pixmap.as_mut(),
                );
                let mut png = pixmap.encode_png().map_err(plot_err)?;
                set_png_dpi(&mut png, fig.dpi);
                png
            }
            Format::Pdf => svg2pdf::to_pdf(
                &tree,
                svg2pdf::ConversionOptions::default(),
                svg2pdf::PageOptions {
                    dpi: per_inch as f32,
                },
            )
            .map_err(|e| Error::Plot(e.to_string()))?,
        };
        write_atomic(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// The SVG with its width and height in inches (the view box keeps the layout units),
/// so that it imports into a layout program at its size.
fn physical_svg(svg: &str, w: u32, h: u32, per_inch: f64) -> String {
    let inches = |u: u32| format!("{:.3}in", u as f64 / per_inch);
    svg.replacen(
        &format!("width=\"{w}\" height=\"{h}\""),
        &format!("width=\"{}\" height=\"{}\"", inches(w), inches(h)),
        1,
    )
}

/// Records the resolution in the PNG (a pHYs chunk after IHDR), so that a layout
/// program places it at its physical size.
fn set_png_dpi(png: &mut Vec<u8>, dpi: u32) {
    let per_metre = (dpi as f64 / 0.0254).round() as u32;
    let mut data = Vec::with_capacity(9);
    data.extend_from_slice(&per_metre.to_be_bytes());
    data.extend_from_slice(&per_metre.to_be_bytes());
    data.push(1);
    let mut chunk = Vec::with_capacity(21);
    chunk.extend_from_slice(&9u32.to_be_bytes());
    chunk.extend_from_slice(b"pHYs");
    chunk.extend_from_slice(&data);
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    // The signature (8 bytes) and IHDR (4 + 4 + 13 + 4 bytes) come first.
    let at = 8 + 25;
    png.splice(at..at, chunk);
}

/// The CRC-32 PNG chunks carry (ISO 3309), bit by bit: nine bytes a picture.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_a_known_chunk() {
        // IEND's CRC, as every PNG ends.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }
}
