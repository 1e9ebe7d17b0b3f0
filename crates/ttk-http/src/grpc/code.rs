//! gRPC status codes: [`Code`].

use std::fmt;

/// A gRPC status code (grpc/grpc `doc/statuscodes.md`). A call that ends with any but
/// [`Code::Ok`] is a failure, counted in reports under the code's name (`UNAVAILABLE`).
///
/// # Examples
/// ```
/// use ttk_http::grpc::Code;
///
/// assert_eq!(Code::from_number(14), Code::Unavailable);
/// assert_eq!(Code::Unavailable.name(), "UNAVAILABLE");
/// assert_eq!(Code::from_number(99), Code::Unknown); // unknown numbers are UNKNOWN
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// 0: not an error.
    Ok,
    /// 1: cancelled, typically by the caller.
    Cancelled,
    /// 2: unknown error.
    Unknown,
    /// 3: the client gave an invalid argument.
    InvalidArgument,
    /// 4: the deadline passed before the call completed.
    DeadlineExceeded,
    /// 5: something requested was not found.
    NotFound,
    /// 6: what the client tried to create exists already.
    AlreadyExists,
    /// 7: the caller may not do this.
    PermissionDenied,
    /// 8: a resource (a quota, space) is exhausted.
    ResourceExhausted,
    /// 9: the system is not in a state the call needs.
    FailedPrecondition,
    /// 10: aborted, typically by a concurrency conflict.
    Aborted,
    /// 11: past the valid range.
    OutOfRange,
    /// 12: not implemented or not supported.
    Unimplemented,
    /// 13: an internal error.
    Internal,
    /// 14: the service is unavailable for now (retrying may help).
    Unavailable,
    /// 15: unrecoverable data loss.
    DataLoss,
    /// 16: no valid credentials.
    Unauthenticated,
}

/// Every code, by number.
const ALL: [Code; 17] = [
    Code::Ok,
    Code::Cancelled,
    Code::Unknown,
    Code::InvalidArgument,
    Code::DeadlineExceeded,
    Code::NotFound,
    Code::AlreadyExists,
    Code::PermissionDenied,
    Code::ResourceExhausted,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::OutOfRange,
    Code::Unimplemented,
    Code::Internal,
    Code::Unavailable,
    Code::DataLoss,
    Code::Unauthenticated,
];

impl Code {
    /// The code numbered `number`; [`Code::Unknown`] for a number gRPC does not define.
    ///
    /// # Examples
    /// See [`Code`].
    pub fn from_number(number: u32) -> Code {
        ALL.get(number as usize).copied().unwrap_or(Code::Unknown)
    }

    /// Its number.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(ttk_http::grpc::Code::DeadlineExceeded.number(), 4);
    /// ```
    pub fn number(self) -> u32 {
        self as u32
    }

    /// Its name as gRPC spells it (`DEADLINE_EXCEEDED`): the failure kind in reports.
    ///
    /// # Examples
    /// See [`Code`].
    pub fn name(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The code a reply without `grpc-status` stands for, from its HTTP status (grpc/grpc
    /// `doc/http-grpc-status-mapping.md`).
    ///
    /// # Examples
    /// ```
    /// use ttk_http::grpc::Code;
    ///
    /// assert_eq!(Code::from_http_status(503), Code::Unavailable);
    /// assert_eq!(Code::from_http_status(404), Code::Unimplemented);
    /// assert_eq!(Code::from_http_status(200), Code::Unknown); // 200 but no grpc-status
    /// ```
    pub fn from_http_status(status: u16) -> Code {
        match status {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502..=504 => Code::Unavailable,
            _ => Code::Unknown,
        }
    }

    /// The I/O error kind a failure with this code carries.
    pub(crate) fn io_kind(self) -> std::io::ErrorKind {
        use std::io::ErrorKind;
        match self {
            Code::DeadlineExceeded => ErrorKind::TimedOut,
            Code::InvalidArgument | Code::OutOfRange => ErrorKind::InvalidInput,
            Code::NotFound => ErrorKind::NotFound,
            Code::AlreadyExists => ErrorKind::AlreadyExists,
            Code::PermissionDenied | Code::Unauthenticated => ErrorKind::PermissionDenied,
            Code::Unimplemented => ErrorKind::Unsupported,
            Code::Unavailable => ErrorKind::ConnectionRefused,
            Code::DataLoss | Code::Internal => ErrorKind::InvalidData,
            // Not `Interrupted` for CANCELLED and ABORTED: std's I/O loops take that for
            // "try again".
            Code::Cancelled
            | Code::Aborted
            | Code::Ok
            | Code::Unknown
            | Code::ResourceExhausted
            | Code::FailedPrecondition => ErrorKind::Other,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_go_both_ways() {
        for (number, code) in ALL.iter().enumerate() {
            assert_eq!(code.number() as usize, number);
            assert_eq!(Code::from_number(number as u32), *code);
        }
        assert_eq!(Code::from_number(17), Code::Unknown);
        assert_eq!(Code::ResourceExhausted.to_string(), "RESOURCE_EXHAUSTED");
    }
}
