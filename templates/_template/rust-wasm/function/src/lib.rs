/// Answers one request: req is the body, the result (a String or a
/// Vec<u8>) is the response. It runs in a WebAssembly sandbox: no network,
/// read-only files (its own under /home/app, secrets under
/// /var/openfaas/secrets), the request's headers in Http_* variables
/// (std::env::var("Http_Path")); what it prints to stderr (eprintln!)
/// goes to the logs.
pub fn handle(req: &[u8]) -> String {
    format!(
        "Hello from Ferry (rust-wasm), you said: {}",
        String::from_utf8_lossy(req)
    )
}
