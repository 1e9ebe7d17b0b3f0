//! Writing a file so that a reader sees the old one or the whole new one, never a part.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk, then renames it over
/// `path`: a crash or a second Ctrl-C mid-write leaves the previous file (or none), not half
/// of the new one.
///
/// # Errors
/// Creating, writing or renaming failed; the message names the path.
///
/// # Examples
/// ```
/// let dir = std::env::temp_dir().join(format!("ttk-write-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("report.json");
/// ttk_report::write_atomically(&path, b"{}").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"{}");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let named =
        |error: io::Error| io::Error::new(error.kind(), format!("{}: {error}", path.display()));
    let file_name = path.file_name().ok_or_else(|| {
        named(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(file_name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    let written = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        // The rename itself reaches the disk with its directory: best effort, as the file is
        // in place whatever this says.
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty());
        let _ = fs::File::open(dir.unwrap_or(Path::new("."))).and_then(|dir| dir.sync_all());
        Ok(())
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written.map_err(named)
}
