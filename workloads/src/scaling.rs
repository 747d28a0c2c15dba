//! Speed-up figures and Amdahl's law.
//!
//! With T(p) the wall time on p workers: speed-up S(p) = T(1) / T(p),
//! efficiency E(p) = S(p) / p, and the Karp-Flatt metric, the experimentally
//! determined serial fraction, e(p) = (1/S - 1/p) / (1 - 1/p). Amdahl's law
//! with parallel fraction F says T(p) = T1 * ((1 - F) + F / p), so
//! S(p) = 1 / ((1 - F) + F / p) and S(inf) = 1 / (1 - F); [`fit_amdahl`]
//! finds T1 and F from measured times by least squares.

use std::path::Path;

use crate::Error;

/// One measurement: the median wall time on `threads` workers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// Worker count p.
    pub threads: usize,
    /// Wall time T(p) in seconds.
    pub seconds: f64,
}

/// The derived figures of one measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScaleRow {
    /// Worker count p.
    pub threads: usize,
    /// Wall time T(p) in seconds.
    pub seconds: f64,
    /// S(p) = T(1) / T(p).
    pub speedup: f64,
    /// E(p) = S(p) / p.
    pub efficiency: f64,
    /// Karp-Flatt serial fraction; `None` for p = 1.
    pub karp_flatt: Option<f64>,
}

/// The median of `values` (the mean of the middle two for an even count);
/// NaN for none.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// The Karp-Flatt metric e = (1/S - 1/p) / (1 - 1/p); `None` for p <= 1.
pub fn karp_flatt(speedup: f64, threads: usize) -> Option<f64> {
    if threads <= 1 {
        return None;
    }
    let p = threads as f64;
    Some((1.0 / speedup - 1.0 / p) / (1.0 - 1.0 / p))
}

/// Speed-up, efficiency and Karp-Flatt figures of each measurement, relative
/// to the one with one worker (or, without it, to the fewest workers scaled
/// as if they had been perfectly parallel: T(1) = p_min * T(p_min)).
pub fn figures(measurements: &[Measurement]) -> Vec<ScaleRow> {
    let Some(base) = measurements.iter().min_by_key(|m| m.threads) else {
        return Vec::new();
    };
    let t1 = base.seconds * base.threads as f64;
    measurements
        .iter()
        .map(|m| {
            let speedup = t1 / m.seconds;
            ScaleRow {
                threads: m.threads,
                seconds: m.seconds,
                speedup,
                efficiency: speedup / m.threads as f64,
                karp_flatt: karp_flatt(speedup, m.threads),
            }
        })
        .collect()
}

/// Amdahl's law fitted to measurements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AmdahlFit {
    /// Fitted one-worker time T1, in seconds.
    pub t1: f64,
    /// Fitted parallel fraction F, in [0, 1].
    pub parallel_fraction: f64,
    /// Root-mean-square relative error of the fitted times.
    pub rms_relative_error: f64,
}

impl AmdahlFit {
    /// The serial fraction 1 - F.
    pub fn serial_fraction(&self) -> f64 {
        1.0 - self.parallel_fraction
    }

    /// Predicted time on `p` workers: T1 * ((1 - F) + F / p).
    pub fn time(&self, p: f64) -> f64 {
        self.t1 * (self.serial_fraction() + self.parallel_fraction / p)
    }

    /// Predicted speed-up on `p` workers: 1 / ((1 - F) + F / p).
    pub fn speedup(&self, p: f64) -> f64 {
        1.0 / (self.serial_fraction() + self.parallel_fraction / p)
    }

    /// The speed-up limit 1 / (1 - F) (infinite when F = 1).
    pub fn max_speedup(&self) -> f64 {
        1.0 / self.serial_fraction()
    }
}

/// Fits T(p) = a + b / p (a = T1 (1 - F), b = T1 F) by least squares on the
/// times, with F kept in [0, 1]. Needs at least two distinct worker counts
/// and positive times; `None` otherwise.
pub fn fit_amdahl(measurements: &[Measurement]) -> Option<AmdahlFit> {
    let pts: Vec<(f64, f64)> = measurements
        .iter()
        .filter(|m| m.threads > 0 && m.seconds.is_finite() && m.seconds > 0.0)
        .map(|m| (1.0 / m.threads as f64, m.seconds))
        .collect();
    let mut distinct: Vec<usize> = measurements.iter().map(|m| m.threads).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if pts.len() < 2 || distinct.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let mut b = sxy / sxx;
    let mut a = my - b * mx;
    if b < 0.0 {
        // Slower with more workers: no parallel part (F = 0), T = a.
        b = 0.0;
        a = my;
    } else if a < 0.0 {
        // Better than linear: all parallel (F = 1), T = b / p.
        a = 0.0;
        b = pts.iter().map(|p| p.0 * p.1).sum::<f64>() / pts.iter().map(|p| p.0 * p.0).sum::<f64>();
    }
    let t1 = a + b;
    let fit = AmdahlFit {
        t1,
        parallel_fraction: if t1 > 0.0 { b / t1 } else { 0.0 },
        rms_relative_error: 0.0,
    };
    let rms = (pts
        .iter()
        .map(|&(x, y)| {
            let r = (fit.time(1.0 / x) - y) / y;
            r * r
        })
        .sum::<f64>()
        / n)
        .sqrt();
    Some(AmdahlFit {
        rms_relative_error: rms,
        ..fit
    })
}

/// Draws the speed-up chart as an SVG file: measured points, the ideal
/// S(p) = p, and the fitted Amdahl curve when there is one.
pub fn write_speedup_svg(
    path: &Path,
    title: &str,
    rows: &[ScaleRow],
    fit: Option<&AmdahlFit>,
) -> Result<(), Error> {
    use plotters::prelude::*;

    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let plot_err = |e: &dyn std::fmt::Display| Error::Failed(format!("{}: {e}", path.display()));
    let max_p = rows.iter().map(|r| r.threads).max().unwrap_or(1).max(2) as f64;
    let max_s = rows
        .iter()
        .map(|r| r.speedup)
        .fold(max_p, f64::max)
        .max(1.0)
        * 1.1;
    {
        let root = SVGBackend::new(path, (800, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(52)
            .build_cartesian_2d(1.0..max_p, 0.0..max_s)
            .map_err(|e| plot_err(&e))?;
        chart
            .configure_mesh()
            .x_desc("threads p")
            .y_desc("speed-up S(p) = T(1) / T(p)")
            .draw()
            .map_err(|e| plot_err(&e))?;
        chart
            .draw_series(LineSeries::new(
                [(1.0, 1.0), (max_p, max_p)],
                BLACK.stroke_width(2),
            ))
            .map_err(|e| plot_err(&e))?
            .label("ideal S(p) = p")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
        if let Some(fit) = fit {
            let steps = 200;
            let curve = (0..=steps).map(|i| {
                let p = 1.0 + (max_p - 1.0) * i as f64 / steps as f64;
                (p, fit.speedup(p))
            });
            chart
                .draw_series(LineSeries::new(curve, BLUE.stroke_width(2)))
                .map_err(|e| plot_err(&e))?
                .label(format!(
                    "Amdahl fit: serial fraction {:.3}",
                    fit.serial_fraction()
                ))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE));
        }
        let measured: Vec<(f64, f64)> =
            rows.iter().map(|r| (r.threads as f64, r.speedup)).collect();
        chart
            .draw_series(LineSeries::new(measured.clone(), RED.stroke_width(2)))
            .map_err(|e| plot_err(&e))?
            .label("measured")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED));
        chart
            .draw_series(
                measured
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 4, RED.filled())),
            )
            .map_err(|e| plot_err(&e))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| plot_err(&e))?;
        root.present().map_err(|e| plot_err(&e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amdahl_times(t1: f64, serial: f64, ps: &[usize]) -> Vec<Measurement> {
        ps.iter()
            .map(|&p| Measurement {
                threads: p,
                seconds: t1 * (serial + (1.0 - serial) / p as f64),
            })
            .collect()
    }

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn fit_recovers_a_known_serial_fraction() {
        let m = amdahl_times(10.0, 0.2, &[1, 2, 4, 8, 16]);
        let fit = fit_amdahl(&m).unwrap();
        assert!((fit.serial_fraction() - 0.2).abs() < 1e-12, "{fit:?}");
        assert!((fit.t1 - 10.0).abs() < 1e-9);
        assert!(fit.rms_relative_error < 1e-12);
        assert!((fit.max_speedup() - 5.0).abs() < 1e-9);
        assert!((fit.speedup(4.0) - 1.0 / (0.2 + 0.8 / 4.0)).abs() < 1e-12);
    }

    #[test]
    fn karp_flatt_equals_the_serial_fraction_under_amdahl() {
        let m = amdahl_times(3.0, 0.15, &[1, 2, 3, 4, 8]);
        for r in figures(&m).iter().skip(1) {
            let e = r.karp_flatt.unwrap();
            assert!((e - 0.15).abs() < 1e-12, "p={} e={e}", r.threads);
            assert!((r.efficiency - r.speedup / r.threads as f64).abs() < 1e-15);
        }
        assert_eq!(karp_flatt(1.0, 1), None);
        assert_eq!(karp_flatt(2.0, 2), Some(0.0));
        assert_eq!(karp_flatt(1.0, 4), Some(1.0));
    }

    #[test]
    fn fit_with_noise_stays_close() {
        let mut m = amdahl_times(2.0, 0.3, &[1, 2, 3, 4, 6, 8]);
        for (i, x) in m.iter_mut().enumerate() {
            x.seconds *= if i % 2 == 0 { 1.01 } else { 0.99 };
        }
        let fit = fit_amdahl(&m).unwrap();
        assert!((fit.serial_fraction() - 0.3).abs() < 0.02, "{fit:?}");
    }

    #[test]
    fn fit_clamps_the_fraction() {
        // Slower with more threads: serial fraction 1.
        let m = [
            Measurement {
                threads: 1,
                seconds: 1.0,
            },
            Measurement {
                threads: 2,
                seconds: 1.2,
            },
        ];
        let fit = fit_amdahl(&m).unwrap();
        assert_eq!(fit.parallel_fraction, 0.0);
        // Super-linear: serial fraction 0.
        let m = [
            Measurement {
                threads: 1,
                seconds: 1.0,
            },
            Measurement {
                threads: 2,
                seconds: 0.4,
            },
        ];
        let fit = fit_amdahl(&m).unwrap();
        assert_eq!(fit.parallel_fraction, 1.0);
        // One point is not enough.
        assert!(fit_amdahl(&m[..1]).is_none());
    }
}
