#[ttk::bot]
struct Player;

fn main() {}
