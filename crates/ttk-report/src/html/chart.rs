//! Drawing charts with plotters into SVG text: the frame every chart shares and the lines on it.
//!
//! Charts hold no text from the run: series are told apart by color and named in HTML beside
//! the chart, where names are escaped with the rest of the page. (plotters' SVG backend escapes
//! the text it is given as well, but then nothing depends on that.) Text is written as SVG
//! `<text>`, laid out with plotters' font-free size estimate, so no font file is ever read.

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::axes::{LogMillis, Nines};
use super::format;

/// Grid lines at labeled ticks.
const GRID: RGBColor = RGBColor(0xdf, 0xe3, 0xe8);
/// Grid lines between labeled ticks.
const FAINT_GRID: RGBColor = RGBColor(0xf1, 0xf3, 0xf5);
/// Axis lines.
const AXIS: RGBColor = RGBColor(0x9a, 0xa3, 0xae);
/// Tick labels and axis descriptions.
const INK: RGBColor = RGBColor(0x4a, 0x55, 0x68);

/// A chart's size in SVG units; the page scales it to its column, text included.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    /// Width.
    width: u32,
    /// Height.
    height: u32,
    /// Room right of the plot, for the last x label (`p99.9999` is wide).
    right: u32,
}

impl Frame {
    /// The same frame with `right` units of room right of the plot.
    const fn with_right_margin(self, right: u32) -> Frame {
        Frame { right, ..self }
    }
}

/// A chart across the page.
pub(crate) const WIDE: Frame = Frame {
    width: 1000,
    height: 330,
    right: 24,
};

/// A supporting chart across the page, lower than [`WIDE`].
pub(crate) const BAND: Frame = Frame {
    width: 1000,
    height: 250,
    right: 24,
};

/// One of a grid of small charts, two across.
pub(crate) const SMALL: Frame = Frame {
    width: 540,
    height: 250,
    right: 24,
};

/// A drawn chart, or why it could not be drawn.
pub(crate) type Drawn = Result<String, DrawingAreaErrorKind<std::io::Error>>;

/// How a trace is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Look {
    /// A solid line.
    Line,
    /// A line over a lightly filled area down to the axis (one quantity alone on its chart).
    Area,
    /// A faint line over a faint area: a tail figure (p99) behind its line (p50).
    Tail,
}

/// One line of a chart: points in chart units, split into segments where there is no data, so
/// that a second without a success leaves a gap instead of a line drawn across it.
#[derive(Clone, Debug)]
pub(crate) struct Trace {
    /// Its color.
    pub(crate) color: RGBColor,
    /// How it is drawn.
    pub(crate) look: Look,
    /// Runs of consecutive points.
    pub(crate) segments: Vec<Vec<(f64, f64)>>,
}

/// A chart of quantities over the run's elapsed time, `0..=x_max` seconds, on a linear y axis
/// from zero.
pub(crate) fn over_time(frame: Frame, x_max: f64, y_desc: &str, traces: &[Trace]) -> Drawn {
    let y_top = highest(traces);
    // Headroom above the highest point, and a visible range even when every value is zero.
    let y_max = if y_top > 0.0 { y_top * 1.08 } else { 1.0 };
    let y_format = move |y: &f64| tick_label(*y, y_max);
    let time = TimeAxis::of(x_max);
    let traces = time.scale(traces);
    render(
        frame,
        time.axis(),
        (RangedCoordf64::from(0.0..y_max), y_desc, &y_format),
        &traces,
    )
}

/// Like [`over_time`], with latencies (in milliseconds) on a log scale: a median and a tail a
/// hundred times higher both stay readable on one chart.
pub(crate) fn latency_over_time(frame: Frame, x_max: f64, traces: &[Trace]) -> Drawn {
    let lowest = lowest_positive(traces);
    let y = LogMillis::covering(lowest * 0.95, highest(traces) * 1.05);
    let time = TimeAxis::of(x_max);
    let traces = time.scale(traces);
    render(
        frame,
        time.axis(),
        (y, "latency (ms, log scale)", &|y| LogMillis::label(*y)),
        &traces,
    )
}

/// The time axis of a run `x_max` seconds long: seconds, minutes and seconds, or hours.
#[derive(Clone, Copy, Debug)]
struct TimeAxis {
    x_max: f64,
    /// Seconds per unit of the axis: 3,600 for hours, else 1.
    per_unit: f64,
}

impl TimeAxis {
    /// Runs of three hours or more are drawn in hours (ticks at whole hours, not at 2:46:40).
    const HOURS_FROM_S: f64 = 3.0 * 3_600.0;

    fn of(x_max: f64) -> TimeAxis {
        let per_unit = if x_max >= Self::HOURS_FROM_S {
            3_600.0
        } else {
            1.0
        };
        TimeAxis { x_max, per_unit }
    }

    /// `traces` with their times in the axis' unit.
    fn scale(&self, traces: &[Trace]) -> Vec<Trace> {
        let per_unit = self.per_unit;
        traces
            .iter()
            .map(|trace| Trace {
                segments: trace
                    .segments
                    .iter()
                    .map(|segment| segment.iter().map(|&(x, y)| (x / per_unit, y)).collect())
                    .collect(),
                ..trace.clone()
            })
            .collect()
    }

    fn axis(self) -> Axis<'static, RangedCoordf64> {
        let range = RangedCoordf64::from(0.0..(self.x_max / self.per_unit).max(1.0));
        if self.per_unit > 1.0 {
            return (range, "elapsed (hours)", &|h: &f64| {
                if (h - h.round()).abs() < 1e-6 {
                    format!("{h:.0}h")
                } else {
                    format!("{h:.1}h")
                }
            });
        }
        if self.x_max >= 120.0 {
            return (range, "elapsed (m:ss)", &|t: &f64| format::clock(*t));
        }
        (range, "elapsed (s)", &|t: &f64| {
            if (t - t.round()).abs() < 1e-6 {
                format!("{t:.0}")
            } else {
                // Short runs get ticks between whole seconds: `0.5`, not a second `0`.
                format!("{t:.1}")
            }
        })
    }
}

/// A latency percentile curve: latency on a log scale of milliseconds against [`Nines`].
pub(crate) fn percentile_curve(nines: Nines, traces: &[Trace]) -> Drawn {
    let lowest = lowest_positive(traces);
    let y = LogMillis::covering(lowest, highest(traces) * 1.05);
    render(
        WIDE.with_right_margin(56),
        (nines, "percentile", &|x| Nines::label(*x)),
        (y, "latency (ms, log scale)", &|y| LogMillis::label(*y)),
        traces,
    )
}

/// The highest y of `traces` (zero for none).
/// The lowest value above zero of `traces` (1 if there is none), for the floor of a log scale.
fn lowest_positive(traces: &[Trace]) -> f64 {
    let lowest = traces
        .iter()
        .flat_map(|trace| trace.segments.iter().flatten())
        .map(|&(_, y)| y)
        .filter(|y| *y > 0.0)
        .fold(f64::INFINITY, f64::min);
    if lowest.is_finite() { lowest } else { 1.0 }
}

fn highest(traces: &[Trace]) -> f64 {
    traces
        .iter()
        .flat_map(|trace| trace.segments.iter().flatten())
        .map(|&(_, y)| y)
        .fold(0.0, f64::max)
}

/// An axis: its coordinate, its description and how its ticks are labeled.
type Axis<'a, C> = (C, &'a str, &'a dyn Fn(&f64) -> String);

/// The frame every chart shares: white ground, light grid, labeled axes; then the traces.
fn render<X, Y>(frame: Frame, x: Axis<'_, X>, y: Axis<'_, Y>, traces: &[Trace]) -> Drawn
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let (x_coord, x_desc, x_format) = x;
    let (y_coord, y_desc, y_format) = y;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (frame.width, frame.height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin_top(14)
            .margin_right(frame.right)
            .margin_bottom(6)
            .margin_left(8)
            .x_label_area_size(46)
            .y_label_area_size(72)
            .build_cartesian_2d(x_coord, y_coord)?;
        let label = ("sans-serif", 15).into_font().color(&INK);
        chart
            .configure_mesh()
            .x_labels(if frame.width < WIDE.width { 7 } else { 12 })
            .y_labels(if frame.height < WIDE.height { 5 } else { 7 })
            .max_light_lines(2)
            .x_label_formatter(x_format)
            .y_label_formatter(y_format)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(label.clone())
            .axis_desc_style(label)
            .bold_line_style(GRID)
            .light_line_style(FAINT_GRID)
            .axis_style(AXIS)
            .draw()?;
        // Areas first, so that no fill covers a line.
        let (areas, lines): (Vec<&Trace>, Vec<&Trace>) =
            traces.iter().partition(|trace| trace.look != Look::Line);
        for trace in areas.into_iter().chain(lines) {
            for segment in &trace.segments {
                draw_segment(&mut chart, trace, segment)?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}

/// Draws one run of points of `trace`; a run of one point is a dot, since a line through one
/// point would not show.
fn draw_segment<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    trace: &Trace,
    segment: &[(f64, f64)],
) -> Result<(), DrawingAreaErrorKind<std::io::Error>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let points = segment.iter().copied();
    let color = trace.color;
    let (fill, line) = match trace.look {
        Look::Line | Look::Area => (color.mix(0.15), color.stroke_width(2)),
        Look::Tail => (color.mix(0.10), color.mix(0.5).stroke_width(1)),
    };
    match (segment.len(), trace.look) {
        (0, _) => {}
        (1, _) => {
            chart.draw_series(std::iter::once(Circle::new(segment[0], 3, line.filled())))?;
        }
        (_, Look::Line) => {
            chart.draw_series(LineSeries::new(points, line))?;
        }
        (_, Look::Area | Look::Tail) => {
            chart.draw_series(AreaSeries::new(points, 0.0, fill).border_style(line))?;
        }
    }
    Ok(())
}

/// A y tick label with as many decimals as the axis' scale needs (`0.25`, `2.5`, `1,200`).
fn tick_label(y: f64, y_max: f64) -> String {
    if y_max >= 20.0 {
        format::count(y.round().max(0.0) as u64)
    } else if y_max >= 2.0 {
        format!("{y:.1}")
    } else {
        format!("{y:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(look: Look, segments: Vec<Vec<(f64, f64)>>) -> Trace {
        Trace {
            color: RGBColor(0x4e, 0x79, 0xa7),
            look,
            segments,
        }
    }

    #[test]
    fn time_chart_draws_lines_areas_and_dots() {
        let svg = over_time(
            WIDE,
            60.0,
            "per second",
            &[
                trace(
                    Look::Line,
                    vec![vec![(1.0, 5.0), (2.0, 7.0)], vec![(9.0, 1.0)]],
                ),
                trace(Look::Tail, vec![vec![(1.0, 2.0), (60.0, 3.0)]]),
                trace(Look::Area, vec![vec![(1.0, 2.0), (60.0, 3.0)]]),
            ],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<polyline"), "{svg}");
        assert!(svg.contains("<circle"), "{svg}");
        assert!(svg.contains("<polygon"), "{svg}");
        assert!(svg.contains(">\nelapsed (s)\n</text>"), "{svg}");
    }

    #[test]
    fn all_zero_and_empty_charts_still_draw_their_frame() {
        let zero = over_time(
            SMALL,
            1.0,
            "bots",
            &[trace(Look::Line, vec![vec![(1.0, 0.0)]])],
        );
        assert!(zero.unwrap().contains("<text"));
        let empty = percentile_curve(Nines::up_to(3), &[]).unwrap();
        assert!(empty.contains("p99.9"), "{empty}");
    }

    #[test]
    fn percentile_curve_labels_milliseconds() {
        let line = trace(
            Look::Line,
            vec![vec![(0.0, 3.0), (1.0, 40.0), (2.0, 900.0)]],
        );
        let svg = percentile_curve(Nines::up_to(2), &[line]).unwrap();
        for label in [">\np90\n<", ">\n10\n<", ">\n100\n<", ">\n1,000\n<"] {
            assert!(svg.contains(label), "{label} missing: {svg}");
        }
    }
}
