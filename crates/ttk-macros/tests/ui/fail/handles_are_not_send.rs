// A context finds its loop through a thread-local: it must not leave its thread.
use ttk_core::Cx;

fn require_send<T: Send>(_: T) {}

#[ttk_macros::bot(crate = ttk_core)]
fn bot(cx: Cx, _id: usize) {
    require_send(cx.rng());
    require_send(cx);
}

fn main() {
    ttk_core::run(1, bot);
}
