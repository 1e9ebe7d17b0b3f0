//! The few fields of an X.509 certificate that the pinned fallback checks itself — the
//! validity period, the subject's common name, whether it has subject alternative names —
//! read from the DER with a reader that never panics and gives up on anything unexpected.
//!
//! (x509-parser would read them too, but brings a second version of syn into the build.)

/// A DER tag.
const SEQUENCE: u8 = 0x30;
/// A DER tag.
const SET: u8 = 0x31;
/// A DER tag.
const OID: u8 = 0x06;
/// A DER tag: the optional explicit version of a TBSCertificate.
const VERSION: u8 = 0xa0;
/// A DER tag: the extensions of a TBSCertificate.
const EXTENSIONS: u8 = 0xa3;
/// A DER tag.
const UTC_TIME: u8 = 0x17;
/// A DER tag.
const GENERALIZED_TIME: u8 = 0x18;
/// The OID 2.5.4.3 (id-at-commonName), its content octets.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// The OID 2.5.29.17 (id-ce-subjectAltName), its content octets.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// What the fallback checks of a certificate.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fields<'a> {
    /// Not valid before, in seconds since the Unix epoch.
    pub(crate) not_before: i64,
    /// Not valid after, in seconds since the Unix epoch.
    pub(crate) not_after: i64,
    /// The subject's common name, if it has one.
    pub(crate) common_name: Option<&'a [u8]>,
    /// Whether the certificate has a subject alternative name extension.
    pub(crate) has_alt_names: bool,
}

/// One tag-length-value: the tag, the value, and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |len, &byte| (len << 8) | usize::from(byte));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The value of a TLV that must have `tag`, and what follows.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, value, rest) = tlv(input)?;
    (found == tag).then_some((value, rest))
}

/// Reads the fields of the DER certificate `der`.
pub(crate) fn fields(der: &[u8]) -> Option<Fields<'_>> {
    let (certificate, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(certificate, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = tlv(rest)?.2;
    }
    let (_serial, _, rest) = tlv(rest)?;
    let (_, rest) = expect(rest, SEQUENCE)?; // the signature algorithm
    let (_, rest) = expect(rest, SEQUENCE)?; // the issuer
    let (validity, rest) = expect(rest, SEQUENCE)?;
    let (subject, rest) = expect(rest, SEQUENCE)?;
    let (not_before, after) = time(validity)?;
    let (not_after, _) = time(after)?;
    let (_, mut rest) = expect(rest, SEQUENCE)?; // the public key
    let mut has_alt_names = false;
    while let Some((tag, value, next)) = tlv(rest) {
        if tag == EXTENSIONS {
            has_alt_names = has_extension(value, SUBJECT_ALT_NAME)?;
        }
        rest = next;
    }
    Some(Fields {
        not_before,
        not_after,
        common_name: common_name(subject),
        has_alt_names,
    })
}

/// Whether the extensions (`[3] EXPLICIT SEQUENCE OF Extension`) hold one with `oid`.
fn has_extension(explicit: &[u8], oid: &[u8]) -> Option<bool> {
    let (mut extensions, _) = expect(explicit, SEQUENCE)?;
    while !extensions.is_empty() {
        let (extension, next) = expect(extensions, SEQUENCE)?;
        let (id, _) = expect(extension, OID)?;
        if id == oid {
            return Some(true);
        }
        extensions = next;
    }
    Some(false)
}

/// The last common name of a Name (`SEQUENCE OF SET OF AttributeTypeAndValue`).
fn common_name(mut name: &[u8]) -> Option<&[u8]> {
    let mut found = None;
    while let Some((SET, mut set, next)) = tlv(name) {
        while let Some((SEQUENCE, attribute, after)) = tlv(set) {
            if let Some((id, value)) = expect(attribute, OID)
                && id == COMMON_NAME
            {
                found = tlv(value).map(|(_, text, _)| text);
            }
            set = after;
        }
        name = next;
    }
    found
}

/// A UTCTime or GeneralizedTime, in seconds since the Unix epoch, and what follows it.
fn time(input: &[u8]) -> Option<(i64, &[u8])> {
    let (tag, value, rest) = tlv(input)?;
    let digits = value.strip_suffix(b"Z")?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // ASCII digits only from here, so slicing the text cannot split a character.
    let digits = std::str::from_utf8(digits).ok()?;
    let (year, rest_of) = match tag {
        UTC_TIME if digits.len() == 12 => {
            let yy: i64 = digits[..2].parse().ok()?;
            // RFC 5280: 50–99 are 19xx, 00–49 are 20xx.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        GENERALIZED_TIME if digits.len() == 14 => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let field = |at: usize| -> Option<i64> { rest_of.get(at..at + 2)?.parse().ok() };
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3_600 + minute * 60 + second, rest))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 12, 5), 20_792);
        let utc = [
            UTC_TIME, 13, b'2', b'6', b'1', b'2', b'0', b'5', b'1', b'0', b'0', b'0', b'0', b'0',
            b'Z',
        ];
        assert_eq!(time(&utc).unwrap().0, 20_792 * 86_400 + 10 * 3_600);
    }

    #[test]
    fn a_real_certificate_reads_as_it_was_made() {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;

        let pki = crate::TestPki::new().unwrap();
        let made = pki.expired_server_certificate(&["LocalHost"]).unwrap();
        let der = CertificateDer::from_pem_slice(made.chain_pem().as_bytes()).unwrap();
        let fields = fields(&der).unwrap();
        // 2000-01-01 to 2001-01-01 (GeneralizedTime or UTCTime, whichever rcgen wrote).
        assert_eq!(fields.not_before, 946_684_800);
        assert_eq!(fields.not_after, 978_307_200);
        assert_eq!(fields.common_name, Some(&b"LocalHost"[..]));
        assert!(fields.has_alt_names);
        let generalized = [
            GENERALIZED_TIME,
            15,
            b'2',
            b'0',
            b'5',
            b'0',
            b'0',
            b'1',
            b'0',
            b'1',
            b'0',
            b'0',
            b'0',
            b'0',
            b'0',
            b'0',
            b'Z',
        ];
        assert_eq!(time(&generalized).unwrap().0, 2_524_608_000);
        let not_ascii = [
            UTC_TIME, 13, 0xc3, 0xa9, b'1', b'2', b'0', b'5', b'1', b'0', b'0', b'0', b'0', b'0',
            b'Z',
        ];
        assert_eq!(time(&not_ascii), None);
    }

    #[test]
    fn garbage_reads_as_nothing() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 5, 0x30, 3, 1],
        ] {
            assert_eq!(fields(bad), None);
        }
    }
}
