//! `ttk::ws` re-exports what bots need of tungstenite, not tungstenite itself: its whole API
//! (~60 types) would be ttk's, and a tungstenite upgrade a break of ttk.

const WS: &str = include_str!("../src/ws/mod.rs");

#[test]
fn tungstenite_itself_is_not_reexported() {
    for line in WS.lines() {
        let code = line.trim();
        assert!(
            !(code.starts_with("pub use tungstenite;")
                || code.starts_with("pub use ::tungstenite;")),
            "ws re-exports tungstenite: {line}"
        );
    }
    // What bots use is there by name.
    use ttk_http::ws::{
        CloseCode, CloseFrame, Message, ProtocolError, StatusCode, TungsteniteError,
    };
    let _ = (
        Message::text("hi"),
        CloseCode::Normal,
        std::any::type_name::<(CloseFrame, ProtocolError, StatusCode, TungsteniteError)>(),
    );
}
