//! Bytes given on the command line in hexadecimal (`--send-hex`, `--expect-hex`): a binary
//! protocol's datagrams (DNS, memcached's UDP frames, a game's packets) hold bytes no text can
//! (NUL, bytes that are no UTF-8), which an argument cannot carry.

use std::fmt;
use std::str::FromStr;

/// Bytes read from hexadecimal digits, two a byte; whitespace (line breaks too), colons and a
/// leading `0x` may separate or start them (`0001 abcd`, `00:01:ab:cd`, `0x0001abcd`, `xxd -p`'s
/// lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HexBytes(pub(crate) Vec<u8>);

impl FromStr for HexBytes {
    type Err = String;

    fn from_str(text: &str) -> Result<HexBytes, String> {
        let text = text.trim();
        let text = ["0x", "0X"]
            .iter()
            .find_map(|prefix| text.strip_prefix(prefix))
            .unwrap_or(text);
        // Any whitespace (`xxd -p` breaks its lines) and colons separate.
        let digits: Vec<char> = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect();
        if digits.is_empty() {
            return Err("no hexadecimal digits".into());
        }
        if digits.len() % 2 == 1 {
            return Err(format!(
                "an odd number of hexadecimal digits ({}): each byte takes two",
                digits.len()
            ));
        }
        let value = |digit: char| {
            digit
                .to_digit(16)
                .map(|value| value as u8)
                .ok_or_else(|| format!("`{digit}` is not a hexadecimal digit"))
        };
        digits
            .chunks_exact(2)
            .map(|pair| Ok(value(pair[0])? << 4 | value(pair[1])?))
            .collect::<Result<Vec<u8>, String>>()
            .map(HexBytes)
    }
}

impl fmt::Display for HexBytes {
    /// The bytes as two hexadecimal digits each, with a space every four bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, byte) in self.0.iter().enumerate() {
            if k > 0 && k % 4 == 0 {
                f.write_str(" ")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::HexBytes;

    #[test]
    fn digits_spaces_colons_and_a_prefix_are_read() {
        for text in [
            "0001abCD",
            "00 01 ab cd",
            "00:01:ab:cd",
            "0x0001abcd",
            "0X0001abcd",
            " 0001\nABCD ",
        ] {
            assert_eq!(text.parse(), Ok(HexBytes(vec![0, 1, 0xab, 0xcd])), "{text}");
        }
        assert_eq!(
            HexBytes(vec![0, 1, 0xab, 0xcd, 7]).to_string(),
            "0001abcd 07"
        );
    }

    #[test]
    fn what_is_not_bytes_is_refused_with_the_reason() {
        assert!(
            "abc"
                .parse::<HexBytes>()
                .unwrap_err()
                .contains("odd number")
        );
        assert!("zz".parse::<HexBytes>().unwrap_err().contains("`z`"));
        assert!("é0".parse::<HexBytes>().unwrap_err().contains("`é`"));
        assert!(
            " ".parse::<HexBytes>()
                .unwrap_err()
                .contains("no hexadecimal")
        );
    }
}
