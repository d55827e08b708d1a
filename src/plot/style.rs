//! The kit's sizes, greys and dashes, in layout units (1/150 inch).

use plotters::prelude::*;

/// Text sizes in layout units (1/150 inch: 15 units is 7.2 points at a picture's own
/// width, print-ready).
pub const TITLE: u32 = 18;
pub const LABEL: u32 = 16;
pub const TICK: u32 = 15;
pub const LEGEND: u32 = 15;
/// The most ticks a panel's axes carry.
pub const X_TICKS: usize = 7;
pub const Y_TICKS: usize = 6;
/// The light grid behind the data.
pub const GRID: RGBColor = RGBColor(232, 232, 232);
/// Dashes: drawn length and gap, the same in the plot and in its legend.
pub const DASH: (u32, u32) = (8, 5);
/// Grey for secondary text.
pub const MUTED: RGBColor = RGBColor(90, 90, 90);

/// The bundled sans-serif at `size` units.
pub fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().into()
}
