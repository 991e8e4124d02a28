//! `/images/...`.

use berth_api::filters::Filters;
use berth_api::image::{HistoryItem, ImageDeleteItem, ImageInspect, ImageSummary};
use berth_api::progress::ProgressMessage;
use bytes::Bytes;
use hyper::Method;

use crate::body::{empty_body, Body};
use crate::client::{read_json, Client};
use crate::error::Result;
use crate::query::{path_escape, Query};
use crate::stream::JsonStream;

/// `GET /images/json` options.
#[derive(Debug, Clone, Default)]
pub struct ImageListOptions {
    pub all: bool,
    pub filters: Filters,
}

impl ImageListOptions {
    pub fn query(&self) -> Query {
        Query::new().set_if(self.all, "all", "1").set_if(
            !self.filters.is_empty(),
            "filters",
            self.filters.to_json(),
        )
    }
}

/// `POST /images/create?fromSrc=` options (docker's `ImageImport`).
#[derive(Debug, Clone, Default)]
pub struct ImageImportOptions {
    /// `-` for the body, or a URL.
    pub source: String,
    /// The reference as typed (`repo[:tag]`).
    pub repo: Option<String>,
    pub tag: Option<String>,
    pub message: Option<String>,
    pub platform: Option<String>,
    /// Dockerfile instructions, one parameter each.
    pub changes: Vec<String>,
}

impl ImageImportOptions {
    pub fn query(&self) -> Query {
        let mut q = Query::new()
            .set("fromSrc", self.source.clone())
            .set_opt("repo", self.repo.clone())
            .set_opt("tag", self.tag.clone())
            .set_opt("message", self.message.clone())
            .set_opt("platform", self.platform.clone());
        for c in &self.changes {
            q = q.set("changes", c.clone());
        }
        q
    }
}

fn image_path(name: &str, verb: &str) -> String {
    format!("/images/{}/{verb}", path_escape(name))
}

impl Client {
    /// `GET /images/json`.
    pub async fn image_list(&self, opts: &ImageListOptions) -> Result<Vec<ImageSummary>> {
        let q = Query::new().set_if(opts.all, "all", "1").set_if(
            !opts.filters.is_empty(),
            "filters",
            opts.filters.to_json(),
        );
        let list: Option<Vec<ImageSummary>> = self.get_json("/images/json", &q).await?;
        Ok(list.unwrap_or_default())
    }

    /// `GET /images/{name}/json`.
    pub async fn image_inspect(&self, name: &str) -> Result<ImageInspect> {
        self.get_json(&image_path(name, "json"), &Query::new())
            .await
    }

    /// `GET /images/{name}/json`, the body as sent.
    pub async fn image_inspect_raw(&self, name: &str) -> Result<Bytes> {
        self.get_raw(&image_path(name, "json"), &Query::new()).await
    }

    /// `GET /images/{name}/history`.
    pub async fn image_history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        let list: Option<Vec<HistoryItem>> = self
            .get_json(&image_path(name, "history"), &Query::new())
            .await?;
        Ok(list.unwrap_or_default())
    }

    /// `POST /images/{name}/tag?repo=&tag=`.
    pub async fn image_tag(&self, source: &str, repo: &str, tag: &str) -> Result<()> {
        let q = Query::new().set("repo", repo).set("tag", tag);
        self.post_empty(&image_path(source, "tag"), &q).await
    }

    /// `DELETE /images/{name}`.
    pub async fn image_remove(
        &self,
        name: &str,
        force: bool,
        no_prune: bool,
    ) -> Result<Vec<ImageDeleteItem>> {
        let q = Query::new()
            .set_if(force, "force", "1")
            .set_if(no_prune, "noprune", "1");
        let p = format!("/images/{}", path_escape(name));
        let resp = self
            .request(Method::DELETE, &p, &q, empty_body(), None, &[])
            .await?;
        let list: Option<Vec<ImageDeleteItem>> = read_json(resp).await?;
        Ok(list.unwrap_or_default())
    }

    /// `POST /images/create?fromSrc=...` with `body` (the tarball when the source is `-`):
    /// the progress messages.
    pub async fn image_import(
        &self,
        opts: &ImageImportOptions,
        body: Body,
    ) -> Result<JsonStream<ProgressMessage>> {
        let resp = self
            .request(
                Method::POST,
                "/images/create",
                &opts.query(),
                body,
                None,
                &[],
            )
            .await?;
        Ok(JsonStream::new(resp.into_body()))
    }

    /// `POST /images/create?fromImage=...&tag=...` (a pull), with docker's empty credentials.
    pub async fn image_pull(&self, image: &str, tag: &str) -> Result<JsonStream<ProgressMessage>> {
        let q = Query::new().set("fromImage", image).set("tag", tag);
        let resp = self
            .request(
                Method::POST,
                "/images/create",
                &q,
                empty_body(),
                None,
                &[("X-Registry-Auth", "e30=")],
            )
            .await?;
        Ok(JsonStream::new(resp.into_body()))
    }
}
