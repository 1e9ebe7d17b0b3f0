//! #[bot] keeps names, visibility, generics, arguments, docs and attributes.

use std::fmt::Display;

use ttk::Cx;

/// A documented helper bot with generics and a where clause.
#[ttk::bot]
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn describe<T>(value: T, times: usize) -> String
where
    T: Display,
{
    let mut text = String::new();
    for _ in 0..times {
        ttk::yield_!();
        text.push_str(&value.to_string());
    }
    text
}

#[ttk::bot]
fn borrows(buffer: &mut Vec<u8>, byte: u8) -> usize {
    ttk::yield_!();
    buffer.push(byte);
    buffer.len()
}

#[ttk::bot]
fn no_output(_cx: Cx, _id: usize) {
    ttk::yield_!();
}

#[ttk::bot]
fn opaque(id: usize) -> impl Display {
    ttk::yield_!();
    id
}

#[ttk::bot]
fn braces(_cx: Cx, _id: usize) -> u32 {
    ttk::yield_! {}
    let a = 1;
    ttk::yield_! { ttk::sleep(std::time::Duration::ZERO) }
    a
}

#[ttk::bot]
fn ref_patterns(ref mut text: String, (ref mut word, count): (String, usize)) -> String {
    ttk::yield_!();
    text.push_str(word);
    word.clear();
    format!("{text}{count}")
}

struct Player {
    moves: u32,
}

impl Player {
    #[ttk::bot]
    fn play(&mut self, rounds: u32) -> u32 {
        for _ in 0..rounds {
            self.moves += 1;
            ttk::yield_!();
        }
        self.moves
    }
}

#[ttk::bot]
fn entry(cx: Cx, id: usize) -> String {
    let mut buffer = Vec::new();
    let len = ttk::yield_!(borrows(&mut buffer, id as u8));
    let mut player = Player { moves: 0 };
    let moves = ttk::yield_!(player.play(2));
    let shown = ttk::yield_!(opaque(id));
    // A yield inside another macro's arguments is rewritten too.
    assert_eq!(ttk::yield_!(describe("ab", 2)), "abab");
    format!("{} {len} {moves} {shown} {}", cx.id(), ttk::yield_!(describe(id, 1)))
}

fn main() {
    assert_eq!(ttk::run(2, entry), ["0 1 2 0 0", "1 1 2 1 1"]);
    ttk::run(1, no_output);
    assert_eq!(ttk::run(1, braces), [1]);
    let joined = ttk::run(1, |_cx: Cx, _id| ref_patterns("a".into(), ("b".into(), 2)));
    assert_eq!(joined, ["ab2"]);
}
