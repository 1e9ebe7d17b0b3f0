//! `--local-ips`: the source addresses connections leave from, in turn (the pool itself is
//! `ttk::net::SourcePool`).

pub(crate) use ttk::net::SourcePool as Sources;

/// Connections each loopback source carries when ttk spreads a large run itself. Linux hands
/// a connect the even ports of the range first (14,116 of the default 28,232); past them it
/// searches the whole range for every connect, and a loop connecting thousands stalls for
/// seconds (measured: 1.7 s at 14,000 connections from one address, none from two).
pub(crate) const PER_LOOPBACK_SOURCE: u32 = 10_000;
