//! Just enough IRC (RFC 1459 / 2812) for a chatter: a message parsed from a line, and a
//! connection that answers the server's PINGs whenever it reads.

use std::io;

use ttk::Cx;
use ttk::net::{FrameFormat, Framed, TcpStream};

/// One message from the server: `[:prefix] COMMAND params… [:trailing]`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Message {
    /// Who sent it (`nick!user@host`, or the server's name); empty if the line had none.
    pub(crate) prefix: String,
    /// The command or the three-digit numeric reply.
    pub(crate) command: String,
    /// Its parameters, the trailing one (after ` :`) last and whole.
    pub(crate) params: Vec<String>,
}

impl Message {
    /// Parses `line` (without its CRLF); `None` for a line with no command.
    pub(crate) fn parse(line: &str) -> Option<Message> {
        let (prefix, rest) = match line.strip_prefix(':') {
            Some(rest) => rest.split_once(' ')?,
            None => ("", line),
        };
        let (middle, trailing) = match rest.split_once(" :") {
            Some((middle, trailing)) => (middle, Some(trailing)),
            None => (rest, None),
        };
        let mut words = middle.split(' ').filter(|word| !word.is_empty());
        let command = words.next()?.to_owned();
        let params = words
            .map(str::to_owned)
            .chain(trailing.map(str::to_owned))
            .collect();
        Some(Message {
            prefix: prefix.to_owned(),
            command,
            params,
        })
    }

    /// The nick of the prefix `nick!user@host`.
    pub(crate) fn nick(&self) -> &str {
        self.prefix.split('!').next().unwrap_or_default()
    }
}

/// A client's connection to an IRC server, lines ending in CRLF.
pub(crate) struct Irc {
    framed: Framed<TcpStream>,
}

impl Irc {
    /// Over `stream`, connected.
    pub(crate) fn new(stream: TcpStream) -> Irc {
        Irc {
            framed: Framed::new(stream, FrameFormat::crlf_lines()),
        }
    }

    /// Sends `line` (a CRLF is added).
    pub(crate) async fn send(&mut self, line: &str) -> io::Result<()> {
        self.framed.write_frame(line.as_bytes()).await
    }

    /// The next message other than PING, which it answers with a PONG (counted as `pongs`: a
    /// server drops a client that stays silent past its ping timeout); `UnexpectedEof` if the
    /// server closed.
    pub(crate) async fn next<M: 'static, W: 'static>(
        &mut self,
        cx: &Cx<M, W>,
    ) -> io::Result<Message> {
        loop {
            let Some(line) = self.framed.read_frame().await? else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the IRC server closed the connection",
                ));
            };
            let line = String::from_utf8_lossy(line).into_owned();
            let Some(message) = Message::parse(&line) else {
                continue;
            };
            if message.command == "PING" {
                let token = message.params.first().map_or("", String::as_str);
                self.send(&format!("PONG :{token}")).await?;
                cx.count("pongs", 1);
                continue;
            }
            // The server ends a connection it drops with ERROR: its reason is the failure.
            if message.command == "ERROR" {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    format!("the IRC server ended the connection: {line}"),
                ));
            }
            return Ok(message);
        }
    }

    /// Sends QUIT and reads until the server closes (what comes meanwhile, a PING included,
    /// goes unanswered: the server is ending the connection): its counts of this client are
    /// final then.
    pub(crate) async fn quit(mut self) -> io::Result<()> {
        self.send("QUIT :done").await?;
        // The server's goodbye is an ERROR line, then the close.
        while self.framed.read_frame().await?.is_some() {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_params_and_trailing_parameters_parse() {
        let message =
            Message::parse(":ttk1!~ttk1@127.0.0.1 PRIVMSG #room-0 :round 3 from ttk1").unwrap();
        assert_eq!(message.nick(), "ttk1");
        assert_eq!(message.command, "PRIVMSG");
        assert_eq!(message.params, ["#room-0", "round 3 from ttk1"]);
        let ping = Message::parse("PING :irc.ttk.test").unwrap();
        assert_eq!(
            (ping.prefix.as_str(), ping.params.as_slice()),
            ("", &["irc.ttk.test".to_owned()][..])
        );
        let names = Message::parse(":irc.ttk.test 366 ttk0 #room-0 :End of NAMES list").unwrap();
        assert_eq!(names.command, "366");
        assert_eq!(names.params[1], "#room-0");
        assert_eq!(Message::parse(":only-a-prefix"), None);
        assert_eq!(Message::parse(""), None);
        // An empty trailing parameter, spaces repeated or left at the end, a ` :` inside the
        // trailing text, a PING without a token.
        let empty = Message::parse(":a!b@c PRIVMSG #r :").unwrap();
        assert_eq!(empty.params, ["#r", ""]);
        let spaced = Message::parse(":srv  353 me  =  #r :a b :c ").unwrap();
        assert_eq!(spaced.params, ["me", "=", "#r", "a b :c "]);
        let trailing_spaces = Message::parse("JOIN #r  ").unwrap();
        assert_eq!(trailing_spaces.params, ["#r"]);
        let bare = Message::parse("PING").unwrap();
        assert_eq!((bare.command.as_str(), bare.params.len()), ("PING", 0));
    }
}
