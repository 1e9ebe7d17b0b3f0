//! Nothing here: the check is `tests/bots.rs`, compiled as edition 2021.
