//! Event endpoints: the event log as a list, and as a stream of server-sent events.

use crate::{Call, Client, ClientError};
use flotilla_api::{EVENT_STREAM_NAME, Event, EventFilter, EventList, EventStreamQuery, ListQuery};
use futures::stream::{self, BoxStream, StreamExt};

/// Events as they happen, until the server ends the stream or the connection fails.
pub type EventStream = BoxStream<'static, Result<Event, ClientError>>;

impl Client {
    /// Events in time order (`sort=created_at:desc` for the newest first).
    pub async fn list_events(&self, query: &ListQuery, filter: &EventFilter) -> Result<EventList, ClientError> {
        self.send(Call::list(&["events"], query, filter)).await
    }

    /// Events matching `filter` from now on, or after the event `options.after`.
    pub async fn stream_events(&self, filter: &EventFilter, options: &EventStreamQuery) -> Result<EventStream, ClientError> {
        let path = ["events", "stream"];
        let call = Call::get(&path).query(filter).query(options).timeout(None);
        let url = self.endpoint(call.path).to_string();
        let response = self.answer(&url, self.request(&call)).await?;
        let chunks = response.bytes_stream();
        let events = chunks
            .scan(SseParser::default(), move |parser, chunk| {
                let items: Vec<Result<Event, ClientError>> = match chunk {
                    Ok(bytes) => parser
                        .push(&bytes)
                        .into_iter()
                        .map(|data| {
                            serde_json::from_str(&data).map_err(|e| ClientError::Decode {
                                url: url.clone(),
                                status: 200,
                                reason: e.to_string(),
                            })
                        })
                        .collect(),
                    Err(error) => vec![Err(ClientError::Transport { url: url.clone(), error })],
                };
                futures::future::ready(Some(stream::iter(items)))
            })
            .flatten();
        Ok(events.boxed())
    }
}

/// Splits a `text/event-stream` into the data of its `flotilla` messages; comments, other fields
/// and other message types are skipped.
#[derive(Debug, Default)]
struct SseParser {
    /// Bytes of a line not ended yet.
    partial: Vec<u8>,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    /// Takes the next bytes; answers the data of every message they complete.
    fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.partial.extend_from_slice(bytes);
        let mut done = Vec::new();
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                let event = std::mem::take(&mut self.event);
                let data = std::mem::take(&mut self.data);
                if !data.is_empty() && (event.is_empty() || event == EVENT_STREAM_NAME) {
                    done.push(data.join("\n"));
                }
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => self.event = value.to_owned(),
                "data" => self.data.push(value.to_owned()),
                _ => {}
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    #[test]
    fn messages_are_split_whatever_the_chunks() {
        let text = ": keep-alive\n\nevent: flotilla\nid: 1\ndata: {\"a\":1}\n\r\nevent: other\ndata: x\n\ndata: line1\ndata: line2\n\n";
        let whole = SseParser::default().push(text.as_bytes());
        assert_eq!(whole, ["{\"a\":1}", "line1\nline2"]);
        let mut parser = SseParser::default();
        let bytewise: Vec<String> = text.as_bytes().chunks(3).flat_map(|chunk| parser.push(chunk)).collect();
        assert_eq!(bytewise, whole);
    }

    #[tokio::test]
    async fn a_stream_yields_events() {
        let event = r#"{"id":"0192f0c0-0000-7000-8000-000000000001","timestamp":"2025-01-01T00:00:00Z","level":"INFO","project_id":null,
"user_id":null,"object_type":"host","object_id":"0192f0c0-0000-7000-8000-000000000002","object_name":"h1","action":"HOST_JOIN",
"status":"UP","reason":"joined","metadata":{}}"#
            .replace('\n', "");
        let body = format!(": hi\n\nevent: flotilla\nid: 1\ndata: {event}\n\n");
        let (url, server) = crate::fake_server::serve_once("200 OK", "text/event-stream", &body);
        let client = Client::new(&url).unwrap();
        let filter = EventFilter { object_type: Some("host".into()), ..EventFilter::default() };
        let options = EventStreamQuery { after: Some("0192".into()), all_projects: Some(true) };
        let events: Vec<Event> = client.stream_events(&filter, &options).await.unwrap().try_collect().await.unwrap();
        assert_eq!((events.len(), events[0].action.as_str(), events[0].object_name.as_str()), (1, "HOST_JOIN", "h1"));
        let head = server.join().unwrap().head;
        assert!(head.starts_with("GET /v1/events/stream?object_type=host&after=0192&all_projects=true HTTP/1.1"), "{head}");
    }
}
