//! A mix of network profiles over a run's bots (`lte:70%,3g:30%`), and the process's mix: the
//! one every socket a bot makes takes its conditions from (the harness's `--net`).

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use super::profile::NetProfile;

/// Profiles and the share of bots each one takes.
///
/// # Examples
/// ```
/// use ttk_net::NetMix;
///
/// let mix: NetMix = "lte:70%,3g:30%".parse().unwrap();
/// assert_eq!(mix.to_string(), "lte:70%,3g:30%");
/// let one: NetMix = "delay=80ms±20ms loss=2%".parse().unwrap();
/// assert_eq!(one.to_string(), "delay=80ms±20ms loss=2%");
/// assert!("lte:70%,3g:20%".parse::<NetMix>().is_err()); // 90 %
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NetMix {
    /// Each profile and its share (the shares sum to 1).
    profiles: Vec<(NetProfile, f64)>,
}

/// The process's mix.
static DEFAULT: RwLock<Option<Arc<NetMix>>> = RwLock::new(None);

/// The salt of the draw that gives a bot its profile.
const PICK_SALT: u64 = 0x006E_6574_5F6D_6978;

impl NetMix {
    /// The profile a bot takes, given a uniform draw in [0, 1).
    ///
    /// # Examples
    /// ```
    /// let mix: ttk_net::NetMix = "lte:70%,3g:30%".parse().unwrap();
    /// assert_eq!(mix.pick(0.5).to_string(), "lte");
    /// assert_eq!(mix.pick(0.8).to_string(), "3g");
    /// ```
    pub fn pick(&self, draw: f64) -> &NetProfile {
        let mut left = draw;
        for (profile, share) in &self.profiles {
            if left < *share {
                return profile;
            }
            left -= share;
        }
        &self.profiles[self.profiles.len() - 1].0
    }

    /// Makes `mix` the process's: from now on each socket a bot makes (a UDP socket it binds, a
    /// stream it connects or accepts) takes the conditions
    /// of its bot's profile (drawn once per bot from the run's seed and its id). `None` takes
    /// the mix away. A run given a mix of its own (`Runtime::extension`, as the harness's
    /// `--net` does) uses that one instead.
    ///
    /// # Examples
    /// ```
    /// // No mix: sockets are as the machine's network makes them.
    /// ttk_net::NetMix::set_default(None);
    /// assert!(ttk_net::NetMix::default_mix().is_none());
    /// ```
    pub fn set_default(mix: Option<NetMix>) {
        *DEFAULT
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = mix.map(Arc::new);
    }

    /// The process's mix, if one was set ([`NetMix::set_default`]).
    ///
    /// # Examples
    /// ```
    /// // A process that never set one has none.
    /// assert!(ttk_net::NetMix::default_mix().is_none());
    /// ```
    pub fn default_mix() -> Option<Arc<NetMix>> {
        DEFAULT
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// The profile of the running bot under the process's mix, if there is one and it changes
/// anything.
pub(crate) fn profile_of_running_bot() -> Option<NetProfile> {
    // The run's own mix (the harness's `--net`), else the process's.
    let mix = ttk_core::io::extension::<NetMix>().or_else(NetMix::default_mix)?;
    let draw = (ttk_core::io::bot_seed(PICK_SALT) >> 11) as f64 / (1u64 << 53) as f64;
    let profile = mix.pick(draw);
    (!profile.is_clear()).then(|| profile.clone())
}

impl FromStr for NetMix {
    type Err = String;

    /// One profile, or `PROFILE:SHARE%` entries separated by commas whose shares make 100 %.
    fn from_str(text: &str) -> Result<NetMix, String> {
        if !text.contains(':') {
            return Ok(NetMix {
                profiles: vec![(text.parse()?, 1.0)],
            });
        }
        let entries: Vec<&str> = text.split(',').map(str::trim).collect();
        let mut profiles = Vec::new();
        for entry in entries {
            let (profile, share) = entry.rsplit_once(':').ok_or_else(|| {
                format!(
                    "`{entry}` in `{text}`: a mix's entries are PROFILE:SHARE%, such as lte:70%"
                )
            })?;
            let percent: f64 = share
                .strip_suffix('%')
                .and_then(|number| number.parse().ok())
                .filter(|percent| *percent > 0.0 && *percent <= 100.0)
                .ok_or_else(|| {
                    format!("`{entry}` in `{text}`: the share is a percentage, such as 70%")
                })?;
            profiles.push((profile.parse::<NetProfile>()?, percent / 100.0));
        }
        let total: f64 = profiles.iter().map(|(_, share)| share).sum();
        if (total - 1.0).abs() > 1e-9 {
            return Err(format!(
                "`{text}`: the shares make {}%, not 100%",
                (total * 100.0 * 1e6).round() / 1e6
            ));
        }
        Ok(NetMix { profiles })
    }
}

impl fmt::Display for NetMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [(profile, _)] = &self.profiles[..] {
            return write!(f, "{profile}");
        }
        let entries: Vec<String> = self
            .profiles
            .iter()
            .map(|(profile, share)| format!("{profile}:{}%", super::profile::percent(*share)))
            .collect();
        f.write_str(&entries.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_of_settings_and_presets_are_read() {
        let mix: NetMix = "delay=10ms loss=1%:25%,lossy-wifi:75%".parse().unwrap();
        assert_eq!(mix.to_string(), "delay=10ms loss=1%:25%,lossy-wifi:75%");
        let odd: NetMix = "lte:71%,3g:29%".parse().unwrap();
        assert_eq!(odd.to_string(), "lte:71%,3g:29%");
        assert_eq!(mix.pick(0.1).to_string(), "delay=10ms loss=1%");
        assert_eq!(mix.pick(0.9999).to_string(), "lossy-wifi");
        assert!(
            "lte:70%,3g"
                .parse::<NetMix>()
                .unwrap_err()
                .contains("PROFILE:SHARE%")
        );
        assert!(
            "lte:70%,3g:x"
                .parse::<NetMix>()
                .unwrap_err()
                .contains("percentage")
        );
        assert!(
            "lte:60%,3g:30%"
                .parse::<NetMix>()
                .unwrap_err()
                .contains("make 90%")
        );
        assert!("5g:100%".parse::<NetMix>().is_err());
    }
}
