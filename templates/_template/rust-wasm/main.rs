//! Ferry's rust-wasm shim, built for wasm32-wasip1 as a WASI command: the
//! wasm runtime runs each request in a fresh instance of it, with the body
//! on stdin and the request's headers in Http_* variables; what
//! handler::handle returns is written to stdout as the response.

use std::io::{self, Read, Write};

fn main() {
    let mut body = Vec::new();
    if let Err(e) = io::stdin().read_to_end(&mut body) {
        eprintln!("handler: reading stdin: {}", e);
        std::process::exit(1);
    }
    let reply = handler::handle(&body);
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(reply.as_ref()).and_then(|_| out.flush()) {
        eprintln!("handler: writing stdout: {}", e);
        std::process::exit(1);
    }
}
