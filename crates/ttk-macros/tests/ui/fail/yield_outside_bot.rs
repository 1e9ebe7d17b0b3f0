fn not_a_bot() {
    ttk::yield_!();
}

fn main() {
    not_a_bot();
}
