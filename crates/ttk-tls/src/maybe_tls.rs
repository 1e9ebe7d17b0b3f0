//! [`MaybeTls`]: a stream that is TLS or not, decided at run time (by a URL's scheme).

use std::io;

use ttk_net::{ByteStream, TcpStream};

use crate::stream::TlsStream;

/// A byte stream that speaks TLS or not, as a URL decided (`https://` or `http://`, `wss://`
/// or `ws://`): one type for both, itself a [`ByteStream`]. The TLS state is boxed, so a plain
/// stream costs no more than the stream itself.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_net::{ByteStream, TcpListener, TcpStream};
/// use ttk_tls::MaybeTls;
///
/// #[bot(crate = ttk_core)]
/// fn plain(_cx: Cx, _id: usize) -> std::io::Result<bool> {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let tcp = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
///     let stream = MaybeTls::Plain(tcp);
///     ttk_core::yield_!(stream.write_all(b"hello"))?;
///     Ok(stream.is_tls())
/// }
///
/// assert_eq!(ttk_core::run(1, plain)[0].as_ref().unwrap(), &false);
/// ```
#[derive(Debug)]
pub enum MaybeTls<S = TcpStream> {
    /// The stream itself.
    Plain(S),
    /// TLS over the stream.
    Tls(Box<TlsStream<S>>),
}

impl<S: ByteStream> MaybeTls<S> {
    /// The stream below any TLS.
    ///
    /// # Examples
    /// ```
    /// # fn f(stream: &ttk_tls::MaybeTls) -> std::io::Result<()> {
    /// stream.get_ref().set_nodelay(true)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_ref(&self) -> &S {
        match self {
            MaybeTls::Plain(stream) => stream,
            MaybeTls::Tls(tls) => tls.get_ref(),
        }
    }

    /// Whether this stream speaks TLS.
    ///
    /// # Examples
    /// See [`MaybeTls`].
    pub fn is_tls(&self) -> bool {
        matches!(self, MaybeTls::Tls(_))
    }

    /// The TLS stream, if this is one.
    ///
    /// # Examples
    /// ```
    /// # fn f(stream: &ttk_tls::MaybeTls) {
    /// if let Some(tls) = stream.tls() {
    ///     println!("resumed: {}", tls.is_resumed());
    /// }
    /// # }
    /// ```
    pub fn tls(&self) -> Option<&TlsStream<S>> {
        match self {
            MaybeTls::Plain(_) => None,
            MaybeTls::Tls(tls) => Some(tls),
        }
    }
}

impl<S: ByteStream> From<TlsStream<S>> for MaybeTls<S> {
    fn from(tls: TlsStream<S>) -> MaybeTls<S> {
        MaybeTls::Tls(Box::new(tls))
    }
}

impl<S: ByteStream> ByteStream for MaybeTls<S> {
    async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(stream) => stream.read(buf).await,
            MaybeTls::Tls(tls) => tls.read(buf).await,
        }
    }

    async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        match self {
            MaybeTls::Plain(stream) => stream.write_all(buf).await,
            MaybeTls::Tls(tls) => tls.write_all(buf).await,
        }
    }

    fn read_ready(&self) -> bool {
        match self {
            MaybeTls::Plain(stream) => stream.read_ready(),
            MaybeTls::Tls(tls) => tls.read_ready(),
        }
    }
}
