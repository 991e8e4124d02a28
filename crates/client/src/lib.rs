//! A typed Docker Engine API client: HTTP/1.1 over a unix socket or plain TCP, API version
//! negotiation, one method per endpoint returning [`berth_api`] types, hijacked streams for
//! attach and exec, Docker's stdout/stderr frames, JSON-lines streams (events, stats, progress)
//! and streamed request bodies (image import).
//!
//! Each request opens its own connection. Docker's CLI reuses connections, but only the order
//! of the calls matters to a daemon; a held connection (a pending `wait`, a hijacked stream)
//! makes docker open new ones anyway.

mod body;
mod client;
mod containers;
mod distribution;
mod error;
mod exec;
mod hijack;
mod host;
mod images;
mod query;
pub mod stdcopy;
mod stream;
mod system;

pub use berth_api as api;
pub use body::{empty_body, json_body, reader_body, stream_body, Body};
pub use client::Client;
pub use containers::{
    AttachOptions, ContainerListOptions, LogsOptions, PendingWait, RemoveOptions,
};
pub use distribution::{registry_auth_header, ImagePullOptions};
pub use error::{ApiError, ConnectError, Error, Result};
pub use hijack::Hijacked;
pub use host::{resolve_host, Host, DEFAULT_HOST};
pub use images::{ImageImportOptions, ImageListOptions};
pub use query::{path_escape, query_escape, Query};
pub use stream::{ByteStream, JsonStream};
pub use system::EventsOptions;
