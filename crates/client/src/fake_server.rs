//! A small HTTP server for the client's tests: records what it was sent, answers canned replies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;

/// The request the server got: its head (request line and headers) and its body.
pub struct Recorded {
    pub head: String,
    pub body: Vec<u8>,
}

/// Listens on a loopback port and answers the first request with `status` (`"200 OK"`) and `body`,
/// then closes. Returns the server's URL and the handle that yields the request.
pub fn serve_once(status: &str, content_type: &str, body: &str) -> (String, JoinHandle<Recorded>) {
    let reply = format!("HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\nconnection: close\r\n\r\n{body}");
    let (url, handle) = serve(1, move |_| reply.clone());
    (url, std::thread::spawn(move || handle.join().unwrap().pop().unwrap()))
}

/// Answers `count` requests, one connection each, with the whole reply `answer` makes from the request
/// line (e.g. `GET /v1/actions/a HTTP/1.1`); the handle yields the requests.
pub fn serve(count: usize, answer: impl Fn(&str) -> String + Send + 'static) -> (String, JoinHandle<Vec<Recorded>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        (0..count)
            .map(|_| {
                let (mut stream, _) = listener.accept().unwrap();
                let recorded = read_request(&stream);
                let reply = answer(recorded.head.lines().next().unwrap_or_default());
                stream.write_all(reply.as_bytes()).unwrap();
                recorded
            })
            .collect()
    });
    (url, handle)
}

/// A JSON reply that closes the connection, so the client opens a new one for its next request.
pub fn json_reply(status: &str, body: &str) -> String {
    format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
}

fn read_request(stream: &TcpStream) -> Recorded {
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
    Recorded { head, body }
}
