//! The errors this crate makes: `io::Error`s of the kinds std uses, with a message that says
//! what was wrong.

use std::fmt::Display;
use std::io;

/// An `InvalidData` error: the server sent something that is not a valid response, or one over
/// a limit.
pub(crate) fn invalid(message: impl Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

/// An `UnexpectedEof` error: the server closed the connection in the middle of a response.
pub(crate) fn closed_early(message: impl Display) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, message.to_string())
}
