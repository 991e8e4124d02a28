//! The event bus: every state change is published here, kept for `--since`, and streamed.

use berth_api::event::{EventActor, EventMessage};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::broadcast;

/// How many past events `GET /events?since=` can replay.
const HISTORY: usize = 1024;

pub struct EventBus {
    history: Mutex<VecDeque<EventMessage>>,
    live: broadcast::Sender<EventMessage>,
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
        let now = chrono::Utc::now();
        let nanos = now.timestamp_nanos_opt().unwrap_or(0);
        // Only container events still carry the pre-1.22 `status`/`id`/`from` fields.
        let legacy = kind == "container";
        let msg = EventMessage {
            kind: kind.to_string(),
            action: action.to_string(),
            actor: EventActor {
                id: id.to_string(),
                attributes: attributes.clone(),
            },
            scope: "local".into(),
            time: now.timestamp(),
            time_nano: nanos,
            status: legacy.then(|| action.to_string()),
            id: legacy.then(|| id.to_string()),
            from: attributes
                .get("image")
                .cloned()
                .filter(|_| kind == "container"),
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
    pub fn subscribe(&self) -> (Vec<EventMessage>, broadcast::Receiver<EventMessage>) {
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

    pub fn matches(&self, ev: &EventMessage) -> bool {
        let actor_is = |kind: &str, w: &str| {
            ev.kind == kind
                && (ev.actor.id == w
                    || ev.actor.id.starts_with(w)
                    || ev.actor.attributes.get("name").map(String::as_str) == Some(w))
        };
        self.filters.iter().all(|(key, wanted)| {
            // Every label must match (Docker's MatchKVList); other keys take any value.
            if key == "label" {
                return wanted.iter().all(|w| match w.split_once('=') {
                    Some((k, v)) => ev.actor.attributes.get(k).map(String::as_str) == Some(v),
                    None => ev.actor.attributes.contains_key(w),
                });
            }
            wanted.iter().any(|w| match key.as_str() {
                "type" => &ev.kind == w,
                "event" | "action" => {
                    &ev.action == w || ev.action.split(':').next() == Some(w.as_str())
                }
                "container" => actor_is("container", w),
                "image" => {
                    ev.actor.attributes.get("image") == Some(w)
                        || (ev.kind == "image" && (ev.actor.id == *w || actor_is("image", w)))
                }
                "network" => actor_is("network", w),
                "volume" => actor_is("volume", w),
                "daemon" => actor_is("daemon", w),
                "scope" => ev.scope == *w,
                _ => false,
            })
        })
    }
}
