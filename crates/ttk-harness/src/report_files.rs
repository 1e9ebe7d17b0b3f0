//! Writing a run's reports where the command line said.

use std::path::Path;

use super::out::print_line;
use ttk_report::Report;

/// Writes the JSON and HTML reports asked for; says where (if `announce`), or why not.
/// Returns whether every one asked for was written.
pub(crate) fn write_reports(
    report: &Report,
    json: Option<&Path>,
    html: Option<&Path>,
    announce: bool,
) -> bool {
    let mut written = true;
    let mut write = |what: &str, path: &Path, result: Result<(), String>| match result {
        Ok(()) if !announce => {}
        Ok(()) => print_line(format_args!("{what} report: {}", path.display())),
        Err(error) => {
            eprintln!("error: the {what} report was not written: {error}");
            written = false;
        }
    };
    if let Some(path) = json {
        write(
            "JSON",
            path,
            report.write_json(path).map_err(|e| e.to_string()),
        );
    }
    if let Some(path) = html {
        write(
            "HTML",
            path,
            report.write_html(path).map_err(|e| e.to_string()),
        );
    }
    written
}
