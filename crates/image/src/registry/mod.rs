//! Registries: pull, push and login over the OCI distribution API (`docs/registry.md`).
//!
//! The daemon keeps one [`Registry`] (its `insecure-registries`, `registry-mirrors`,
//! `certs.d`, and the tokens registries gave it) and calls:
//!
//! - [`pull`]`(store, registry, reference, options, progress) -> Pulled`
//! - [`push`]`(store, registry, reference, options, progress) -> Pushed`
//! - [`Registry::login`]`(server, credentials) -> LoginOutcome`
//!
//! Progress comes as typed [`Progress`] events; [`Progress::message`] is the `id`,
//! `status` and byte counts of Docker's JSON progress stream.

mod auth;
mod client;
mod error;
mod fetch;
mod hosts;
mod platform;
mod progress;
mod pull;
mod push;
mod tls;

pub use auth::Credentials;
pub use client::{LoginOutcome, Registry, MEDIA_TYPE_DOCKER_MANIFEST_LIST, MEDIA_TYPE_OCI_INDEX};
pub use error::{RegistryError, Result};
pub use hosts::{login_domain, RegistryConfig, DOCKER_HUB_AUTH_KEY, DOCKER_HUB_HOST};
pub use platform::Platform;
pub use progress::{LayerStatus, Message, NoProgress, Progress, ProgressSink};
pub(crate) use pull::pick_platform;
pub use pull::{list_tags, pull, PullOptions, Pulled};
pub use push::{push, PushOptions, Pushed};
