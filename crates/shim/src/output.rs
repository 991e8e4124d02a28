//! Fan-out of a process's output: to the log file and to every attached client, without
//! ever letting a slow client hold up the container.

use crate::stdio::FdIo;
use berth_logging::{LogWriter, Stream};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use tokio::sync::mpsc;

pub use berth_shim_protocol::{STREAM_STDERR, STREAM_STDOUT};

/// One chunk of output, shared by all subscribers without copying.
pub type Chunk = (u8, Rc<[u8]>);

/// Chunks a client may lag behind before it is dropped (each at most `READ_SIZE` bytes).
const CLIENT_QUEUE: usize = 256;
const READ_SIZE: usize = 32 * 1024;

struct Subscriber {
    stdout: bool,
    stderr: bool,
    tx: mpsc::Sender<Chunk>,
}

/// Subscribers to one process's output.
#[derive(Default)]
pub struct Hub {
    subs: RefCell<Vec<Subscriber>>,
    closed: Cell<bool>,
}

impl Hub {
    /// Adds a subscriber; `None` once the output has ended.
    pub fn subscribe(&self, stdout: bool, stderr: bool) -> Option<mpsc::Receiver<Chunk>> {
        if self.closed.get() {
            return None;
        }
        let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
        self.subs
            .borrow_mut()
            .push(Subscriber { stdout, stderr, tx });
        Some(rx)
    }

    pub fn publish(&self, stream: u8, data: Rc<[u8]>) {
        self.subs.borrow_mut().retain(|s| {
            let wants = if stream == STREAM_STDERR {
                s.stderr
            } else {
                s.stdout
            };
            if !wants {
                return !s.tx.is_closed();
            }
            // A full queue means the client stopped reading: drop it rather than block.
            s.tx.try_send((stream, data.clone())).is_ok()
        });
    }

    /// Ends every subscriber's stream.
    pub fn close(&self) {
        self.closed.set(true);
        self.subs.borrow_mut().clear();
    }
}

/// Docker's multiplexed-stream frame header: `[stream, 0, 0, 0, len_be_u32]`.
pub fn frame_header(stream: u8, len: usize) -> [u8; 8] {
    let len = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    [stream, 0, 0, 0, len[0], len[1], len[2], len[3]]
}

/// Reads `src` to its end, logging and publishing each chunk.
pub async fn pump(src: Rc<FdIo>, stream: u8, hub: Rc<Hub>, log: Option<Rc<RefCell<LogWriter>>>) {
    let log_stream = Stream::from_id(stream);
    // Starts small and grows to READ_SIZE only for a chatty process: most write little, and
    // an idle shim should not keep pages it never needed.
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match src.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if n == buf.len() && buf.len() < READ_SIZE {
            buf.resize(buf.len() * 2, 0);
        }
        let data = &buf[..n];
        if let Some(log) = &log {
            // A full disk must not stop the container's output from flowing to clients.
            let _ = log.borrow_mut().write(log_stream, data);
        }
        hub.publish(stream, Rc::from(data));
        // A container that never stops writing must not starve the socket (a `Kill` would
        // wait for its output to pause): let the other tasks and the I/O driver run.
        tokio::task::yield_now().await;
    }
    // The last line may lack its '\n': it is logged now that the stream has ended.
    if let Some(log) = &log {
        let _ = log.borrow_mut().close_stream(log_stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_header_layout() {
        assert_eq!(frame_header(1, 5), [1, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(frame_header(2, 0x0102_0304), [2, 0, 0, 0, 1, 2, 3, 4]);
    }

    #[test]
    fn hub_routes_streams_and_drops_slow_clients() {
        let hub = Hub::default();
        let mut out = hub.subscribe(true, false).unwrap();
        let mut err = hub.subscribe(false, true).unwrap();
        hub.publish(STREAM_STDOUT, Rc::from(&b"o"[..]));
        hub.publish(STREAM_STDERR, Rc::from(&b"e"[..]));
        assert_eq!(&*out.try_recv().unwrap().1, b"o");
        assert!(out.try_recv().is_err());
        assert_eq!(err.try_recv().unwrap().0, STREAM_STDERR);
        for _ in 0..CLIENT_QUEUE + 1 {
            hub.publish(STREAM_STDOUT, Rc::from(&b"x"[..]));
        }
        // The stdout client lagged past its queue and was dropped.
        assert_eq!(hub.subs.borrow().len(), 1);
        hub.close();
        assert!(hub.subscribe(true, true).is_none());
        while err.try_recv().is_ok() {}
        assert!(matches!(
            err.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
    }
}
