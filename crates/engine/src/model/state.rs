//! A container's lifecycle: its status, and the one function every status change goes
//! through ([`State::apply`]), which refuses the moves Docker refuses, with Docker's words.

use berth_errdefs::ErrorKind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Docker's seven statuses (`State.Status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl ContainerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Removing => "removing",
            Self::Exited => "exited",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => Self::Created,
            "running" => Self::Running,
            "paused" => Self::Paused,
            "restarting" => Self::Restarting,
            "removing" => Self::Removing,
            "exited" => Self::Exited,
            "dead" => Self::Dead,
            _ => return None,
        })
    }

    /// Init runs (frozen or not): what Docker reports as `State.Running`.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Running | Self::Paused)
    }
}

impl fmt::Display for ContainerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a container, as far as its status is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Init was started (a first start, a restart, a start after an exit).
    Start,
    Pause,
    Unpause,
    /// Init exited (or was found gone when the daemon started).
    Exit,
    /// The restart policy will start it again after a back-off.
    ScheduleRestart,
    /// A pending restart was cancelled (`stop`) or failed.
    CancelRestart,
    /// Removal began.
    Remove,
    /// Removal failed half-way.
    Die,
}

/// A move the lifecycle refuses. The messages are dockerd's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransitionError {
    #[error("container already started")]
    AlreadyStarted,
    #[error("cannot start a paused container, try unpause instead")]
    StartPaused,
    #[error("container is marked for removal and cannot be started")]
    StartRemoving,
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("Container {0} is already paused")]
    AlreadyPaused(String),
    #[error("Container {0} is not paused")]
    NotPaused(String),
    #[error("container {id}: cannot go from {from} on {event:?}")]
    Illegal {
        id: String,
        from: ContainerStatus,
        event: Event,
    },
}

impl TransitionError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::AlreadyStarted => ErrorKind::NotModified,
            _ => ErrorKind::Conflict,
        }
    }
}

/// The lifecycle table: the status `event` leads to from `from`, or why it may not happen.
pub fn next(
    id: &str,
    from: ContainerStatus,
    event: Event,
) -> Result<ContainerStatus, TransitionError> {
    use ContainerStatus as S;
    use Event as E;
    let illegal = || TransitionError::Illegal {
        id: id.to_string(),
        from,
        event,
    };
    match (event, from) {
        (E::Start, S::Created | S::Exited | S::Restarting) => Ok(S::Running),
        (E::Start, S::Running) => Err(TransitionError::AlreadyStarted),
        (E::Start, S::Paused) => Err(TransitionError::StartPaused),
        (E::Start, S::Removing | S::Dead) => Err(TransitionError::StartRemoving),
        (E::Pause, S::Running) => Ok(S::Paused),
        (E::Pause, S::Paused) => Err(TransitionError::AlreadyPaused(id.to_string())),
        (E::Pause, _) => Err(TransitionError::NotRunning(id.to_string())),
        (E::Unpause, S::Paused) => Ok(S::Running),
        (E::Unpause, _) => Err(TransitionError::NotPaused(id.to_string())),
        // A restarting container found at daemon start settles as exited too.
        (E::Exit, S::Running | S::Paused | S::Restarting) => Ok(S::Exited),
        (E::ScheduleRestart, S::Exited) => Ok(S::Restarting),
        (E::CancelRestart, S::Restarting) => Ok(S::Exited),
        (E::Remove, S::Created | S::Exited | S::Dead) => Ok(S::Removing),
        (E::Die, S::Removing) => Ok(S::Dead),
        _ => Err(illegal()),
    }
}

/// The engine's record of a container's state (inspect's `State` is made from it at the
/// daemon's edge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Changed only by [`State::apply`].
    status: ContainerStatus,
    /// Host pid of init while it runs, else 0.
    pub pid: i32,
    pub exit_code: i32,
    /// Why the last start failed ("" after a good one).
    pub error: String,
    pub oom_killed: bool,
    /// RFC 3339; Go's zero time for "never".
    pub started_at: String,
    pub finished_at: String,
    /// `State.Health` of a container with a healthcheck, as its shim last reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<berth_shim_protocol::Health>,
}

/// The zero time Go prints for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Default for State {
    fn default() -> Self {
        Self {
            status: ContainerStatus::Created,
            pid: 0,
            exit_code: 0,
            error: String::new(),
            oom_killed: false,
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            health: None,
        }
    }
}

impl State {
    /// The one place a status changes.
    pub fn apply(&mut self, id: &str, event: Event) -> Result<(), TransitionError> {
        self.status = next(id, self.status, event)?;
        Ok(())
    }

    /// Whether `event` may happen now, without making it happen (checked before any work).
    pub fn check(&self, id: &str, event: Event) -> Result<(), TransitionError> {
        next(id, self.status, event).map(|_| ())
    }

    /// A state read back from an older record (the store's migration), with the status it had.
    pub(crate) fn restored(status: ContainerStatus) -> Self {
        Self {
            status,
            ..Self::default()
        }
    }

    pub fn status(&self) -> ContainerStatus {
        self.status
    }

    pub fn is_running(&self) -> bool {
        self.status.is_running()
    }
    pub fn is_paused(&self) -> bool {
        self.status == ContainerStatus::Paused
    }
    pub fn is_restarting(&self) -> bool {
        self.status == ContainerStatus::Restarting
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContainerStatus as S;
    use Event as E;

    const ALL: [S; 7] = [
        S::Created,
        S::Running,
        S::Paused,
        S::Restarting,
        S::Removing,
        S::Exited,
        S::Dead,
    ];
    const EVENTS: [E; 8] = [
        E::Start,
        E::Pause,
        E::Unpause,
        E::Exit,
        E::ScheduleRestart,
        E::CancelRestart,
        E::Remove,
        E::Die,
    ];

    /// The whole table: every (event, status) pair not listed here must be refused.
    #[test]
    fn the_transition_table_is_exactly_dockers() {
        let allowed = [
            (E::Start, S::Created, S::Running),
            (E::Start, S::Exited, S::Running),
            (E::Start, S::Restarting, S::Running),
            (E::Pause, S::Running, S::Paused),
            (E::Unpause, S::Paused, S::Running),
            (E::Exit, S::Running, S::Exited),
            (E::Exit, S::Paused, S::Exited),
            (E::Exit, S::Restarting, S::Exited),
            (E::ScheduleRestart, S::Exited, S::Restarting),
            (E::CancelRestart, S::Restarting, S::Exited),
            (E::Remove, S::Created, S::Removing),
            (E::Remove, S::Exited, S::Removing),
            (E::Remove, S::Dead, S::Removing),
            (E::Die, S::Removing, S::Dead),
        ];
        for e in EVENTS {
            for s in ALL {
                let want = allowed
                    .iter()
                    .find(|(ae, af, _)| *ae == e && *af == s)
                    .map(|(_, _, to)| *to);
                assert_eq!(next("c", s, e).ok(), want, "{e:?} from {s}");
            }
        }
    }

    #[test]
    fn refusals_carry_dockers_messages_and_kinds() {
        let e = next("abc", S::Exited, E::Pause).unwrap_err();
        assert_eq!(e.to_string(), "Container abc is not running");
        assert_eq!(e.kind(), ErrorKind::Conflict);
        let e = next("abc", S::Paused, E::Pause).unwrap_err();
        assert_eq!(e.to_string(), "Container abc is already paused");
        let e = next("abc", S::Running, E::Unpause).unwrap_err();
        assert_eq!(e.to_string(), "Container abc is not paused");
        let e = next("abc", S::Running, E::Start).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotModified);
        assert_eq!(e.to_string(), "container already started");
        let e = next("abc", S::Paused, E::Start).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot start a paused container, try unpause instead"
        );
        assert_eq!(e.kind(), ErrorKind::Conflict);
    }

    #[test]
    fn a_refused_move_leaves_the_state_alone() {
        let mut st = State::default();
        assert!(st.apply("c", E::Pause).is_err());
        assert_eq!(st.status, S::Created);
        st.apply("c", E::Start).unwrap();
        st.apply("c", E::Pause).unwrap();
        assert!(st.is_running() && st.is_paused());
    }

    #[test]
    fn statuses_read_back_as_written() {
        for s in ALL {
            assert_eq!(ContainerStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(ContainerStatus::parse("zombie"), None);
    }
}
