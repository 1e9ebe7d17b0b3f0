//! Kernel settings for a run: read them, raise what the run needs (as root), and put back what
//! was changed when the run is over — also when it fails.

use std::path::PathBuf;

/// One setting as it was, and what the run set it to.
#[derive(Clone, Debug)]
pub(crate) struct Setting {
    /// Its name (`net.core.somaxconn`).
    pub(crate) name: String,
    /// Its value before the run (whitespace collapsed), or why it could not be read.
    pub(crate) before: Result<String, String>,
    /// What the run set it to, if it changed it.
    pub(crate) set_to: Option<String>,
    /// Why it could not be raised, if that was tried and failed.
    pub(crate) refused: Option<String>,
}

/// Settings changed for a run; dropping it restores them.
#[derive(Debug, Default)]
pub(crate) struct Sysctls {
    /// Every setting read or changed, in order.
    pub(crate) settings: Vec<Setting>,
}

impl Sysctls {
    /// Reads `name` without changing it (for the record).
    pub(crate) fn read(&mut self, name: &str) {
        self.settings.push(Setting {
            name: name.to_owned(),
            before: read(name),
            set_to: None,
            refused: None,
        });
    }

    /// Raises the single number `name` to at least `at_least`; a larger value stands.
    pub(crate) fn raise(&mut self, name: &str, at_least: u64) {
        let before = read(name);
        let current = before
            .as_ref()
            .ok()
            .and_then(|value| value.parse::<u64>().ok());
        let mut setting = Setting {
            name: name.to_owned(),
            before,
            set_to: None,
            refused: None,
        };
        if current.is_some_and(|current| current < at_least) {
            match write(name, &at_least.to_string()) {
                Ok(()) => setting.set_to = Some(at_least.to_string()),
                Err(error) => setting.refused = Some(error),
            }
        }
        self.settings.push(setting);
    }

    /// One line per setting: its value, and what the run changed.
    pub(crate) fn describe(&self) -> String {
        let mut lines = Vec::new();
        for setting in &self.settings {
            let before = match &setting.before {
                Ok(value) => value.clone(),
                Err(error) => format!("unreadable ({error})"),
            };
            let line = match (&setting.set_to, &setting.refused) {
                (Some(to), _) => format!(
                    "  {} = {to} for the run (was {before}; restored after)",
                    setting.name
                ),
                (None, Some(why)) => {
                    format!("  {} = {before} (could not raise it: {why})", setting.name)
                }
                (None, None) => format!("  {} = {before}", setting.name),
            };
            lines.push(line);
        }
        lines.join("\n")
    }
}

impl Drop for Sysctls {
    fn drop(&mut self) {
        for setting in self.settings.iter().rev() {
            if let (Some(_), Ok(before)) = (&setting.set_to, &setting.before)
                && let Err(error) = write(&setting.name, before)
            {
                eprintln!("xtask: could not restore {}: {error}", setting.name);
            }
        }
    }
}

/// The file of setting `name` under `/proc/sys`.
fn path(name: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(name.replace('.', "/"))
}

/// The value of `name`, whitespace collapsed to single spaces.
fn read(name: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path(name)).map_err(|error| error.to_string())?;
    Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Sets `name` to `value`.
fn write(name: &str, value: &str) -> Result<(), String> {
    std::fs::write(path(name), value).map_err(|error| error.to_string())
}
