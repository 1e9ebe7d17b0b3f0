//! Where the received bytes stand among TLS records, so that a connection closed in the
//! middle of one is told apart from one closed between records.

/// The length of a TLS record header: type, version, length.
const HEADER_LEN: usize = 5;

/// Follows record boundaries in the received ciphertext: a few counters, no copy of the data.
#[derive(Debug, Default)]
pub(crate) struct RecordBoundaries {
    /// The header bytes of the record being started, when it came in pieces.
    header: [u8; HEADER_LEN],
    /// How many of them have arrived.
    header_have: usize,
    /// Bytes of the current record's body still to come.
    body_left: usize,
}

impl RecordBoundaries {
    /// Takes in received bytes.
    pub(crate) fn track(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let k = self.body_left.min(bytes.len());
                self.body_left -= k;
                bytes = &bytes[k..];
                continue;
            }
            let k = (HEADER_LEN - self.header_have).min(bytes.len());
            self.header[self.header_have..self.header_have + k].copy_from_slice(&bytes[..k]);
            self.header_have += k;
            bytes = &bytes[k..];
            if self.header_have == HEADER_LEN {
                self.body_left = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                self.header_have = 0;
            }
        }
    }

    /// Whether the bytes received so far end inside a record.
    pub(crate) fn inside_record(&self) -> bool {
        self.header_have > 0 || self.body_left > 0
    }
}

#[cfg(test)]
mod tests {
    use super::RecordBoundaries;

    #[test]
    fn follows_records_fed_in_any_pieces() {
        let stream = [
            &[23u8, 3, 3, 0, 3, b'a', b'b', b'c'][..],
            &[23, 3, 3, 0, 1, b'x'],
        ]
        .concat();
        for step in 1..=stream.len() {
            let mut records = RecordBoundaries::default();
            let mut inside = Vec::new();
            for piece in stream.chunks(step) {
                records.track(piece);
                inside.push(records.inside_record());
            }
            assert!(!records.inside_record(), "step {step}");
            if step < 8 {
                assert!(inside.contains(&true), "step {step}");
            }
        }
        let mut records = RecordBoundaries::default();
        records.track(&stream[..9]);
        assert!(records.inside_record());
    }
}
