//! Volume endpoints: named volumes containers mount: create, list, show, delete.

use crate::{Call, Client, ClientError, Filters, Listing};
use flotilla_api::{Volume, VolumeCreate, VolumeList};

impl Client {
    pub async fn create_volume(&self, body: &VolumeCreate) -> Result<Volume, ClientError> {
        self.send(Call::post(&["volumes"], body)).await
    }

    pub async fn list_volumes(&self, query: impl Into<Listing<'_>>) -> Result<VolumeList, ClientError> {
        self.send(Call::listing(&["volumes"], query.into(), Filters::default())).await
    }

    /// A volume by id or name, with the containers mounting it.
    pub async fn volume(&self, key: &str) -> Result<Volume, ClientError> {
        self.send(Call::get(&["volumes", key])).await
    }

    /// Deletes a volume; refused (409) while a container mounts it.
    pub async fn delete_volume(&self, key: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["volumes", key])).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_server::serve_once;

    #[tokio::test]
    async fn creates_send_only_what_is_set() {
        let volume = r#"{"id":"01927c4e-0000-7000-8000-000000000001","name":"data","project_id":"01927c4e-0000-7000-8000-000000000002",
            "driver":"local","driver_opts":{"type":"tmpfs"},"size_mib":64,"pool":null,"mounted_by":[],"metadata":{},
            "created_at":"2026-01-01T00:00:00Z"}"#;
        let (url, server) = serve_once("201 Created", "application/json", volume);
        let body = VolumeCreate {
            name: "data".into(),
            driver: None,
            driver_opts: [("type".to_owned(), "tmpfs".to_owned())].into(),
            size_mib: Some(64),
            pool: None,
            metadata: Default::default(),
        };
        let created = Client::new(&url).unwrap().create_volume(&body).await.unwrap();
        assert_eq!((created.driver.as_str(), created.size_mib), ("local", Some(64)));
        let request = server.join().unwrap();
        assert!(request.head.starts_with("POST /v1/volumes HTTP/1.1"), "{}", request.head);
        assert_eq!(request.body, br#"{"name":"data","driver_opts":{"type":"tmpfs"},"size_mib":64,"metadata":{}}"#);
    }

    #[tokio::test]
    async fn a_refused_delete_says_why() {
        let body = r#"{"error":{"code":409,"title":"Conflict","message":"volume \"data\" is mounted by web","request_id":"r1"}}"#;
        let (url, server) = serve_once("409 Conflict", "application/json", body);
        let err = Client::new(&url).unwrap().delete_volume("data").await.unwrap_err();
        assert_eq!(err.to_string(), r#"volume "data" is mounted by web (409, request r1)"#);
        assert!(server.join().unwrap().head.starts_with("DELETE /v1/volumes/data HTTP/1.1"));
    }
}
