//! Images: uploaded archives' records (the bytes live on disk, not here), with public visibility.

use crate::codec::{get_bool, get_id, get_json, get_time, millis, to_json};
use crate::list::Filter;
use crate::placement::lock_placement;
use crate::{Scope, Store, StoreError};
use flotilla_core::image::Image;
use flotilla_core::quota::Usage;
use flotilla_core::{HostId, ImageId, ListParams, Page, ProjectId};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

fn decode(row: &AnyRow) -> Result<Image, StoreError> {
    Ok(Image {
        id: get_id(row, "id")?,
        name: row.try_get("name")?,
        tags: get_json(row, "tags")?,
        project_id: get_id(row, "project_id")?,
        user_id: get_id(row, "user_id")?,
        public: get_bool(row, "public")?,
        size_bytes: row.try_get::<i64, _>("size_bytes")?.max(0) as u64,
        sha256: row.try_get("sha256")?,
        docker_id: row.try_get("docker_id")?,
        created_at: get_time(row, "created_at")?,
    })
}

impl Store {
    /// Records an uploaded image, its bytes counted against the project's quota atomically.
    pub async fn create_image(&self, image: &Image) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        lock_placement(self.backend, &mut w.tx).await?;
        crate::quotas::check_quota(&mut w.tx, image.project_id, &Usage { image_bytes: image.size_bytes, ..Default::default() }).await?;
        sqlx::query(
            "INSERT INTO images (id, name, tags, project_id, user_id, public, size_bytes, sha256, docker_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(image.id.to_string())
        .bind(image.name.clone())
        .bind(to_json(&image.tags))
        .bind(image.project_id.to_string())
        .bind(image.user_id.to_string())
        .bind(i64::from(image.public))
        .bind(image.size_bytes as i64)
        .bind(image.sha256.clone())
        .bind(image.docker_id.clone())
        .bind(millis(image.created_at))
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::on_insert("image", &image.name))?;
        w.tx.commit().await?;
        Ok(())
    }

    /// The image whose id or name is `key`: the project's own, or a public one.
    pub async fn image(&self, scope: Scope, key: &str) -> Result<Image, StoreError> {
        let column = if crate::codec::is_id(key) { "id" } else { "name" };
        let rows = match scope {
            Scope::All => sqlx::query(AssertSqlSafe(format!("SELECT * FROM images WHERE {column} = $1 LIMIT 2")))
                .bind(key.to_owned())
                .fetch_all(&self.pool)
                .await?,
            Scope::Project(project) => sqlx::query(AssertSqlSafe(format!(
                "SELECT * FROM images WHERE {column} = $1 AND (project_id = $2 OR public = 1) ORDER BY CASE WHEN project_id = $2 THEN 0 ELSE 1 END LIMIT 2"
            )))
            .bind(key.to_owned())
            .bind(project.to_string())
            .fetch_all(&self.pool)
            .await?,
        };
        let own_first = rows.first().map(decode).transpose()?;
        match (own_first, rows.len(), scope) {
            (None, ..) => Err(StoreError::NotFound { kind: "image", key: key.to_owned() }),
            (Some(image), 1, _) => Ok(image),
            (Some(image), _, Scope::Project(project)) if image.project_id == project => Ok(image),
            (Some(_), count, _) => Err(StoreError::Ambiguous { kind: "image", name: key.to_owned(), count }),
        }
    }

    /// The image a container's reference (normalised) names: the project's own first, then a
    /// public one; an image of that name before one merely tagged so.
    pub async fn image_for_reference(&self, project: ProjectId, reference: &str) -> Result<Option<Image>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM images WHERE (project_id = $1 OR public = 1) AND (name = $2 OR tags LIKE $3)
             ORDER BY CASE WHEN project_id = $1 THEN 0 ELSE 1 END, CASE WHEN name = $2 THEN 0 ELSE 1 END, created_at DESC LIMIT 1",
        )
        .bind(project.to_string())
        .bind(reference.to_owned())
        .bind(format!("%{}%", to_json(&reference)))
        .fetch_optional(&self.pool)
        .await?;
        rows.as_ref().map(decode).transpose()
    }

    /// The image a project's container runs for `reference` (normalised): one of Flotilla's images
    /// the project may use (`Some`), or a registry reference Flotilla does not hold (`None`). A
    /// reference naming an image Flotilla holds for another project only — by a tag its archive
    /// carries, by a digest of its repository, or by a Docker id — is not found, as if it did not
    /// exist: a host's cache may hold that image, and it is not the project's to run.
    pub async fn resolve_image(&self, project: ProjectId, reference: &str) -> Result<Option<Image>, StoreError> {
        if let Some(image) = self.image_for_reference(project, reference).await? {
            return Ok(Some(image));
        }
        let not_found = || StoreError::NotFound { kind: "image", key: reference.to_owned() };
        if flotilla_core::image::names_an_id(reference) {
            return Err(not_found());
        }
        let repository = flotilla_core::image::repository(reference);
        let digested = reference.contains('@');
        let held =
            sqlx::query("SELECT id FROM images WHERE name = $1 OR tags LIKE $2 OR ($3 = 1 AND (name LIKE $4 OR tags LIKE $5)) LIMIT 1")
                .bind(reference.to_owned())
                .bind(format!("%{}%", to_json(&reference)))
                .bind(i64::from(digested))
                .bind(format!("{repository}:%"))
                .bind(format!("%\"{repository}:%"))
                .fetch_optional(&self.pool)
                .await?;
        if held.is_some() { Err(not_found()) } else { Ok(None) }
    }

    /// The image `id` if a container assigned to `host` runs it: all an agent may fetch.
    pub async fn image_for_host(&self, host: HostId, id: ImageId) -> Result<Image, StoreError> {
        let assigned = sqlx::query("SELECT id FROM containers WHERE host_id = $1 AND image_id = $2 LIMIT 1")
            .bind(host.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        match assigned {
            Some(_) => self.image(Scope::All, &id.to_string()).await,
            None => Err(StoreError::NotFound { kind: "image", key: id.to_string() }),
        }
    }

    pub async fn list_images(&self, scope: Scope, name: Option<&str>, params: &ListParams) -> Result<Page<Image>, StoreError> {
        let mut filters = Vec::new();
        if let Scope::Project(project) = scope {
            filters.push(Filter::scope("visible_to", project));
        }
        if let Some(name) = name {
            filters.push(Filter::eq("name", name));
        }
        match scope {
            Scope::All => self.list_page("images", &filters, params, decode).await,
            Scope::Project(_) => self.list_page("image_visibility_view", &filters, params, decode).await,
        }
    }

    pub async fn delete_image(&self, id: ImageId) -> Result<(), StoreError> {
        self.delete_by_id("image", "images", &id.to_string()).await
    }

    /// Whether a container not yet deleted still runs `image`.
    pub async fn image_in_use(&self, id: ImageId) -> Result<bool, StoreError> {
        let row =
            sqlx::query("SELECT id FROM containers WHERE image_id = $1 LIMIT 1").bind(id.to_string()).fetch_optional(&self.pool).await?;
        Ok(row.is_some())
    }
}

impl Store {
    /// Any image whose archive has this digest (archives are shared by content).
    pub async fn image_with_sha256(&self, sha256: &str) -> Result<Option<ImageId>, StoreError> {
        let row = sqlx::query("SELECT id FROM images WHERE sha256 = $1 LIMIT 1").bind(sha256.to_owned()).fetch_optional(&self.pool).await?;
        row.as_ref().map(|r| get_id(r, "id")).transpose()
    }
}
