//! Plain-text tables whose columns line up however long the names in them, for the summary.

/// Where a column's cells sit in its width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Align {
    /// Text: names, kinds, messages.
    Left,
    /// Figures, so that their units and decimal points line up.
    Right,
}

/// Rows of cells, written with every column as wide as its widest cell.
#[derive(Debug)]
pub(crate) struct Table {
    /// Each column's alignment; rows have as many cells.
    columns: Vec<Align>,
    /// The rows, the header first.
    rows: Vec<Vec<String>>,
}

/// Between two columns.
const GAP: &str = "  ";

impl Table {
    /// A table whose first row is `header`, each column aligned as given with its title.
    pub(crate) fn new(header: &[(&str, Align)]) -> Table {
        Table {
            columns: header.iter().map(|&(_, align)| align).collect(),
            rows: vec![header.iter().map(|&(title, _)| title.to_owned()).collect()],
        }
    }

    /// Adds a row, one cell per column.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len(), "one cell per column");
        self.rows.push(cells);
    }

    /// Appends the table to `out`, one line per row, without trailing spaces.
    pub(crate) fn write(&self, out: &mut String) {
        let widths = (0..self.columns.len())
            .map(|column| {
                self.rows
                    .iter()
                    .map(|row| width(&row[column]))
                    .max()
                    .unwrap_or(0)
            })
            .collect::<Vec<_>>();
        for row in &self.rows {
            let mut line = String::new();
            for (column, cell) in row.iter().enumerate() {
                if column > 0 {
                    line.push_str(GAP);
                }
                let padding = " ".repeat(widths[column] - width(cell));
                match self.columns[column] {
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&padding);
                    }
                    Align::Right => {
                        line.push_str(&padding);
                        line.push_str(cell);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

/// The columns `text` takes on a terminal, counting a character as one (true of the names
/// and figures a summary holds; wide scripts would only shift their own row).
fn width(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_lines_have_no_trailing_spaces() {
        let mut table = Table::new(&[("name", Align::Left), ("count", Align::Right)]);
        table.row(vec!["a-very-long-name".to_owned(), "1".to_owned()]);
        table.row(vec!["b".to_owned(), "12345678".to_owned()]);
        let mut out = String::new();
        table.write(&mut out);
        assert_eq!(
            out,
            "name                 count\n\
             a-very-long-name         1\n\
             b                 12345678\n"
        );
        let mut last_empty = Table::new(&[("a", Align::Left), ("b", Align::Left)]);
        last_empty.row(vec!["x".to_owned(), String::new()]);
        let mut out = String::new();
        last_empty.write(&mut out);
        assert_eq!(out, "a  b\nx\n");
    }
}
