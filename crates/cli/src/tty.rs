//! Terminal handling for `-t`: raw mode on our stdin, window size, and SIGWINCH → resize.

use std::io::IsTerminal;
use std::os::fd::BorrowedFd;

use nix::sys::termios::{self, SetArg, Termios};

use berth_client::Client;

pub fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// Puts stdin in raw mode until dropped (keys go to the container, not our line discipline).
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    pub fn enable() -> Option<RawMode> {
        if !stdin_is_tty() {
            return None;
        }
        // SAFETY: fd 0 stays open for the life of the process.
        let fd = unsafe { BorrowedFd::borrow_raw(0) };
        let saved = termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: fd 0 stays open for the life of the process.
        let fd = unsafe { BorrowedFd::borrow_raw(0) };
        let _ = termios::tcsetattr(fd, SetArg::TCSANOW, &self.saved);
    }
}

/// (rows, cols) of the terminal on stdout, or stdin when stdout is redirected.
pub fn window_size() -> Option<(u16, u16)> {
    for fd in [1, 0] {
        let mut ws = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes one `winsize` into the valid, owned struct.
        let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
        if rc == 0 && ws.ws_row > 0 && ws.ws_col > 0 {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}

/// What to resize: a container's tty or an exec's.
#[derive(Clone)]
pub enum ResizeTarget {
    Container(String),
    Exec(String),
}

pub async fn resize(client: &Client, target: &ResizeTarget) {
    let Some((h, w)) = window_size() else {
        return;
    };
    // Docker ignores resize errors: the process may already have exited (409/500).
    let _ = match target {
        ResizeTarget::Container(id) => client.container_resize(id, h, w).await,
        ResizeTarget::Exec(id) => client.exec_resize(id, h, w).await,
    };
}

/// Sends a resize now and on every SIGWINCH until the task is aborted.
pub fn spawn_resize_monitor(client: Client, target: ResizeTarget) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        resize(&client, &target).await;
        let Ok(mut sig) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        while sig.recv().await.is_some() {
            resize(&client, &target).await;
        }
    })
}
