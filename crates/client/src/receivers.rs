//! Receiver endpoints: webhooks that run a cluster action with stored parameters, and triggering one.

use crate::{Call, Client, ClientError};
use flotilla_api::{ActionAccepted, ListQuery, Receiver, ReceiverCreate, ReceiverList};
use reqwest::{Method, Url};
use serde_json::{Map, Value};

impl Client {
    /// `POST /v1/receivers`: the answer's `url` is the trigger URL with its secret, shown only here.
    pub async fn create_receiver(&self, body: &ReceiverCreate) -> Result<Receiver, ClientError> {
        self.send(Call::post(&["receivers"], body)).await
    }

    pub async fn list_receivers(&self, query: &ListQuery) -> Result<ReceiverList, ClientError> {
        self.send(Call::get(&["receivers"]).query(query)).await
    }

    /// A receiver by id or name.
    pub async fn receiver(&self, key: &str) -> Result<Receiver, ClientError> {
        self.send(Call::get(&["receivers", key])).await
    }

    /// Deletes a receiver: its URL stops working.
    pub async fn delete_receiver(&self, key: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["receivers", key])).await
    }

    /// Triggers a webhook: `POST url` with `params` merged over the receiver's stored ones. The secret
    /// in the URL is the credential: no token is sent. `url` is absolute, or relative to this client's server.
    pub async fn trigger_receiver(&self, url: &str, params: &Map<String, Value>) -> Result<ActionAccepted, ClientError> {
        let target = Url::parse(url)
            .or_else(|_| self.base.join(url.trim_start_matches('/')))
            .map_err(|e| ClientError::InvalidUrl { url: url.to_owned(), reason: e.to_string() })?;
        let request = self.http.request(Method::POST, target.clone()).json(params).timeout(crate::REQUEST_TIMEOUT);
        let response = self.answer(target.as_str(), request).await?;
        Self::decode(target.as_str(), response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_server::serve_once;

    #[tokio::test]
    async fn triggers_send_their_params_and_no_token() {
        let (url, server) = serve_once("202 Accepted", "application/json", r#"{"action":"01927c4e-0000-7000-8000-00000000000a"}"#);
        let client = Client::new("http://127.0.0.1:9").unwrap().with_token("s3cret");
        let params = serde_json::json!({"count": 2}).as_object().unwrap().clone();
        let trigger = format!("{url}/v1/webhooks/0192/trigger?secret=abc");
        let accepted = client.trigger_receiver(&trigger, &params).await.unwrap();
        assert_eq!(accepted.action.to_string(), "01927c4e-0000-7000-8000-00000000000a");
        let request = server.join().unwrap();
        assert!(request.head.starts_with("POST /v1/webhooks/0192/trigger?secret=abc HTTP/1.1"), "{}", request.head);
        assert!(!request.head.to_lowercase().contains("x-auth-token"), "{}", request.head);
        assert_eq!(String::from_utf8(request.body).unwrap(), r#"{"count":2}"#);
    }

    #[tokio::test]
    async fn relative_trigger_urls_go_to_the_clients_server() {
        let (url, server) = serve_once("202 Accepted", "application/json", r#"{"action":"01927c4e-0000-7000-8000-00000000000a"}"#);
        Client::new(&url).unwrap().trigger_receiver("/v1/webhooks/0192/trigger", &Map::new()).await.unwrap();
        let request = server.join().unwrap();
        assert!(request.head.starts_with("POST /v1/webhooks/0192/trigger HTTP/1.1"), "{}", request.head);
        assert_eq!(request.body, b"{}");
    }
}
