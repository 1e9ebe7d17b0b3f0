//! `ttk grpc`: gRPC load without code, like ghz: the .proto is read at run time (protox, no
//! protoc), the request message is given as JSON, and each connection keeps `--streams` calls
//! in flight over HTTP/2.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use prost::Message as _;
use prost_reflect::{DescriptorPool, MethodDescriptor};
use serde_json::Value as Json;
use ttk::http::grpc::Call;

use crate::http_load::{HttpPlan, run_load};
use crate::http_target::HttpTarget;
use crate::load_flags::{LoadFlags, finish_named};
use crate::pace::Pace;
use crate::proto_json;
use crate::tls_flags::TlsFlags;

/// The transaction of each call.
pub(crate) const CALL: &str = "call";

/// What the bots of `ttk grpc` need to know of the call.
#[derive(Debug)]
pub(crate) struct GrpcPlan {
    /// The call.
    pub(crate) call: Call,
    /// Whether a reply has exactly one message (unary and client-streaming methods).
    pub(crate) one_reply: bool,
}

/// `ttk grpc`'s flags.
#[derive(Args, Clone, Debug)]
#[command(
    after_help = "Each connection is a bot that keeps --streams calls in flight on \
    one HTTP/2 connection (h2c for http://, TLS with ALPN h2 for https://), the request \
    message made once from --data. A call whose status is not OK is a failure counted under \
    its code (UNAVAILABLE, DEADLINE_EXCEEDED, …); --timeout is sent as grpc-timeout and kept \
    by the client too. Transactions: `connect`, `tls` (https://), `call`. Exit code 1 if no \
    call succeeded.\n\n\
    Examples:\n  \
    ttk grpc http://127.0.0.1:50051 --proto echo.proto --call ttk.test.Echo/Say \
    --data '{\"name\": \"bob\"}' -c 10 --streams 10 -d 10s\n  \
    ttk grpc https://api.example:443 --proto api.proto -I protos --call pkg.Api/Get \
    --data-file req.json -H 'authorization: Bearer T' --timeout 200ms"
)]
pub(crate) struct GrpcArgs {
    /// http://HOST:PORT (h2c) or https://HOST:PORT (TLS); a bare HOST:PORT is h2c
    /// [ghz's host:port, with --insecure for plaintext]
    #[arg(value_name = "ADDR")]
    addr: String,

    /// The .proto file that defines the service [ghz --proto]
    #[arg(long, value_name = "FILE")]
    proto: PathBuf,

    /// A directory its imports are found in; repeatable (the file's own directory is one)
    /// [ghz -i, protoc -I]
    #[arg(short = 'I', long = "import-path", value_name = "DIR")]
    import_paths: Vec<PathBuf>,

    /// The method: package.Service/Method or package.Service.Method [ghz --call]
    #[arg(long, value_name = "METHOD")]
    call: String,

    /// The request message as JSON (protobuf's JSON mapping); for a client-streaming or
    /// bidirectional method, an array of messages sent in turn [ghz -d]
    #[arg(long, value_name = "JSON", default_value = "{}")]
    data: String,

    /// The request message as JSON, read from a file [ghz -D]
    #[arg(long, value_name = "PATH")]
    data_file: Option<PathBuf>,

    /// Metadata, 'name: value'; repeatable [ghz -m as JSON]
    #[arg(short = 'H', long = "metadata", value_name = "NAME: VALUE", value_parser = parse_metadata)]
    metadata: Vec<(String, String)>,

    /// Calls in flight on each connection (HTTP/2 streams) [ghz -c over --connections]
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    streams: u32,

    #[command(flatten)]
    pub(crate) load: LoadFlags,

    #[command(flatten)]
    tls: TlsFlags,
}

impl GrpcArgs {
    /// Runs the load; the exit code.
    pub(crate) fn run(self) -> u8 {
        match self.prepare() {
            Ok((test, plan)) => finish_named(run_load(test, plan), CALL),
            Err(code) => code,
        }
    }

    /// The harness run and the plan; `Err` is the exit code (the message printed).
    fn prepare(mut self) -> Result<(ttk::cli::LoadTest, Arc<HttpPlan>), u8> {
        let fail = |message: String| {
            eprintln!("error: {message}");
            2
        };
        let url = if self.addr.contains("://") {
            self.addr.clone()
        } else {
            format!("http://{}", self.addr)
        };
        let target: HttpTarget = url.parse().map_err(fail)?;
        let method = find_method(&self.proto, &self.import_paths, &self.call).map_err(fail)?;
        let data = match &self.data_file {
            Some(path) => std::fs::read_to_string(path).map_err(|error| {
                fail(format!(
                    "cannot read the data file {}: {error}",
                    path.display()
                ))
            })?,
            None => self.data.clone(),
        };
        let messages = request_messages(&method, &data).map_err(fail)?;
        let mut call = Call::new(method.full_name()).map_err(|error| fail(error.to_string()))?;
        for message in &messages {
            call = call.raw_message(message);
        }
        for (name, value) in &self.metadata {
            call = call.metadata(name.clone(), value.clone());
        }
        if let Some(limit) = self.load.timeout {
            call = call.deadline(limit);
        }
        let tls = if target.tls {
            Some(self.tls.connector(&["h2"], self.load.timeout)?)
        } else {
            if self.tls.any_given() {
                eprintln!("warning: the TLS flags do nothing for an http:// address");
            }
            None
        };
        let redacted = crate::redact::redact_url(&url);
        self.load.choose_sources(target.host());
        let test = self.load.load_test("ttk grpc", &redacted, 1)?;
        let pace = self
            .load
            .rate()
            .cloned()
            .map(|rate| Pace::new(rate, self.load.connections, self.load.load_duration()));
        let grpc = GrpcPlan {
            call,
            one_reply: !method.is_server_streaming(),
        };
        let plan = HttpPlan::grpc(target, tls, grpc, self.load, pace, self.streams as usize);
        Ok((test, Arc::new(plan)))
    }
}

/// The method `call` (`pkg.Service/Method` or `pkg.Service.Method`) of the .proto file `proto`,
/// compiled with its imports from `import_paths` and its own directory.
fn find_method(
    proto: &Path,
    import_paths: &[PathBuf],
    call: &str,
) -> Result<MethodDescriptor, String> {
    let pool = compile(proto, import_paths)?;
    let call = call.trim().trim_start_matches('/');
    let (service, method) = call
        .split_once('/')
        .or_else(|| call.rsplit_once('.'))
        .ok_or_else(|| format!("`{call}`: write package.Service/Method"))?;
    let service_descriptor = pool.get_service_by_name(service).ok_or_else(|| {
        let services: Vec<_> = pool.services().map(|s| s.full_name().to_owned()).collect();
        format!(
            "{} has no service `{service}` (it has: {})",
            proto.display(),
            services.join(", ")
        )
    })?;
    service_descriptor
        .methods()
        .find(|candidate| candidate.name() == method)
        .ok_or_else(|| {
            let methods: Vec<_> = service_descriptor
                .methods()
                .map(|m| m.name().to_owned())
                .collect();
            format!(
                "service `{service}` has no method `{method}` (it has: {})",
                methods.join(", ")
            )
        })
}

/// The descriptors of `proto` and its imports.
fn compile(proto: &Path, import_paths: &[PathBuf]) -> Result<DescriptorPool, String> {
    let own_dir = proto
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The -I directories first, the file's own last: an import is found where the user said.
    let mut includes: Vec<PathBuf> = import_paths.to_vec();
    includes.push(own_dir.to_path_buf());
    let mut compiler = protox::Compiler::new(&includes)
        .map_err(|error| format!("cannot read .proto files from {includes:?}: {error}"))?;
    compiler.include_imports(true);
    compiler.open_file(proto).map_err(|error| {
        // The file the error is in: an import's, perhaps.
        let file = error
            .file()
            .map_or_else(|| proto.display().to_string(), str::to_owned);
        format!("{file}{}: {error}", where_in(&error))
    })?;
    Ok(compiler.descriptor_pool())
}

/// Where in its file `error` is, as `:line:column` (from 1), when it says (a syntax error).
fn where_in(error: &protox::Error) -> String {
    use miette::Diagnostic;
    let (Some(source), Some(label)) = (
        error.source_code(),
        error.labels().and_then(|mut l| l.next()),
    ) else {
        return String::new();
    };
    match source.read_span(label.inner(), 0, 0) {
        Ok(span) => format!(":{}:{}", span.line() + 1, span.column() + 1),
        Err(_) => String::new(),
    }
}

/// The request messages, encoded, from `data`: one object, or (for a client-streaming method)
/// an array of them.
fn request_messages(method: &MethodDescriptor, data: &str) -> Result<Vec<Vec<u8>>, String> {
    let json: Json =
        serde_json::from_str(data).map_err(|error| format!("--data is not JSON: {error}"))?;
    let input = method.input();
    let items = match json {
        Json::Array(items) if method.is_client_streaming() => items,
        Json::Array(_) => {
            return Err(format!(
                "{} takes one message: give --data one JSON object",
                method.full_name()
            ));
        }
        object => vec![object],
    };
    items
        .iter()
        .map(|item| proto_json::message(&input, item).map(|message| message.encode_to_vec()))
        .collect()
}

/// Metadata, `name: value`: the name a header name in lower case, the value on one line.
fn parse_metadata(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once(':') else {
        return Err(format!("`{text}` has no `:`; write 'name: value'"));
    };
    let name = name.trim().to_ascii_lowercase();
    let value = value.trim();
    let allowed =
        |byte: u8| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"-_.".contains(&byte);
    if name.is_empty() || !name.bytes().all(allowed) {
        return Err(format!(
            "`{name}` is not a metadata name (lower case letters, digits, - _ .)"
        ));
    }
    if name.starts_with("grpc-") || RESERVED.contains(&name.as_str()) {
        return Err(format!(
            "`{name}` is set by ttk grpc itself (--timeout is grpc-timeout), not metadata"
        ));
    }
    if name.ends_with("-bin") {
        let engine = &base64::engine::general_purpose::STANDARD_NO_PAD;
        if base64::Engine::decode(engine, value.trim_end_matches('=')).is_err() {
            return Err(format!("`{name}` is binary metadata: its value is base64"));
        }
    } else if !value.bytes().all(|byte| (0x20..0x7f).contains(&byte)) {
        return Err(format!(
            "the value of `{name}` is not printable ASCII (binary metadata's name ends in -bin)"
        ));
    }
    Ok((name, value.to_owned()))
}

/// Headers ttk grpc sets, or HTTP/2 forbids: not metadata.
const RESERVED: [&str; 9] = [
    "content-type",
    "te",
    "user-agent",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A syntax error is named with its line and column, as a compiler names it.
    #[test]
    fn a_proto_syntax_error_says_where() {
        let dir = std::env::temp_dir().join(format!("ttk-proto-syntax-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let proto = dir.join("bad.proto");
        std::fs::write(
            &proto,
            "syntax = \"proto3\";\npackage p;\nmessage A {\n  int32 x = 1\n}\n",
        )
        .unwrap();
        let error = compile(&proto, &[]).unwrap_err();
        assert!(
            error.ends_with("bad.proto:5:1: expected ';' or '[', but found '}'"),
            "{error}"
        );
        // In a file it imports: that file is named.
        let main = dir.join("main.proto");
        std::fs::write(
            &main,
            "syntax = \"proto3\";\nimport \"bad.proto\";\npackage m;\n",
        )
        .unwrap();
        let error = compile(&main, &[]).unwrap_err();
        assert!(error.starts_with("bad.proto:5:1: "), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn metadata_is_checked() {
        assert_eq!(
            parse_metadata("X-Player: 42"),
            Ok(("x-player".into(), "42".into()))
        );
        assert!(parse_metadata("grpc-timeout: 1S").is_err(), "reserved");
        assert!(parse_metadata("content-type: x").is_err(), "reserved");
        assert!(parse_metadata("x-name: h\u{e9}").is_err(), "not ASCII");
        assert!(parse_metadata("x-key-bin: AQID").is_ok());
        assert!(parse_metadata("x-key-bin: not base64!").is_err());
        assert!(parse_metadata("no colon").unwrap_err().contains("no `:`"));
    }
}
