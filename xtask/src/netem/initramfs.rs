//! The VM's whole filesystem: an initramfs, the cpio archive (`newc` format) the kernel
//! unpacks into its first root before it runs `/init`. Built in memory from files of this
//! machine, each with the shared libraries it loads.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// An initramfs being put together: entries in the order the kernel will make them.
#[derive(Default)]
pub(crate) struct Initramfs {
    /// The archive so far.
    archive: Vec<u8>,
    /// Directories already in the archive (the kernel makes no parent directory itself).
    dirs: BTreeSet<String>,
    /// Files already in it, so that a library two programs load goes in once.
    files: BTreeSet<String>,
    /// The last entry's inode number (each entry has its own: the kernel links entries that
    /// share one as hard links).
    next_inode: u32,
}

/// The permission bits of an executable file.
const EXECUTABLE: u32 = 0o755;
/// The permission bits of any other file.
const DATA: u32 = 0o644;

impl Initramfs {
    /// The file at `path` on this machine, at `at` in the image (an absolute path).
    pub(crate) fn copy(&mut self, path: &Path, at: &str) -> Result<(), String> {
        let data = std::fs::read(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let executable = data.starts_with(b"\x7fELF");
        self.file(at, &data, if executable { EXECUTABLE } else { DATA });
        Ok(())
    }

    /// The program at `path`, at `at` in the image, with every shared library it loads at the
    /// path the dynamic loader will look for it (as `ldd` finds them here).
    pub(crate) fn program(&mut self, path: &Path, at: &str) -> Result<(), String> {
        self.copy(path, at)?;
        for library in libraries(path)? {
            if !self.files.contains(&library) {
                self.copy(Path::new(&library), &library)?;
            }
        }
        Ok(())
    }

    /// A file of `data` at `at`, with permission bits `mode`.
    pub(crate) fn file(&mut self, at: &str, data: &[u8], mode: u32) {
        self.parents(at);
        self.files.insert(at.to_owned());
        self.entry(at, 0o100_000 | mode, data);
    }

    /// A symbolic link at `at` to `target`.
    pub(crate) fn symlink(&mut self, at: &str, target: &str) {
        self.parents(at);
        self.entry(at, 0o120_777, target.as_bytes());
    }

    /// An empty directory at `at` (and its parents).
    pub(crate) fn dir(&mut self, at: &str) {
        self.parents(at);
        if self.dirs.insert(at.to_owned()) {
            self.entry(at, 0o040_755, &[]);
        }
    }

    /// The archive, ended.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[]);
        self.archive
    }

    /// Makes the directories above `at`.
    fn parents(&mut self, at: &str) {
        let mut end = 0;
        while let Some(slash) = at[end + 1..].find('/') {
            end += 1 + slash;
            let dir = &at[..end];
            if !dir.is_empty() && self.dirs.insert(dir.to_owned()) {
                self.entry(dir, 0o040_755, &[]);
            }
        }
    }

    /// One `newc` entry: a header of thirteen 8-digit hex fields after the magic `070701`,
    /// the name (relative, NUL-ended), then the data, each padded to 4 bytes.
    fn entry(&mut self, at: &str, mode: u32, data: &[u8]) {
        let name = at.trim_start_matches('/');
        self.next_inode += 1;
        let links = if mode & 0o170_000 == 0o040_000 { 2 } else { 1 };
        let fields = [
            self.next_inode,
            mode,
            0, // uid: root
            0, // gid: root
            links,
            0, // mtime
            data.len() as u32,
            0, // the device it is on, major and minor
            0,
            0, // the device it is, for device files
            0,
            name.len() as u32 + 1,
            0, // checksum: none in newc
        ];
        self.archive.extend_from_slice(b"070701");
        for field in fields {
            self.archive
                .extend_from_slice(format!("{field:08X}").as_bytes());
        }
        self.archive.extend_from_slice(name.as_bytes());
        self.archive.push(0);
        self.pad();
        self.archive.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.archive.len().is_multiple_of(4) {
            self.archive.push(0);
        }
    }
}

/// The absolute paths of the shared libraries `program` loads, the dynamic loader among them,
/// as `ldd` resolves them on this machine (none for a static program).
fn libraries(program: &Path) -> Result<Vec<String>, String> {
    let output = Command::new("ldd")
        .arg(program)
        .output()
        .map_err(|error| format!("cannot run ldd: {error}"))?;
    if !output.status.success() {
        // ldd says so on its error output, and fails, for a program that loads nothing.
        let said = String::from_utf8_lossy(&output.stderr);
        return match said.contains("not a dynamic executable") {
            true => Ok(Vec::new()),
            false => Err(format!("ldd {}: {}", program.display(), said.trim())),
        };
    }
    let text = String::from_utf8_lossy(&output.stdout);
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)`,
    // `/lib64/ld-linux-x86-64.so.2 (0x…)`; the vDSO has no file.
    let mut found = Vec::new();
    for line in text.lines() {
        let path = match line.split_once("=>") {
            Some((_, resolved)) => resolved.trim(),
            None => line.trim(),
        };
        let path = path.split(" (").next().unwrap_or_default();
        if path.starts_with('/') {
            found.push(path.to_owned());
        } else if line.contains("not found") {
            return Err(format!("{}: {}", program.display(), line.trim()));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of the entry at `offset`: its name, mode, data and where the next begins.
    fn read(archive: &[u8], offset: usize) -> (String, u32, Vec<u8>, usize) {
        assert_eq!(&archive[offset..offset + 6], b"070701");
        let field = |k: usize| {
            let at = offset + 6 + 8 * k;
            u32::from_str_radix(std::str::from_utf8(&archive[at..at + 8]).unwrap(), 16).unwrap()
        };
        let (mode, size, name_len) = (field(1), field(6) as usize, field(11) as usize);
        let name_at = offset + 110;
        let name = String::from_utf8(archive[name_at..name_at + name_len - 1].to_vec()).unwrap();
        let data_at = (name_at + name_len).next_multiple_of(4);
        let data = archive[data_at..data_at + size].to_vec();
        (name, mode, data, (data_at + size).next_multiple_of(4))
    }

    #[test]
    fn entries_come_parents_first_padded_and_end_with_the_trailer() {
        let mut image = Initramfs::default();
        image.file("/lib/x86_64-linux-gnu/libz.so.1", b"12345", DATA);
        image.symlink("/bin/sh", "busybox");
        image.dir("/lib/x86_64-linux-gnu");
        let archive = image.finish();
        let mut offset = 0;
        let mut entries = Vec::new();
        while offset < archive.len() {
            let (name, mode, data, next) = read(&archive, offset);
            entries.push((name, mode, data));
            offset = next;
        }
        let expected = [
            ("lib", 0o040_755, &b""[..]),
            ("lib/x86_64-linux-gnu", 0o040_755, b""),
            ("lib/x86_64-linux-gnu/libz.so.1", 0o100_644, b"12345"),
            ("bin", 0o040_755, b""),
            ("bin/sh", 0o120_777, b"busybox"),
            ("TRAILER!!!", 0, b""),
        ];
        let entries: Vec<(&str, u32, &[u8])> = entries
            .iter()
            .map(|(name, mode, data)| (name.as_str(), *mode, data.as_slice()))
            .collect();
        assert_eq!(entries, expected);
        assert_eq!(offset, archive.len());
    }

    #[test]
    fn a_static_program_brings_nothing_and_a_missing_one_is_an_error() {
        // Debian's ldconfig is linked statically (ldd: "statically linked").
        assert_eq!(libraries(Path::new("/sbin/ldconfig")), Ok(Vec::new()));
        assert!(libraries(Path::new("/nonexistent/program")).is_err());
    }

    #[test]
    fn a_dynamic_program_brings_its_loader_and_libc() {
        let libraries = libraries(Path::new("/bin/sh")).unwrap();
        assert!(
            libraries.iter().any(|path| path.contains("libc.so")),
            "{libraries:?}"
        );
        assert!(
            libraries.iter().any(|path| path.contains("ld-linux")),
            "{libraries:?}"
        );
    }
}
