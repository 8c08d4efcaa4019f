//! Image endpoints: streaming a `docker save` archive to the region, listing, showing, deleting.

use crate::{Call, Client, ClientError};
use flotilla_api::{IMAGE_SHA256_HEADER, Image, ImageList, ImageUploadQuery, ListQuery};
use futures::TryStreamExt;
use reqwest::Body;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use sha2::{Digest, Sha256};
use std::path::Path;
use tokio::fs::File;
use tokio_util::io::ReaderStream;

/// How much of the file is read at a time, for the checksum and for sending.
const CHUNK: usize = 256 * 1024;

impl Client {
    /// `POST /v1/images`: uploads the `docker save` archive at `path`. The file is read twice, never
    /// held in memory: once for its sha256 (sent in a header, so the server checks what it got), then
    /// streamed as the body. `progress` is called with the number of bytes sent so far.
    pub async fn upload_image(
        &self,
        path: &Path,
        options: &ImageUploadQuery,
        mut progress: impl FnMut(u64) + Send + 'static,
    ) -> Result<Image, ClientError> {
        let (sha256, size) = file_sha256(path).await?;
        let mut sent = 0;
        let chunks = ReaderStream::with_capacity(open(path).await?, CHUNK).inspect_ok(move |chunk| {
            sent += chunk.len() as u64;
            progress(sent);
        });
        let call = Call::action(&["images"]).query(options).timeout(None);
        let url = self.endpoint(call.path).to_string();
        let request = self
            .request(&call)
            .header(CONTENT_TYPE, "application/x-tar")
            .header(CONTENT_LENGTH, size)
            .header(IMAGE_SHA256_HEADER, sha256)
            .body(Body::wrap_stream(chunks));
        let response = self.answer(&url, request).await?;
        Self::decode(&url, response).await
    }

    pub async fn list_images(&self, query: &ListQuery) -> Result<ImageList, ClientError> {
        self.send(Call::get(&["images"]).query(query)).await
    }

    /// An image by id or name.
    pub async fn image(&self, key: &str) -> Result<Image, ClientError> {
        self.send(Call::get(&["images", key])).await
    }

    pub async fn delete_image(&self, key: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["images", key])).await
    }
}

async fn open(path: &Path) -> Result<File, ClientError> {
    File::open(path).await.map_err(|error| ClientError::File { path: path.display().to_string(), error })
}

/// The hex sha256 of a file and its size, read in chunks.
async fn file_sha256(path: &Path) -> Result<(String, u64), ClientError> {
    let mut chunks = ReaderStream::with_capacity(open(path).await?, CHUNK);
    let mut hasher = Sha256::new();
    let mut size = 0;
    while let Some(chunk) = chunks.try_next().await.map_err(|error| ClientError::File { path: path.display().to_string(), error })? {
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checksums_are_streamed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        // More than one chunk, and not a whole number of them.
        let data: Vec<u8> = (0..CHUNK * 2 + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let (sha, size) = file_sha256(&path).await.unwrap();
        assert_eq!(sha, hex::encode(Sha256::digest(&data)));
        assert_eq!(size, data.len() as u64);

        let err = file_sha256(&dir.path().join("missing.tar")).await.unwrap_err();
        assert!(err.to_string().starts_with("cannot read ") && err.to_string().contains("missing.tar"), "{err}");
    }

    #[tokio::test]
    async fn uploads_stream_the_file_with_its_checksum_and_report_progress() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        let data: Vec<u8> = (0..CHUNK * 3 + 5).map(|i| (i % 241) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let image = serde_json::json!({
            "id": "01927c4e-0000-7000-8000-000000000001", "name": "web:1", "tags": ["web:1"],
            "project_id": "01927c4e-0000-7000-8000-000000000002", "public": true, "size_bytes": data.len(),
            "sha256": "ab", "docker_id": "sha256:cd", "created_at": "2026-01-01T00:00:00Z"
        });
        let (url, server) = crate::fake_server::serve_once("201 Created", "application/json", &image.to_string());
        let client = Client::new(&url).unwrap().with_token("t0k");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let options = ImageUploadQuery { name: Some("web:1".into()), public: Some(true) };
        let uploaded = client.upload_image(&path, &options, move |sent| record.lock().unwrap().push(sent)).await.unwrap();
        assert_eq!((uploaded.name.as_str(), uploaded.size_bytes), ("web:1", data.len() as u64));

        let request = server.join().unwrap();
        assert!(request.head.starts_with("POST /v1/images?name=web%3A1&public=true HTTP/1.1\r\n"), "{}", request.head);
        for header in [
            format!("{IMAGE_SHA256_HEADER}: {}", hex::encode(Sha256::digest(&data))),
            format!("content-length: {}", data.len()),
            "content-type: application/x-tar".to_owned(),
            "x-auth-token: t0k".to_owned(),
        ] {
            assert!(request.head.contains(&header), "{header} in {}", request.head);
        }
        assert_eq!(request.body, data);
        let seen = seen.lock().unwrap();
        assert!(seen.len() >= 2 && seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert_eq!(seen.last(), Some(&(data.len() as u64)));
    }

    #[tokio::test]
    async fn upload_refusals_are_api_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        std::fs::write(&path, b"not much").unwrap();
        let body = r#"{"error":{"code":413,"title":"Payload Too Large","message":"image over 1 MiB","request_id":"r9"}}"#;
        let (url, server) = crate::fake_server::serve_once("413 Payload Too Large", "application/json", body);
        let err = Client::new(&url).unwrap().upload_image(&path, &ImageUploadQuery::default(), |_| ()).await.unwrap_err();
        assert_eq!(err.status(), Some(413));
        assert_eq!(err.to_string(), "image over 1 MiB (413, request r9)");
        assert!(server.join().unwrap().head.starts_with("POST /v1/images HTTP/1.1"));
    }
}
