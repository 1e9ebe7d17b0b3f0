//! One color per transaction, the same in every chart, legend and table of the page.

use plotters::style::RGBColor;

use crate::Report;

/// Ten hues that stay apart for most color-blind readers and print well on white (the
/// Tableau 10 set); an eleventh transaction starts the cycle again.
const HUES: [(u8, u8, u8); 10] = [
    (0x4e, 0x79, 0xa7),
    (0xf2, 0x8e, 0x2b),
    (0x59, 0xa1, 0x4f),
    (0xe1, 0x57, 0x59),
    (0x76, 0xb7, 0xb2),
    (0xed, 0xc9, 0x48),
    (0xb0, 0x7a, 0xa1),
    (0xff, 0x9d, 0xa7),
    (0x9c, 0x75, 0x5f),
    (0xba, 0xb0, 0xac),
];

/// The color of things that belong to no one transaction (bots, all failures together).
pub(crate) const NEUTRAL: RGBColor = RGBColor(0x3d, 0x4a, 0x5c);

/// The marks of load changes made during the run: the ink's color, which no series takes.
pub(crate) const CHANGE: RGBColor = RGBColor(0x1f, 0x27, 0x33);

/// The color of failures taken together.
pub(crate) const FAILURE: RGBColor = RGBColor(0xc0, 0x39, 0x2b);

/// The transactions of a report in the order colors are handed out: the report's own order,
/// then any name that appears only in the per-second series (a merged or hand-made report may
/// have one), so that every line drawn has a color and a legend entry.
#[derive(Debug)]
pub(crate) struct Palette<'a> {
    /// Transaction names; a name's index picks its hue.
    names: Vec<&'a str>,
}

impl<'a> Palette<'a> {
    /// The palette of `report`.
    pub(crate) fn of(report: &'a Report) -> Self {
        let mut names: Vec<&str> = report
            .transactions
            .iter()
            .map(|tx| tx.name.as_str())
            .collect();
        for second in &report.series {
            for name in second.transactions.keys() {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        Palette { names }
    }

    /// Every transaction name, in color order.
    pub(crate) fn names(&self) -> &[&'a str] {
        &self.names
    }

    /// The color of transaction `name` (the last hue for a name the palette does not know,
    /// which cannot happen for names taken from the same report).
    pub(crate) fn color(&self, name: &str) -> RGBColor {
        let index = self.names.iter().position(|known| *known == name);
        let (r, g, b) = HUES[index.unwrap_or(HUES.len() - 1) % HUES.len()];
        RGBColor(r, g, b)
    }

    /// The color of transaction `name` as CSS (`#4e79a7`).
    pub(crate) fn css(&self, name: &str) -> String {
        css(self.color(name))
    }
}

/// `color` as CSS (`#4e79a7`).
pub(crate) fn css(color: RGBColor) -> String {
    let RGBColor(r, g, b) = color;
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SecondReport, SecondTransaction, TransactionReport};

    #[test]
    fn names_follow_the_report_then_the_series() {
        let mut report = Report::new("palette");
        report.transactions.push(TransactionReport::new("b"));
        report.transactions.push(TransactionReport::new("a"));
        let mut second = SecondReport::default();
        second
            .transactions
            .insert("a".into(), SecondTransaction::default());
        second
            .transactions
            .insert("z".into(), SecondTransaction::default());
        report.series.push(second);
        let palette = Palette::of(&report);
        assert_eq!(palette.names(), ["b", "a", "z"]);
        assert_eq!(palette.css("b"), "#4e79a7");
        assert_eq!(palette.css("a"), "#f28e2b");
        assert_ne!(palette.css("a"), palette.css("z"));
    }
}
