//! A client's masking of the payloads it sends (RFC 6455 §5.3), applied as a payload is copied
//! to the socket's buffer, a piece at a time.

/// Appends `payload` to `out`, masked with `mask` (if any) as the bytes from `offset` on of the
/// frame's payload (so a payload can be masked in pieces).
pub(crate) fn extend_masked(
    out: &mut Vec<u8>,
    payload: &[u8],
    mask: Option<[u8; 4]>,
    offset: usize,
) {
    let start = out.len();
    out.extend_from_slice(payload);
    let Some(mask) = mask else {
        return;
    };
    // The mask as it lines up with the first byte here.
    let mut mask = mask;
    mask.rotate_left(offset % 4);
    let word = u32::from_ne_bytes(mask);
    let mut words = out[start..].chunks_exact_mut(4);
    for chunk in &mut words {
        let masked = u32::from_ne_bytes(chunk.try_into().expect("4 bytes")) ^ word;
        chunk.copy_from_slice(&masked.to_ne_bytes());
    }
    for (byte, mask) in words.into_remainder().iter_mut().zip(mask) {
        *byte ^= mask;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte `i` XORed with `mask[i % 4]`, the plain definition.
    fn masked(payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        payload
            .iter()
            .enumerate()
            .map(|(i, byte)| byte ^ mask[i % 4])
            .collect()
    }

    #[test]
    fn masking_in_pieces_is_masking_the_whole() {
        let payload: Vec<u8> = (0..103).map(|i| (i * 7) as u8).collect();
        let mask = [0x12, 0x34, 0x56, 0x78];
        for cut in [0, 1, 2, 3, 5, 50, 102, 103] {
            let mut out = vec![0xaa];
            extend_masked(&mut out, &payload[..cut], Some(mask), 0);
            extend_masked(&mut out, &payload[cut..], Some(mask), cut);
            assert_eq!(out[0], 0xaa);
            assert_eq!(out[1..], masked(&payload, mask), "cut at {cut}");
        }
    }

    #[test]
    fn no_mask_copies() {
        let mut out = Vec::new();
        extend_masked(&mut out, b"plain", None, 3);
        assert_eq!(out, b"plain");
    }
}
