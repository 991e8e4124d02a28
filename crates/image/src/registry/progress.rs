//! Typed progress of a pull, push or load. [`Progress::message`] gives the `id`,
//! `status` and byte counts of Docker's JSON progress messages, so the daemon turns an
//! event into one `{"status":..,"id":..,"progressDetail":{..}}` line and nothing more.

use crate::digest::Digest;

/// One event. Layer ids are the first 12 hex digits of the blob's digest, as docker shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// `latest: Pulling from library/busybox` (`id` is the tag or digest).
    PullingFrom {
        id: String,
        repository: String,
    },
    /// `The push refers to repository [localhost:5000/x]`.
    PushingTo {
        repository: String,
    },
    Layer {
        id: String,
        status: LayerStatus,
    },
    /// `Digest: sha256:...` after a pull.
    Digest(Digest),
    /// A line of its own: `Status: Downloaded newer image for busybox:latest`,
    /// `latest: digest: sha256:... size: 528`, `Loaded image: busybox:latest`.
    Status(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerStatus {
    PullingFsLayer,
    Waiting,
    Downloading {
        current: u64,
        total: u64,
    },
    VerifyingChecksum,
    DownloadComplete,
    Extracting {
        current: u64,
        total: u64,
    },
    PullComplete,
    /// A pull found the layer unpacked already.
    AlreadyExists,
    Preparing,
    Pushing {
        current: u64,
        total: u64,
    },
    Pushed,
    /// A push found the blob in the registry.
    LayerAlreadyExists,
    MountedFrom {
        repository: String,
    },
    Loading {
        current: u64,
        total: u64,
    },
}

/// The parts of a JSON progress message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: Option<String>,
    pub status: String,
    /// `progressDetail`: bytes done and total.
    pub progress: Option<(u64, u64)>,
}

impl Progress {
    pub(crate) fn layer(digest: &Digest, status: LayerStatus) -> Progress {
        Progress::Layer {
            id: digest.short().to_string(),
            status,
        }
    }

    pub fn message(&self) -> Message {
        let plain = |status: String| Message {
            id: None,
            status,
            progress: None,
        };
        match self {
            Progress::PullingFrom { id, repository } => Message {
                id: Some(id.clone()),
                status: format!("Pulling from {repository}"),
                progress: None,
            },
            Progress::PushingTo { repository } => {
                plain(format!("The push refers to repository [{repository}]"))
            }
            Progress::Digest(d) => plain(format!("Digest: {d}")),
            Progress::Status(s) => plain(s.clone()),
            Progress::Layer { id, status } => {
                let (text, progress) = status.text();
                Message {
                    id: Some(id.clone()),
                    status: text,
                    progress,
                }
            }
        }
    }
}

impl LayerStatus {
    fn text(&self) -> (String, Option<(u64, u64)>) {
        let s = |t: &str| (t.to_string(), None);
        match self {
            LayerStatus::PullingFsLayer => s("Pulling fs layer"),
            LayerStatus::Waiting => s("Waiting"),
            LayerStatus::Downloading { current, total } => {
                ("Downloading".into(), Some((*current, *total)))
            }
            LayerStatus::VerifyingChecksum => s("Verifying Checksum"),
            LayerStatus::DownloadComplete => s("Download complete"),
            LayerStatus::Extracting { current, total } => {
                ("Extracting".into(), Some((*current, *total)))
            }
            LayerStatus::PullComplete => s("Pull complete"),
            LayerStatus::AlreadyExists => s("Already exists"),
            LayerStatus::Preparing => s("Preparing"),
            LayerStatus::Pushing { current, total } => ("Pushing".into(), Some((*current, *total))),
            LayerStatus::Pushed => s("Pushed"),
            LayerStatus::LayerAlreadyExists => s("Layer already exists"),
            LayerStatus::MountedFrom { repository } => (format!("Mounted from {repository}"), None),
            LayerStatus::Loading { current, total } => {
                ("Loading layer".into(), Some((*current, *total)))
            }
        }
    }
}

/// Where events go (a channel to the HTTP response, a test's list).
pub trait ProgressSink: Send + Sync {
    fn send(&self, p: Progress);
}

impl<F: Fn(Progress) + Send + Sync> ProgressSink for F {
    fn send(&self, p: Progress) {
        self(p)
    }
}

/// Drops every event.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn send(&self, _: Progress) {}
}

/// Byte counts are sent at most every this many bytes (and at the end).
pub(crate) const PROGRESS_STEP: u64 = 512 << 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_docker_s() {
        let d = Digest::of(b"x");
        let m = Progress::layer(
            &d,
            LayerStatus::Downloading {
                current: 1,
                total: 2,
            },
        )
        .message();
        assert_eq!(m.id.as_deref(), Some(d.short()));
        assert_eq!(m.status, "Downloading");
        assert_eq!(m.progress, Some((1, 2)));
        let m = Progress::PullingFrom {
            id: "latest".into(),
            repository: "library/busybox".into(),
        }
        .message();
        assert_eq!(m.status, "Pulling from library/busybox");
        assert_eq!(
            Progress::layer(
                &d,
                LayerStatus::MountedFrom {
                    repository: "a/b".into()
                }
            )
            .message()
            .status,
            "Mounted from a/b"
        );
        assert_eq!(
            Progress::Digest(d.clone()).message().status,
            format!("Digest: {d}")
        );
    }
}
