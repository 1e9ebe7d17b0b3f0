//! One network profile: what happens to datagrams on one kind of link.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How jitter is spread around the delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Spread {
    /// Evenly over `delay ± jitter` (netem's default).
    #[default]
    Uniform,
    /// A normal law centred on the delay, of deviation `jitter`.
    Normal,
}

/// The conditions of a link, as [the module](crate::conditions) writes them.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk_net::NetProfile;
///
/// let profile: NetProfile = "delay=80ms±20ms loss=2%".parse().unwrap();
/// assert_eq!(profile.delay(), Duration::from_millis(80));
/// assert_eq!(profile.jitter(), Duration::from_millis(20));
/// assert_eq!(profile.loss(), 0.02);
/// assert_eq!(profile.to_string(), "delay=80ms±20ms loss=2%");
/// assert!("delay=fast".parse::<NetProfile>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NetProfile {
    pub(crate) delay: Duration,
    pub(crate) jitter: Duration,
    pub(crate) spread: Spread,
    pub(crate) loss: f64,
    pub(crate) duplicate: f64,
    pub(crate) reorder: f64,
    /// Bits a second from the bot, if capped.
    pub(crate) up_bits: Option<u64>,
    /// Bits a second to the bot, if capped.
    pub(crate) down_bits: Option<u64>,
    /// The preset it was, if it was one (its name is how it is shown).
    preset: Option<&'static str>,
}

/// The presets: name, settings. One-way figures, each direction: a round trip sees the delay
/// twice.
const PRESETS: [(&str, &str); 4] = [
    ("lte", "delay=35ms±10ms loss=0.5% up=5mbit down=20mbit"),
    ("3g", "delay=100ms±30ms loss=1.5% up=768kbit down=1600kbit"),
    ("lossy-wifi", "delay=8ms±6ms loss=5% dup=1% reorder=2%"),
    ("intercontinental", "delay=80ms±4ms loss=0.2%"),
];

impl NetProfile {
    /// The preset `name`: `lte` (35 ms ± 10 ms each way, 0.5 % loss, 5 Mbit/s up, 20 down),
    /// `3g` (100 ms ± 30 ms, 1.5 % loss, 768 kbit/s up, 1.6 Mbit/s down), `lossy-wifi` (8 ms
    /// ± 6 ms, 5 % loss, 1 % duplicated, 2 % reordered) or `intercontinental` (80 ms ± 4 ms,
    /// 0.2 % loss); `None` for another name. Typical figures of such links, not measurements of
    /// one.
    ///
    /// # Examples
    /// ```
    /// let lte = ttk_net::NetProfile::preset("lte").unwrap();
    /// assert_eq!(lte.to_string(), "lte");
    /// assert_eq!(lte.delay(), std::time::Duration::from_millis(35));
    /// assert!(ttk_net::NetProfile::preset("5g").is_none());
    /// ```
    pub fn preset(name: &str) -> Option<NetProfile> {
        let (name, text) = PRESETS.iter().find(|(preset, _)| *preset == name)?;
        let mut profile = parse_settings(text).expect("the presets are valid");
        profile.preset = Some(name);
        Some(profile)
    }

    /// The delay added to each datagram, each direction, before jitter.
    ///
    /// # Examples
    /// ```
    /// let profile: ttk_net::NetProfile = "delay=80ms".parse().unwrap();
    /// assert_eq!(profile.delay(), std::time::Duration::from_millis(80));
    /// ```
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// How far the delay may stray (uniform), or its deviation (normal).
    ///
    /// # Examples
    /// ```
    /// let profile: ttk_net::NetProfile = "delay=80ms jitter=5ms".parse().unwrap();
    /// assert_eq!(profile.jitter(), std::time::Duration::from_millis(5));
    /// ```
    pub fn jitter(&self) -> Duration {
        self.jitter
    }

    /// The share of datagrams lost, each direction (0 to 1).
    ///
    /// # Examples
    /// ```
    /// let profile: ttk_net::NetProfile = "loss=0.5%".parse().unwrap();
    /// assert_eq!(profile.loss(), 0.005);
    /// ```
    pub fn loss(&self) -> f64 {
        self.loss
    }

    /// Whether the profile changes nothing (no delay, loss, duplication, cap).
    ///
    /// # Examples
    /// ```
    /// use ttk_net::NetProfile;
    ///
    /// assert!(NetProfile::default().is_clear());
    /// assert!(!"loss=1%".parse::<NetProfile>().unwrap().is_clear());
    /// ```
    pub fn is_clear(&self) -> bool {
        self.delay.is_zero()
            && self.jitter.is_zero()
            && self.loss == 0.0
            && self.duplicate == 0.0
            && self.up_bits.is_none()
            && self.down_bits.is_none()
    }
}

impl FromStr for NetProfile {
    type Err = String;

    /// A preset's name, or settings (see [the module](crate::conditions)).
    fn from_str(text: &str) -> Result<NetProfile, String> {
        let text = text.trim();
        if let Some(preset) = NetProfile::preset(text) {
            return Ok(preset);
        }
        parse_settings(text)
    }
}

/// `key=value` settings.
fn parse_settings(text: &str) -> Result<NetProfile, String> {
    let mut profile = NetProfile::default();
    if text.is_empty() {
        return Err(format!(
            "a network profile is a preset ({}) or settings such as `delay=80ms±20ms loss=2%`",
            preset_names()
        ));
    }
    for word in text.split_whitespace() {
        let (key, value) = word.split_once('=').ok_or_else(|| {
            format!(
                "`{word}` in `{text}`: settings are key=value (delay, jitter, dist, loss, dup, \
                 reorder, rate, up, down), or a preset ({})",
                preset_names()
            )
        })?;
        let wrong = |what: &str| format!("`{word}` in `{text}`: {what}");
        match key {
            "delay" => {
                let (delay, jitter) = match value.split_once('±').or_else(|| value.split_once("+-"))
                {
                    Some((delay, jitter)) => (delay, Some(jitter)),
                    None => (value, None),
                };
                profile.delay = duration(delay).map_err(|e| wrong(&e))?;
                if let Some(jitter) = jitter {
                    profile.jitter = duration(jitter).map_err(|e| wrong(&e))?;
                }
            }
            "jitter" => profile.jitter = duration(value).map_err(|e| wrong(&e))?,
            "dist" => {
                profile.spread = match value {
                    "uniform" => Spread::Uniform,
                    "normal" => Spread::Normal,
                    _ => return Err(wrong("the spread is uniform or normal")),
                }
            }
            "loss" => profile.loss = share(value).map_err(|e| wrong(&e))?,
            "dup" | "duplicate" => profile.duplicate = share(value).map_err(|e| wrong(&e))?,
            "reorder" => profile.reorder = share(value).map_err(|e| wrong(&e))?,
            "rate" => {
                let bits = bits(value).map_err(|e| wrong(&e))?;
                (profile.up_bits, profile.down_bits) = (Some(bits), Some(bits));
            }
            "up" => profile.up_bits = Some(bits(value).map_err(|e| wrong(&e))?),
            "down" => profile.down_bits = Some(bits(value).map_err(|e| wrong(&e))?),
            _ => {
                return Err(wrong(
                    "unknown setting (delay, jitter, dist, loss, dup, reorder, rate, up, down)",
                ));
            }
        }
    }
    Ok(profile)
}

/// The presets' names, for messages.
fn preset_names() -> String {
    PRESETS.map(|(name, _)| name).join(", ")
}

/// `80ms`, `1.5s`, `250us`.
fn duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{text}` needs a unit (us, ms, s)"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a time"))?;
    let seconds = match unit {
        "us" | "µs" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        _ => return Err(format!("`{text}`: the unit is us, ms or s")),
    };
    if !(0.0..=3600.0).contains(&seconds) {
        return Err(format!("`{text}` is not between 0 and an hour"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `2%` as 0.02.
fn share(text: &str) -> Result<f64, String> {
    let number = text
        .strip_suffix('%')
        .ok_or_else(|| format!("`{text}` is a percentage, such as 2%"))?;
    let percent: f64 = number
        .parse()
        .ok()
        .filter(|percent| (0.0..=100.0).contains(percent))
        .ok_or_else(|| format!("`{text}` is not a percentage from 0 to 100"))?;
    Ok(percent / 100.0)
}

/// `1mbit` in bits a second.
fn bits(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a rate, such as 1mbit"))?;
    let scale = match unit {
        "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        _ => {
            return Err(format!(
                "`{text}`: the unit is bit, kbit, mbit or gbit (a second)"
            ));
        }
    };
    let bits = number * scale;
    if !(8.0..=1e12).contains(&bits) {
        return Err(format!("`{text}` is not between 8bit and 1000gbit"));
    }
    Ok(bits as u64)
}

impl fmt::Display for NetProfile {
    /// The preset's name, or the settings that differ from a clear link.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.preset {
            return f.write_str(name);
        }
        let mut words = Vec::new();
        if !self.delay.is_zero() || !self.jitter.is_zero() {
            let mut delay = format!("delay={}", shown(self.delay));
            if !self.jitter.is_zero() {
                delay.push_str(&format!("±{}", shown(self.jitter)));
            }
            words.push(delay);
        }
        if self.spread == Spread::Normal {
            words.push("dist=normal".to_owned());
        }
        for (key, share) in [
            ("loss", self.loss),
            ("dup", self.duplicate),
            ("reorder", self.reorder),
        ] {
            if share > 0.0 {
                words.push(format!("{key}={}%", percent(share)));
            }
        }
        match (self.up_bits, self.down_bits) {
            (Some(up), Some(down)) if up == down => words.push(format!("rate={}", rate(up))),
            (up, down) => {
                words.extend(up.map(|up| format!("up={}", rate(up))));
                words.extend(down.map(|down| format!("down={}", rate(down))));
            }
        }
        if words.is_empty() {
            return f.write_str("clear");
        }
        f.write_str(&words.join(" "))
    }
}

/// A share as a percentage, as the settings write it: `0.07` is `7`, not `7.000000000000001`.
pub(crate) fn percent(share: f64) -> String {
    let text = format!("{:.6}", share * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A duration as the settings write it.
fn shown(duration: Duration) -> String {
    match duration.subsec_nanos() % 1_000_000 {
        0 => format!("{}ms", duration.as_millis()),
        _ => format!("{}us", duration.as_micros()),
    }
}

/// Bits a second as the settings write them.
fn rate(bits: u64) -> String {
    for (scale, unit) in [
        (1_000_000_000, "gbit"),
        (1_000_000, "mbit"),
        (1_000, "kbit"),
    ] {
        if bits.is_multiple_of(scale) {
            return format!("{}{unit}", bits / scale);
        }
    }
    format!("{bits}bit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_and_written_back() {
        for text in [
            "delay=80ms±20ms loss=2%",
            "delay=5ms dist=normal dup=0.5% reorder=10%",
            "delay=250us±100us rate=1mbit",
            "up=512kbit down=10mbit",
            "loss=100%",
        ] {
            let profile: NetProfile = text.parse().unwrap();
            assert_eq!(profile.to_string(), text);
        }
        let ascii: NetProfile = "delay=80ms+-20ms".parse().unwrap();
        assert_eq!(ascii.jitter(), Duration::from_millis(20));
        let odd: NetProfile = "loss=7% dup=0.3%".parse().unwrap();
        assert_eq!(odd.to_string(), "loss=7% dup=0.3%");
        let apart: NetProfile = "delay=1.5s jitter=2ms".parse().unwrap();
        assert_eq!(apart.to_string(), "delay=1500ms±2ms");
        for (name, _) in PRESETS {
            assert_eq!(name.parse::<NetProfile>().unwrap().to_string(), name);
        }
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let refused = |text: &str| text.parse::<NetProfile>().unwrap_err();
        assert!(refused("").contains("preset"));
        assert!(refused("5g").contains("key=value"));
        assert!(refused("delay=80").contains("unit"));
        assert!(refused("loss=2").contains("percentage"));
        assert!(refused("loss=200%").contains("0 to 100"));
        assert!(refused("rate=1mbps").contains("bit, kbit"));
        assert!(refused("speed=1").contains("unknown setting"));
        assert!(refused("dist=pareto").contains("uniform or normal"));
        assert!(refused("delay=2h").contains("unit"));
    }
}
