//! Goose's row of `cargo xtask peers`: every user GETs one path again and again with no wait
//! time, on a tokio runtime of one worker thread (the other clients get one thread each).
//! Goose reads its own flags (`--host`, `--users`, `--increase-rate`,
//! `--run-time`, `--report-file`); the path comes from `GOOSE_PEER_PATH` (default `/`).

use std::sync::OnceLock;

use goose::prelude::*;

/// The environment variable that names the path every request GETs.
const PATH_VARIABLE: &str = "GOOSE_PEER_PATH";

/// One GET of the bench's path. Goose counts a response that is not a success (2xx) as a
/// failure on its own.
async fn get_path(user: &mut GooseUser) -> TransactionResult {
    static PATH: OnceLock<String> = OnceLock::new();
    let path = PATH.get_or_init(|| std::env::var(PATH_VARIABLE).unwrap_or_else(|_| "/".to_owned()));
    let _response = user.get(path).await?;
    Ok(())
}

fn main() -> Result<(), GooseError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(GooseError::Io)?;
    runtime.block_on(async {
        GooseAttack::initialize()?
            .register_scenario(scenario!("Peer").register_transaction(transaction!(get_path)))
            .execute()
            .await?;
        Ok(())
    })
}
