//! Handles belong to their bot: a `BotRng` used by another bot fails with a message naming
//! the mistake. (Handles used in another run are the facade's `ownership.rs`.)

use ttk_core::{BotRng, Cx};
use ttk_macros::bot;

/// Bot 0 hands its generator to bot 1 through the world.
#[bot(crate = ttk_core)]
fn lends_its_rng(cx: Cx<(), Option<BotRng>>, id: usize) -> u64 {
    if id == 0 {
        let rng = cx.rng();
        cx.world(|lent| *lent = Some(rng));
        return 0;
    }
    ttk_core::yield_!();
    let rng = cx.world(|lent| lent.expect("bot 0 lent it"));
    rng.next_u64()
}

#[test]
fn a_bots_handle_used_by_another_bot_fails_with_a_clear_message() {
    let outcomes = ttk_core::Runtime::new()
        .world(None)
        .try_run(2, lends_its_rng);
    let error = outcomes[1].as_ref().unwrap_err().to_string();
    assert!(
        error.contains("a BotRng was used by bot 1, not by the bot it belongs to"),
        "{error}"
    );
}
