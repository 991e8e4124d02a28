//! `/containers/{id}/exec` and `/exec/{id}/...`.

use berth_api::exec::{ExecConfig, ExecInspect, ExecStartConfig, IdResponse};

use crate::client::{read_json, Client};
use crate::error::Result;
use crate::hijack::Hijacked;
use crate::query::{path_escape, Query};

impl Client {
    /// `POST /containers/{id}/exec`.
    pub async fn exec_create(&self, container: &str, config: &ExecConfig) -> Result<IdResponse> {
        let p = format!("/containers/{}/exec", path_escape(container));
        read_json(self.post(&p, &Query::new(), Some(config)).await?).await
    }

    /// `POST /exec/{id}/start` for a detached exec.
    pub async fn exec_start(&self, id: &str, config: &ExecStartConfig) -> Result<()> {
        let resp = self
            .post(&format!("/exec/{id}/start"), &Query::new(), Some(config))
            .await?;
        crate::stream::ByteStream::new(resp.into_body())
            .collect()
            .await?;
        Ok(())
    }

    /// `POST /exec/{id}/start`, hijacked.
    pub async fn exec_start_attached(
        &self,
        id: &str,
        config: &ExecStartConfig,
    ) -> Result<Hijacked> {
        self.hijack(&format!("/exec/{id}/start"), &Query::new(), Some(config))
            .await
    }

    /// `POST /exec/{id}/resize`.
    pub async fn exec_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let q = Query::new()
            .set("h", height.to_string())
            .set("w", width.to_string());
        self.post_empty(&format!("/exec/{id}/resize"), &q).await
    }

    /// `GET /exec/{id}/json`.
    pub async fn exec_inspect(&self, id: &str) -> Result<ExecInspect> {
        self.get_json(&format!("/exec/{id}/json"), &Query::new())
            .await
    }
}
