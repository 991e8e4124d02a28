//! `/containers/...`.

use berth_api::container::{
    ContainerCreateRequest, ContainerCreateResponse, ContainerInspect, ContainerPruneResponse,
    ContainerSummary, ContainerUpdateRequest, ContainerUpdateResponse, TopResponse, WaitResponse,
};
use berth_api::filters::Filters;
use berth_api::stats::StatsResponse;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Response};

use crate::body::empty_body;
use crate::client::{read_json, Client};
use crate::error::Result;
use crate::hijack::Hijacked;
use crate::query::{path_escape, Query};
use crate::stream::{ByteStream, JsonStream};

/// `GET /containers/json` options.
#[derive(Debug, Clone, Default)]
pub struct ContainerListOptions {
    pub all: bool,
    /// The last N created (all states); 0 for no limit.
    pub limit: i64,
    pub size: bool,
    pub filters: Filters,
}

impl ContainerListOptions {
    pub fn query(&self) -> Query {
        Query::new()
            .set_if(self.all, "all", "1")
            .set_if(self.limit > 0, "limit", self.limit.to_string())
            .set_if(self.size, "size", "1")
            .set_if(!self.filters.is_empty(), "filters", self.filters.to_json())
    }
}

/// `DELETE /containers/{id}` options.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    pub force: bool,
    pub volumes: bool,
    pub link: bool,
}

impl RemoveOptions {
    pub fn query(&self) -> Query {
        Query::new()
            .set_if(self.volumes, "v", "1")
            .set_if(self.link, "link", "1")
            .set_if(self.force, "force", "1")
    }
}

/// `POST /containers/{id}/attach` options.
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    pub stream: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub logs: bool,
    pub detach_keys: Option<String>,
}

impl AttachOptions {
    pub fn query(&self) -> Query {
        Query::new()
            .set_if(self.stream, "stream", "1")
            .set_if(self.stdout, "stdout", "1")
            .set_if(self.stderr, "stderr", "1")
            .set_if(self.stdin, "stdin", "1")
            .set_if(self.logs, "logs", "1")
            .set_opt("detachKeys", self.detach_keys.clone())
    }
}

/// `GET /containers/{id}/logs` options.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub since: Option<String>,
    pub until: Option<String>,
    pub timestamps: bool,
    pub follow: bool,
    /// "all" or a number of lines.
    pub tail: Option<String>,
    pub details: bool,
}

impl LogsOptions {
    pub fn query(&self) -> Query {
        Query::new()
            .set_if(self.stdout, "stdout", "1")
            .set_if(self.stderr, "stderr", "1")
            .set_opt("since", self.since.clone())
            .set_opt("until", self.until.clone())
            .set_if(self.timestamps, "timestamps", "1")
            .set_if(self.follow, "follow", "1")
            .set_opt("tail", self.tail.clone())
            .set_if(self.details, "details", "1")
    }
}

/// A `wait` the daemon has registered (its headers arrived); the body comes when the
/// condition is met.
pub struct PendingWait {
    resp: Response<Incoming>,
}

impl PendingWait {
    /// Waits for the answer's body.
    pub async fn result(self) -> Result<WaitResponse> {
        read_json(self.resp).await
    }
}

fn path(id: &str, verb: &str) -> String {
    format!("/containers/{}/{verb}", path_escape(id))
}

/// `?signal=` and `?t=` only when given, as docker sends them.
fn stop_query(signal: Option<&str>, timeout: Option<i64>) -> Query {
    Query::new()
        .set_opt("signal", signal)
        .set_opt("t", timeout.map(|t| t.to_string()))
}

impl Client {
    /// `GET /containers/json`.
    pub async fn container_list(
        &self,
        opts: &ContainerListOptions,
    ) -> Result<Vec<ContainerSummary>> {
        let list: Option<Vec<ContainerSummary>> =
            self.get_json("/containers/json", &opts.query()).await?;
        Ok(list.unwrap_or_default())
    }

    /// `POST /containers/create[?name=]`.
    pub async fn container_create(
        &self,
        name: Option<&str>,
        body: &ContainerCreateRequest,
    ) -> Result<ContainerCreateResponse> {
        let q = Query::new().set_opt("name", name);
        read_json(self.post("/containers/create", &q, Some(body)).await?).await
    }

    /// `GET /containers/{id}/json`.
    pub async fn container_inspect(&self, id: &str, size: bool) -> Result<ContainerInspect> {
        let q = Query::new().set_if(size, "size", "1");
        self.get_json(&path(id, "json"), &q).await
    }

    /// `GET /containers/{id}/json`, the body as sent (inspect prints it in the daemon's key
    /// order).
    pub async fn container_inspect_raw(&self, id: &str, size: bool) -> Result<Bytes> {
        let q = Query::new().set_if(size, "size", "1");
        self.get_raw(&path(id, "json"), &q).await
    }

    pub async fn container_start(&self, id: &str) -> Result<()> {
        self.post_empty(&path(id, "start"), &Query::new()).await
    }

    pub async fn container_stop(
        &self,
        id: &str,
        signal: Option<&str>,
        timeout: Option<i64>,
    ) -> Result<()> {
        self.post_empty(&path(id, "stop"), &stop_query(signal, timeout))
            .await
    }

    pub async fn container_restart(
        &self,
        id: &str,
        signal: Option<&str>,
        timeout: Option<i64>,
    ) -> Result<()> {
        self.post_empty(&path(id, "restart"), &stop_query(signal, timeout))
            .await
    }

    pub async fn container_kill(&self, id: &str, signal: Option<&str>) -> Result<()> {
        self.post_empty(&path(id, "kill"), &stop_query(signal, None))
            .await
    }

    pub async fn container_pause(&self, id: &str) -> Result<()> {
        self.post_empty(&path(id, "pause"), &Query::new()).await
    }

    pub async fn container_unpause(&self, id: &str) -> Result<()> {
        self.post_empty(&path(id, "unpause"), &Query::new()).await
    }

    pub async fn container_rename(&self, id: &str, new_name: &str) -> Result<()> {
        self.post_empty(&path(id, "rename"), &Query::new().set("name", new_name))
            .await
    }

    /// `DELETE /containers/{id}`.
    pub async fn container_remove(&self, id: &str, opts: RemoveOptions) -> Result<()> {
        let p = format!("/containers/{}", path_escape(id));
        let resp = self
            .request(Method::DELETE, &p, &opts.query(), empty_body(), None, &[])
            .await?;
        ByteStream::new(resp.into_body()).collect().await?;
        Ok(())
    }

    /// `POST /containers/{id}/update`.
    pub async fn container_update(
        &self,
        id: &str,
        body: &ContainerUpdateRequest,
    ) -> Result<ContainerUpdateResponse> {
        read_json(
            self.post(&path(id, "update"), &Query::new(), Some(body))
                .await?,
        )
        .await
    }

    /// `POST /containers/prune[?filters=]`.
    pub async fn containers_prune(&self, filters: &Filters) -> Result<ContainerPruneResponse> {
        let q = Query::new().set_if(!filters.is_empty(), "filters", filters.to_json());
        read_json(self.post::<()>("/containers/prune", &q, None).await?).await
    }

    /// `POST /containers/{id}/wait[?condition=]`, returning once the daemon has registered
    /// the wait (its headers came).
    pub async fn container_wait_begin(
        &self,
        id: &str,
        condition: Option<&str>,
    ) -> Result<PendingWait> {
        let q = Query::new().set_opt("condition", condition);
        let resp = self.post::<()>(&path(id, "wait"), &q, None).await?;
        Ok(PendingWait { resp })
    }

    /// `POST /containers/{id}/wait`, to the end.
    pub async fn container_wait(&self, id: &str, condition: Option<&str>) -> Result<WaitResponse> {
        self.container_wait_begin(id, condition)
            .await?
            .result()
            .await
    }

    /// `POST /containers/{id}/resize`.
    pub async fn container_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let q = Query::new()
            .set("h", height.to_string())
            .set("w", width.to_string());
        self.post_empty(&path(id, "resize"), &q).await
    }

    /// `POST /containers/{id}/attach`, hijacked.
    pub async fn container_attach(&self, id: &str, opts: &AttachOptions) -> Result<Hijacked> {
        self.hijack::<()>(&path(id, "attach"), &opts.query(), None)
            .await
    }

    /// `GET /containers/{id}/logs`: raw bytes, framed unless the container has a TTY.
    pub async fn container_logs(&self, id: &str, opts: &LogsOptions) -> Result<ByteStream> {
        let resp = self.get(&path(id, "logs"), &opts.query()).await?;
        Ok(ByteStream::new(resp.into_body()))
    }

    /// `GET /containers/{id}/top[?ps_args=]`.
    pub async fn container_top(&self, id: &str, ps_args: Option<&str>) -> Result<TopResponse> {
        self.get_json(&path(id, "top"), &Query::new().set_opt("ps_args", ps_args))
            .await
    }

    /// `GET /containers/{id}/stats?stream=1`: a sample every second.
    pub async fn container_stats(&self, id: &str) -> Result<JsonStream<StatsResponse>> {
        self.stream(&path(id, "stats"), &Query::new().set("stream", "1"))
            .await
    }

    /// `GET /containers/{id}/stats?stream=0`: one sample.
    pub async fn container_stats_once(&self, id: &str) -> Result<StatsResponse> {
        self.get_json(&path(id, "stats"), &Query::new().set("stream", "0"))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_queries() {
        assert_eq!(stop_query(None, Some(1)).encode(), "t=1");
        assert_eq!(stop_query(Some("USR1"), None).encode(), "signal=USR1");
        assert_eq!(stop_query(None, None).encode(), "");
    }
}
