//! Tick labels: one format per axis, chosen from the axis's range and tick spacing, so
//! that labels read alike ("0.5, 1, 1.5" is "0.5, 1.0, 1.5"), whole numbers print as
//! integers, zero is never "-0", and log axes are labelled at their decades (10⁻³).

/// How one axis writes its tick labels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ticks {
    /// Fixed point with this many decimals.
    Fixed(usize),
    /// m×10ᵉ with this many decimals in the mantissa.
    Scientific(usize),
    /// Only decades are labelled (10ᵏ); the minor ticks between stay unlabelled.
    Decades,
}

/// Unicode superscripts for an exponent: "-3" is "⁻³".
pub fn superscript(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '-' => '⁻',
            '+' => '⁺',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            '9' => '⁹',
            c => c,
        })
        .collect()
}

/// The spacing of the ticks plotters draws on a linear axis over `lo..hi` asked for
/// at most `n` labels: read from its own key points, so that the format fits the
/// ticks actually drawn.
pub fn step(lo: f64, hi: f64, n: usize) -> f64 {
    use plotters::coord::ranged1d::Ranged;
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater)
        || !lo.is_finite()
        || !hi.is_finite()
    {
        return 1.0;
    }
    let kp = plotters::coord::types::RangedCoordf64::from(lo..hi).key_points(n);
    kp.windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min)
        .min((hi - lo).abs())
}

impl Ticks {
    /// The format for a linear axis over `lo..hi` with at most `n` ticks.
    pub fn linear(lo: f64, hi: f64, n: usize) -> Ticks {
        let step = step(lo, hi, n);
        let big = lo.abs().max(hi.abs());
        let digits = |x: f64| x.log10().floor() as i64;
        if big >= 1e5 || (big > 0.0 && big < 1e-3) {
            Ticks::Scientific((digits(big) - digits(step * 1.000001)).clamp(0, 6) as usize)
        } else {
            Ticks::Fixed((-digits(step * 1.000001)).clamp(0, 12) as usize)
        }
    }

    /// The format for a log axis over `lo..hi` (both > 0): decades when it spans one,
    /// else the linear format of its range.
    pub fn log(lo: f64, hi: f64, n: usize) -> Ticks {
        if lo > 0.0 && hi / lo >= 10.0 {
            Ticks::Decades
        } else {
            Ticks::linear(lo, hi, n)
        }
    }

    /// One format for a list of values labelled one by one (a heat map's cells): whole
    /// numbers as integers, values spanning three decades or more (or tiny or huge) in
    /// scientific form, else fixed point; in each case with the fewest digits that keep
    /// every value's label distinct.
    pub fn values(vals: &[f64]) -> Ticks {
        let vals: Vec<f64> = vals.iter().copied().filter(|v| v.is_finite()).collect();
        let big = vals.iter().fold(0f64, |a, v| a.max(v.abs()));
        let small = vals
            .iter()
            .filter(|v| **v != 0.0)
            .fold(f64::INFINITY, |a, v| a.min(v.abs()));
        let distinct = |t: Ticks| {
            let mut l: Vec<String> = vals.iter().map(|&v| t.label(v)).collect();
            l.sort();
            l.dedup();
            let mut v = vals.clone();
            v.sort_by(f64::total_cmp);
            v.dedup();
            // Distinct, and each within 1 % of its value (0.99 is not "1.0").
            l.len() == v.len()
                && vals
                    .iter()
                    .all(|&x| (t.rounded(x) - x).abs() <= 0.01 * x.abs())
        };
        let scientific = big >= 1e5 || (big > 0.0 && big < 1e-2) || big / small >= 100.0;
        let (make, most): (fn(usize) -> Ticks, usize) = if scientific {
            (Ticks::Scientific, 4)
        } else {
            (Ticks::Fixed, 6)
        };
        (0..=most)
            .map(make)
            .find(|&t| distinct(t))
            .unwrap_or(make(most))
    }

    /// How many labels to ask plotters for on an axis over `lo..hi` with this format:
    /// `n`, or for decades few enough that plotters puts its key points on decades only
    /// (it adds the 2..9 multiples once asked for ten points a decade).
    pub fn count(&self, lo: f64, hi: f64, n: usize) -> usize {
        match self {
            Ticks::Decades => 2 * ((hi / lo).log10().floor().max(1.0) as usize),
            _ => n,
        }
    }

    /// The value a label shows.
    fn rounded(&self, v: f64) -> f64 {
        let s = match *self {
            Ticks::Fixed(d) => format!("{v:.d$}"),
            Ticks::Scientific(d) => format!("{v:.d$e}"),
            Ticks::Decades => return v,
        };
        s.parse().unwrap_or(f64::NAN)
    }

    /// The label of tick `v`.
    pub fn label(&self, v: f64) -> String {
        if !v.is_finite() {
            return String::new();
        }
        match *self {
            Ticks::Fixed(d) => {
                let s = format!("{v:.d$}");
                if s.trim_start_matches('-')
                    .chars()
                    .all(|c| c == '0' || c == '.')
                {
                    format!("{:.d$}", 0.0)
                } else {
                    s.replace('-', "−")
                }
            }
            Ticks::Scientific(d) => {
                if v == 0.0 {
                    return "0".into();
                }
                let s = format!("{v:.d$e}");
                let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                format!("{}×10{}", m.replace('-', "−"), superscript(e))
            }
            Ticks::Decades => {
                let e = v.log10();
                if v > 0.0 && (e - e.round()).abs() < 1e-6 {
                    let e = e.round() as i64;
                    match e {
                        0 => "1".into(),
                        1 => "10".into(),
                        _ => format!("10{}", superscript(&e.to_string())),
                    }
                } else {
                    String::new()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_format_per_axis() {
        let t = Ticks::linear(0.0, 1.5, 6);
        assert_eq!(t, Ticks::Fixed(1));
        assert_eq!(
            [0.0, 0.5, 1.0, 1.5].map(|v| t.label(v)),
            ["0.0", "0.5", "1.0", "1.5"]
        );
        assert_eq!(Ticks::linear(2.0, 20.0, 10).label(4.0), "4");
        assert_eq!(Ticks::linear(-1.0, 1.0, 5).label(-0.0), "0.0");
        assert_eq!(Ticks::linear(-10.0, 10.0, 5).label(-0.0), "0");
        assert_eq!(Ticks::linear(-1.0, 1.0, 5).label(-0.5), "−0.5");
        assert_eq!(Ticks::linear(0.0, 0.005, 6).label(0.002), "0.002");
        assert_eq!(Ticks::linear(0.0, 5e-4, 6).label(2e-4), "2×10⁻⁴");
        assert_eq!(Ticks::linear(0.0, 4e5, 5).label(2e5), "2×10⁵");
        assert_eq!(Ticks::log(1e-4, 1e-1, 8).label(1e-3), "10⁻³");
        assert_eq!(Ticks::log(1e-4, 1e-1, 8).label(2e-3), "");
        assert_eq!(Ticks::log(0.4, 0.42, 5), Ticks::linear(0.4, 0.42, 5));
    }

    #[test]
    fn values_read_alike_and_apart() {
        let t = Ticks::values(&[1e-4, 1e-3, 1e-2, 1e-1]);
        assert_eq!(t, Ticks::Scientific(0));
        assert_eq!(t.label(1e-2), "1×10⁻²");
        let t = Ticks::values(&[0.5, 0.9, 0.99]);
        assert_eq!(t, Ticks::Fixed(2));
        assert_eq!(t.label(0.5), "0.50");
        assert_eq!(Ticks::values(&[64.0, 128.0, 256.0]), Ticks::Fixed(0));
        let lr: Vec<f64> = (0..16).map(|k| 1e-4 * 10f64.powf(k as f64 / 5.0)).collect();
        assert_eq!(Ticks::values(&lr), Ticks::Scientific(1));
    }

    #[test]
    fn labels_of_plotters_own_ticks_differ() {
        use plotters::coord::ranged1d::Ranged;
        for (lo, hi) in [
            (-0.002, 0.037),
            (0.0, 1.0),
            (2.0, 20.0),
            (-0.46, -0.438),
            (1e3, 7e5),
        ] {
            let t = Ticks::linear(lo, hi, 6);
            let kp = plotters::coord::types::RangedCoordf64::from(lo..hi).key_points(6);
            let mut l: Vec<String> = kp.iter().map(|&v| t.label(v)).collect();
            l.dedup();
            assert_eq!(l.len(), kp.len(), "{lo}..{hi}: {l:?}");
        }
    }
}
