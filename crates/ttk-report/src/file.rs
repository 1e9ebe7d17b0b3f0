//! Reading and writing report files.

use std::fs;
use std::io;
use std::path::Path;

use crate::model::{Report, ReportError};
use crate::write::write_atomically;

impl Report {
    /// Reads the report in the file at `path`, checking its schema.
    ///
    /// # Errors
    /// [`ReportError::Io`] (its message names the path) when the file cannot be read;
    /// [`ReportError::Json`] or [`ReportError::Schema`] when it is not a report this version
    /// reads — those do not name the path, which the caller has.
    ///
    /// # Examples
    /// ```
    /// use ttk_report::Report;
    ///
    /// let dir = std::env::temp_dir().join(format!("ttk-read-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("report.json");
    /// Report::new("demo").write_json(&path).unwrap();
    /// assert_eq!(Report::read_json(&path).unwrap().run.name, "demo");
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn read_json(path: impl AsRef<Path>) -> Result<Report, ReportError> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).map_err(|error| {
            ReportError::Io(io::Error::new(
                error.kind(),
                format!("{}: {error}", path.display()),
            ))
        })?;
        Report::from_json(&text)
    }

    /// Writes the report as pretty JSON to the file at `path`, atomically (see
    /// [`write_atomically`]): a reader never sees half a report.
    ///
    /// # Errors
    /// [`ReportError::Io`], naming the path, when the file cannot be written.
    ///
    /// # Examples
    /// ```
    /// use ttk_report::Report;
    ///
    /// let dir = std::env::temp_dir().join(format!("ttk-write-json-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("report.json");
    /// Report::new("demo").write_json(&path).unwrap();
    /// assert!(std::fs::read_to_string(&path).unwrap().contains("\"schema\": \"ttk-report/3\""));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn write_json(&self, path: impl AsRef<Path>) -> Result<(), ReportError> {
        let mut json = self.to_json();
        // A text file ends with a newline: `cat` and diffs of reports stay tidy.
        json.push('\n');
        write_atomically(path.as_ref(), json.as_bytes()).map_err(ReportError::Io)
    }
}
