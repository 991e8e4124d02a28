//! `/_ping`, `/version`, `/info`, `/events`.

use berth_api::event::EventMessage;
use berth_api::filters::Filters;
use berth_api::system::{Info, Version};
use hyper::{Method, Response};
use serde_json::Value;

use crate::body::empty_body;
use crate::client::Client;
use crate::error::Result;
use crate::query::Query;
use crate::stream::JsonStream;

/// What `/_ping` tells about the daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ping {
    /// The `Api-Version` header: the newest version the daemon speaks.
    pub api_version: Option<String>,
    /// `Ostype`.
    pub os_type: Option<String>,
}

fn header(resp: &Response<hyper::body::Incoming>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `GET /events` options: times as docker's CLI sends them (unix seconds or RFC 3339).
#[derive(Debug, Clone, Default)]
pub struct EventsOptions {
    pub since: Option<String>,
    pub until: Option<String>,
    pub filters: Filters,
}

impl EventsOptions {
    pub fn query(&self) -> Query {
        Query::new()
            .set_opt("since", self.since.clone())
            .set_opt("until", self.until.clone())
            .set_if(!self.filters.is_empty(), "filters", self.filters.to_json())
    }
}

impl Client {
    /// `HEAD /_ping` (unversioned), or `GET` when the daemon refuses `HEAD`. The answer's
    /// status does not matter, only its headers.
    pub async fn ping(&self) -> Result<Ping> {
        let resp = self
            .send(Method::HEAD, "/_ping", empty_body(), None, &[])
            .await?;
        let resp = if header(&resp, "api-version").is_none() && !resp.status().is_success() {
            self.send(Method::GET, "/_ping", empty_body(), None, &[])
                .await?
        } else {
            resp
        };
        Ok(Ping {
            api_version: header(&resp, "api-version"),
            os_type: header(&resp, "ostype"),
        })
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<Version> {
        self.get_json("/version", &Query::new()).await
    }

    /// `GET /version` as the JSON document (for `--format` templates).
    pub async fn version_json(&self) -> Result<Value> {
        self.get_json("/version", &Query::new()).await
    }

    /// `GET /info`.
    pub async fn info(&self) -> Result<Info> {
        self.get_json("/info", &Query::new()).await
    }

    /// `GET /info` as the JSON document (for `--format` templates).
    pub async fn info_json(&self) -> Result<Value> {
        self.get_json("/info", &Query::new()).await
    }

    /// `GET /events`: a stream of events until `until` (or for ever).
    pub async fn events(&self, opts: &EventsOptions) -> Result<JsonStream<EventMessage>> {
        self.stream("/events", &opts.query()).await
    }
}
