//! What the QUIC tests share.

pub(crate) mod aioquic;
