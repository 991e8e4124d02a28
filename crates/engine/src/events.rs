//! The event bus: every state change is published here, kept for `--since`, and streamed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::broadcast;

/// How many past events `GET /events?since=` can replay.
const HISTORY: usize = 1024;

/// Something that happened to an object, in the engine's terms (the daemon writes Docker's
/// event message from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `container`, `image`...
    pub kind: String,
    pub action: String,
    /// The object's id.
    pub actor_id: String,
    /// Docker's attributes (name, image, labels...).
    pub attributes: BTreeMap<String, String>,
    /// Unix nanoseconds.
    pub time_nano: i64,
}

pub struct EventBus {
    history: Mutex<VecDeque<Event>>,
    live: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            live: broadcast::channel(256).0,
        }
    }
}

impl EventBus {
    /// Publishes an event about an object (`container`, `image`...).
    pub fn publish(
        &self,
        kind: &str,
        action: &str,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let msg = Event {
            kind: kind.to_string(),
            action: action.to_string(),
            actor_id: id.to_string(),
            attributes,
            time_nano: chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0),
        };
        if let Ok(mut h) = self.history.lock() {
            if h.len() == HISTORY {
                h.pop_front();
            }
            h.push_back(msg.clone());
        }
        let _ = self.live.send(msg);
    }

    /// Past events and a receiver for the ones to come, taken together so none is missed.
    pub fn subscribe(&self) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let h = self.history.lock().map(|h| h.iter().cloned().collect());
        let rx = self.live.subscribe();
        (h.unwrap_or_default(), rx)
    }
}

/// `GET /events` filters, all of Docker's: `type`, `event`/`action`, `container`, `image`,
/// `label`, `network`, `volume`, `daemon`, `scope`, and the swarm ones (`node`, `service`,
/// `secret`, `config`, `plugin`), which match nothing here.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    filters: BTreeMap<String, Vec<String>>,
}

const EVENT_FILTERS: &[&str] = &[
    "type",
    "event",
    "action",
    "container",
    "image",
    "label",
    "network",
    "volume",
    "daemon",
    "scope",
    "node",
    "service",
    "secret",
    "config",
    "plugin",
];

impl EventFilter {
    /// Refuses keys Docker does not know, with its message.
    pub fn new(filters: BTreeMap<String, Vec<String>>) -> crate::Result<Self> {
        if let Some(key) = filters
            .keys()
            .find(|k| !EVENT_FILTERS.contains(&k.as_str()))
        {
            return Err(crate::EngineError::invalid(format!(
                "invalid filter '{key}'"
            )));
        }
        Ok(Self { filters })
    }

    pub fn matches(&self, ev: &Event) -> bool {
        let actor_is = |kind: &str, w: &str| {
            ev.kind == kind
                && (ev.actor_id == w
                    || ev.actor_id.starts_with(w)
                    || ev.attributes.get("name").map(String::as_str) == Some(w))
        };
        self.filters.iter().all(|(key, wanted)| {
            // Every label must match (Docker's MatchKVList); other keys take any value.
            if key == "label" {
                return wanted.iter().all(|w| match w.split_once('=') {
                    Some((k, v)) => ev.attributes.get(k).map(String::as_str) == Some(v),
                    None => ev.attributes.contains_key(w),
                });
            }
            wanted.iter().any(|w| match key.as_str() {
                "type" => &ev.kind == w,
                "event" | "action" => {
                    &ev.action == w || ev.action.split(':').next() == Some(w.as_str())
                }
                "container" => actor_is("container", w),
                "image" => {
                    ev.attributes.get("image") == Some(w)
                        || (ev.kind == "image" && (ev.actor_id == *w || actor_is("image", w)))
                }
                "network" => actor_is("network", w),
                "volume" => actor_is("volume", w),
                "daemon" => actor_is("daemon", w),
                // Every event of a local daemon is of the `local` scope.
                "scope" => w == "local",
                _ => false,
            })
        })
    }
}
