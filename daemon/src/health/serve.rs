//! `[metrics] listen`: a minimal HTTP/1.1 responder for `GET /metrics` on tokio's
//! `TcpListener`. One request per connection (`Connection: close`), the request head bounded in
//! size and in time, a few connections at once; anything else is answered with an error status,
//! never a crash. No HTTP framework: this is the whole protocol perceptd speaks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::exposition::{CONTENT_TYPE, encode};
use crate::shutdown::Shutdown;

/// Largest request head (request line and headers) read; a longer one gets 431.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Longest a client may take to send its request head and read the answer; then it is dropped.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed at once (a scraper needs one).
pub const MAX_CONNECTIONS: usize = 8;

/// The running `/metrics` server.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// Binds `addr` and serves `registry` there until `shutdown`.
    pub async fn start(
        addr: SocketAddr,
        registry: Registry,
        shutdown: Shutdown,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let registry = Arc::new(registry);
        let task = tokio::spawn(accept_loop(listener, registry, shutdown));
        Ok(Self { addr, task })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting (connections being served are dropped).
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, registry: Arc<Registry>, shutdown: Shutdown) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors and the like: pause instead of spinning.
                tracing::debug!(error = %e, "metrics: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue; // dropped: closed at once
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, serve(stream, &registry)).await;
        });
    }
}

/// Reads one request head and answers it.
async fn serve(mut stream: TcpStream, registry: &Registry) -> std::io::Result<()> {
    let head = read_head(&mut stream).await?;
    let response = match head {
        Head::Complete(head) => respond(&head, registry),
        Head::TooLarge => plain(
            431,
            "Request Header Fields Too Large",
            "request head too large\n",
        ),
        Head::Closed => return Ok(()),
    };
    stream.write_all(&response).await?;
    stream.shutdown().await
}

enum Head {
    Complete(Vec<u8>),
    TooLarge,
    Closed,
}

/// Reads until the blank line that ends the request head, at most [`MAX_REQUEST_BYTES`].
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Head> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(Head::Closed);
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = find_end_of_head(&head) {
            head.truncate(end);
            return Ok(Head::Complete(head));
        }
        if head.len() > MAX_REQUEST_BYTES {
            return Ok(Head::TooLarge);
        }
    }
}

fn find_end_of_head(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| {
        // Tolerate bare LF line ends (netcat, hand-typed requests).
        bytes.windows(2).position(|w| w == b"\n\n")
    })
}

/// The answer to one request head.
fn respond(head: &[u8], registry: &Registry) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return plain(400, "Bad Request", "malformed request line\n");
    };
    if !version.starts_with("HTTP/1.") {
        return plain(400, "Bad Request", "only HTTP/1.x is spoken here\n");
    }
    let path = target.split('?').next().unwrap_or_default();
    if path != "/metrics" {
        return plain(404, "Not Found", "not found; metrics are at /metrics\n");
    }
    match method {
        "GET" => response(200, "OK", CONTENT_TYPE, encode(registry).as_bytes(), true),
        "HEAD" => response(200, "OK", CONTENT_TYPE, encode(registry).as_bytes(), false),
        _ => plain(405, "Method Not Allowed", "only GET /metrics\n"),
    }
}

fn plain(status: u16, reason: &str, body: &str) -> Vec<u8> {
    response(
        status,
        reason,
        "text/plain; charset=utf-8",
        body.as_bytes(),
        true,
    )
}

fn response(
    status: u16,
    reason: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n",
        body.len(),
        if status == 405 { "Allow: GET, HEAD\r\n" } else { "" }
    )
    .into_bytes();
    if with_body {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(request: &str) -> String {
        String::from_utf8(respond(request.as_bytes(), &Registry::default())).unwrap()
    }

    #[test]
    fn get_metrics_is_200_with_the_prometheus_type_and_everything_else_an_error() {
        let ok = answer("GET /metrics HTTP/1.1\r\nHost: x");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(
            ok.contains("Content-Type: text/plain; version=0.0.4"),
            "{ok}"
        );
        assert!(ok.contains("Connection: close\r\n"), "{ok}");
        assert!(answer("GET /metrics?x=1 HTTP/1.0").starts_with("HTTP/1.1 200"));
        assert!(answer("GET / HTTP/1.1").starts_with("HTTP/1.1 404"));
        let post = answer("POST /metrics HTTP/1.1");
        assert!(
            post.starts_with("HTTP/1.1 405") && post.contains("Allow: GET"),
            "{post}"
        );
        assert!(answer("GET /metrics").starts_with("HTTP/1.1 400"));
        assert!(answer("\u{0}\u{1}").starts_with("HTTP/1.1 400"));
        assert!(answer("GET /metrics SPDY/3").starts_with("HTTP/1.1 400"));
        let head = answer("HEAD /metrics HTTP/1.1");
        assert!(head.ends_with("\r\n\r\n"), "no body: {head}");
    }

    #[tokio::test]
    async fn a_silent_client_is_dropped_and_a_huge_head_refused() {
        let server = MetricsServer::start(
            "127.0.0.1:0".parse().unwrap(),
            Registry::default(),
            Shutdown::new(),
        )
        .await
        .unwrap();
        let addr = server.local_addr();
        let mut huge = TcpStream::connect(addr).await.unwrap();
        huge.write_all(&vec![b'a'; MAX_REQUEST_BYTES + 1])
            .await
            .unwrap();
        let mut reply = String::new();
        let _ = huge.read_to_string(&mut reply).await;
        assert!(reply.starts_with("HTTP/1.1 431"), "{reply}");
        // A client that sends nothing is closed after CONNECTION_TIMEOUT.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(60), idle.read_to_end(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
        server.stop();
    }
}
