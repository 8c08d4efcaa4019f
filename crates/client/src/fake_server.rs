//! A one-request HTTP server for the client's tests: records what it was sent, answers a canned reply.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

/// The request the server got: its head (request line and headers) and its body.
pub struct Recorded {
    pub head: String,
    pub body: Vec<u8>,
}

/// Listens on a loopback port and answers the first request with `status` (`"200 OK"`) and `body`,
/// then closes. Returns the server's URL and the handle that yields the request.
pub fn serve_once(status: &str, content_type: &str, body: &str) -> (String, JoinHandle<Recorded>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let reply = format!("HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\nconnection: close\r\n\r\n{body}");
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let length = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        stream.write_all(reply.as_bytes()).unwrap();
        Recorded { head, body }
    });
    (url, handle)
}
