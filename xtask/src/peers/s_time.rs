//! Reading what `openssl s_time -connect HOST:PORT -new|-reuse -time T -www PATH` prints
//! (OpenSSL 3.0, Debian's): one character per connection as it goes (`*` a full handshake, `r`
//! a resumed one), then `N connections in T real seconds, B bytes read per connection`. It
//! stops at the first connection that fails, exits with 1 and prints no count.

use super::output::number;

/// One s_time run's counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct STime {
    /// Connections it made, each with one handshake and one request.
    pub(crate) connections: u64,
    /// Of which it printed as full handshakes (`*`).
    pub(crate) full: u64,
    /// Of which it printed as resumed (`r`).
    pub(crate) resumed: u64,
}

/// The counts in s_time's output. (With `-reuse`, the first connection, which makes the
/// session the others resume, is neither counted nor printed.)
pub(crate) fn parse(text: &str) -> Result<STime, String> {
    let mut counts = STime::default();
    let mut connections = None;
    for line in text.lines().map(str::trim) {
        // `1647 connections in 2 real seconds, 156 bytes read per connection`
        if let Some((count, rest)) = line.split_once(" connections in ")
            && rest.contains(" real seconds")
        {
            connections = Some(number::<u64>(count, "s_time's connection count")?);
        } else if !line.is_empty() && line.chars().all(|c| c == '*' || c == 'r') {
            counts.full += line.chars().filter(|&c| c == '*').count() as u64;
            counts.resumed += line.chars().filter(|&c| c == 'r').count() as u64;
        }
    }
    counts.connections = connections.ok_or("s_time printed no connection count")?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real output of OpenSSL 3.0.19's s_time (Debian) against this task's nginx over TLS 1.3,
    // `-time 1 -CAfile ca.pem -www /close`, pinned as it runs it.

    #[test]
    fn reads_a_run_of_full_handshakes() {
        let counts = parse(include_str!("samples/s_time-new.txt")).unwrap();
        assert_eq!(
            counts,
            STime {
                connections: 1_647,
                full: 1_647,
                resumed: 0
            }
        );
    }

    #[test]
    fn reads_a_run_of_resumed_handshakes() {
        let counts = parse(include_str!("samples/s_time-reuse.txt")).unwrap();
        assert_eq!(
            counts,
            STime {
                connections: 3_864,
                full: 0,
                resumed: 3_864
            }
        );
    }

    #[test]
    fn a_refused_connection_is_no_count() {
        assert!(parse(include_str!("samples/s_time-refused.txt")).is_err());
    }
}
