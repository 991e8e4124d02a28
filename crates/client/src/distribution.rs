//! Images to and from registries and archives: pull, push, login, save, load.

use berth_api::auth::{AuthConfig, AuthResponse};
use berth_api::progress::ProgressMessage;
use hyper::Method;

use crate::body::{empty_body, json_body, Body};
use crate::client::{read_json, Client};
use crate::error::Result;
use crate::query::{path_escape, Query};
use crate::stream::{ByteStream, JsonStream};

/// `POST /images/create?fromImage=` options (docker's `ImagePull`).
#[derive(Debug, Clone, Default)]
pub struct ImagePullOptions {
    /// The repository (`docker.io/library/busybox`), as the CLI sends it.
    pub image: String,
    /// A tag or a digest; empty pulls every tag of the repository.
    pub tag: String,
    /// `linux/arm64`; none for the daemon's.
    pub platform: Option<String>,
    /// The credentials for the registry; none sends docker's empty `{}`.
    pub auth: Option<AuthConfig>,
}

impl ImagePullOptions {
    pub fn query(&self) -> Query {
        Query::new()
            .set("fromImage", self.image.clone())
            .set_if(!self.tag.is_empty(), "tag", self.tag.clone())
            .set_opt("platform", self.platform.clone())
    }
}

/// The `X-Registry-Auth` value of `auth`: docker sends `e30=` (`{}`) without credentials.
pub fn registry_auth_header(auth: Option<&AuthConfig>) -> String {
    auth.map(AuthConfig::encode)
        .unwrap_or_else(|| AuthConfig::default().encode())
}

impl Client {
    /// `POST /images/create?fromImage=&tag=`: the progress messages of the pull.
    pub async fn image_pull_with(
        &self,
        opts: &ImagePullOptions,
    ) -> Result<JsonStream<ProgressMessage>> {
        let auth = registry_auth_header(opts.auth.as_ref());
        let resp = self
            .request(
                Method::POST,
                "/images/create",
                &opts.query(),
                empty_body(),
                None,
                &[("X-Registry-Auth", &auth)],
            )
            .await?;
        Ok(JsonStream::new(resp.into_body()))
    }

    /// `POST /images/{name}/push?tag=`: no tag pushes every tag of the repository.
    pub async fn image_push(
        &self,
        name: &str,
        tag: Option<&str>,
        auth: Option<&AuthConfig>,
    ) -> Result<JsonStream<ProgressMessage>> {
        let q = Query::new().set_opt("tag", tag.map(str::to_string));
        let p = format!("/images/{}/push", path_escape(name));
        let header = registry_auth_header(auth);
        let resp = self
            .request(
                Method::POST,
                &p,
                &q,
                empty_body(),
                None,
                &[("X-Registry-Auth", &header)],
            )
            .await?;
        Ok(JsonStream::new(resp.into_body()))
    }

    /// `POST /auth`: checks credentials with a registry.
    pub async fn registry_login(&self, auth: &AuthConfig) -> Result<AuthResponse> {
        let resp = self
            .request(
                Method::POST,
                "/auth",
                &Query::new(),
                json_body(auth),
                Some("application/json"),
                &[],
            )
            .await?;
        read_json(resp).await
    }

    /// `GET /images/get?names=...`: the archive, as it comes.
    pub async fn image_save(&self, names: &[String]) -> Result<ByteStream> {
        let mut q = Query::new();
        for n in names {
            q = q.set("names", n.clone());
        }
        let resp = self.get("/images/get", &q).await?;
        Ok(ByteStream::new(resp.into_body()))
    }

    /// `POST /images/load?quiet=` with the archive as `body`: the progress messages.
    pub async fn image_load(&self, body: Body, quiet: bool) -> Result<JsonStream<ProgressMessage>> {
        let q = Query::new().set_if(quiet, "quiet", "1");
        let resp = self
            .request(
                Method::POST,
                "/images/load",
                &q,
                body,
                Some("application/x-tar"),
                &[],
            )
            .await?;
        Ok(JsonStream::new(resp.into_body()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_query_and_empty_auth_like_docker() {
        let o = ImagePullOptions {
            image: "docker.io/library/busybox".into(),
            tag: "latest".into(),
            platform: Some("linux/amd64".into()),
            auth: None,
        };
        assert_eq!(
            o.query().encode(),
            "fromImage=docker.io%2Flibrary%2Fbusybox&platform=linux%2Famd64&tag=latest"
        );
        assert_eq!(registry_auth_header(None), "e30=");
    }
}
