//! Forwarding to upstream resolvers. Upstream sockets are made in the upstream namespace
//! (the daemon's, unless told otherwise) by a thread that lives there, then used from the
//! async runtime: a socket keeps the namespace it was made in.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use hickory_proto::op::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{Error, Result};
use crate::netns::{spawn_in, Netns};

const TIMEOUT: Duration = Duration::from_secs(2);

enum Request {
    Udp(
        bool,
        tokio::sync::oneshot::Sender<io::Result<std::net::UdpSocket>>,
    ),
    Tcp(
        SocketAddr,
        tokio::sync::oneshot::Sender<io::Result<std::net::TcpStream>>,
    ),
}

/// Makes upstream sockets: here, or through the thread living in the upstream namespace.
pub(super) struct Sockets {
    thread: Option<Mutex<mpsc::Sender<Request>>>,
}

impl Sockets {
    pub(super) fn new(ns: Option<&Netns>) -> Result<Self> {
        let Some(ns) = ns else {
            return Ok(Sockets { thread: None });
        };
        let (tx, rx) = mpsc::channel::<Request>();
        spawn_in(ns, move |entered| {
            // Ends when the resolver, holding the sender, goes away.
            for req in rx {
                match req {
                    Request::Udp(v6, reply) => {
                        let r = entered.as_ref().map_err(clone_err).and_then(|()| udp(v6));
                        let _ = reply.send(r);
                    }
                    Request::Tcp(addr, reply) => {
                        let r = entered
                            .as_ref()
                            .map_err(clone_err)
                            .and_then(|()| std::net::TcpStream::connect_timeout(&addr, TIMEOUT));
                        let _ = reply.send(r);
                    }
                }
            }
        })
        .map_err(|e| Error::io("start the DNS forwarder's thread", e))?;
        Ok(Sockets {
            thread: Some(Mutex::new(tx)),
        })
    }

    async fn udp(&self, v6: bool) -> io::Result<tokio::net::UdpSocket> {
        let std = match &self.thread {
            None => udp(v6)?,
            Some(tx) => {
                let (reply, rx) = tokio::sync::oneshot::channel();
                self.send(tx, Request::Udp(v6, reply))?;
                rx.await
                    .map_err(|_| io::Error::other("DNS forwarder thread gone"))??
            }
        };
        std.set_nonblocking(true)?;
        tokio::net::UdpSocket::from_std(std)
    }

    async fn tcp(&self, addr: SocketAddr) -> io::Result<tokio::net::TcpStream> {
        match &self.thread {
            None => tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(addr))
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?,
            Some(tx) => {
                let (reply, rx) = tokio::sync::oneshot::channel();
                self.send(tx, Request::Tcp(addr, reply))?;
                let std = rx
                    .await
                    .map_err(|_| io::Error::other("DNS forwarder thread gone"))??;
                std.set_nonblocking(true)?;
                tokio::net::TcpStream::from_std(std)
            }
        }
    }

    fn send(&self, tx: &Mutex<mpsc::Sender<Request>>, req: Request) -> io::Result<()> {
        tx.lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(req)
            .map_err(|_| io::Error::other("DNS forwarder thread gone"))
    }

    /// Asks each upstream in turn; the first answer wins.
    pub(super) async fn forward(
        &self,
        query: &Message,
        upstreams: &[SocketAddr],
        tcp: bool,
    ) -> io::Result<Message> {
        let bytes = query.to_vec().map_err(io::Error::other)?;
        let mut last = io::Error::other("no upstream resolver");
        for up in upstreams {
            let tried = if tcp {
                tokio::time::timeout(TIMEOUT, self.over_tcp(&bytes, *up)).await
            } else {
                tokio::time::timeout(TIMEOUT, self.over_udp(&bytes, query.id(), *up)).await
            };
            match tried {
                Ok(Ok(m)) => return Ok(m),
                Ok(Err(e)) => last = e,
                Err(_) => {
                    last = io::Error::new(io::ErrorKind::TimedOut, format!("{up} did not answer"))
                }
            }
        }
        Err(last)
    }

    async fn over_udp(&self, bytes: &[u8], id: u16, up: SocketAddr) -> io::Result<Message> {
        let sock = self.udp(up.is_ipv6()).await?;
        sock.send_to(bytes, up).await?;
        let mut buf = vec![0u8; 65535];
        loop {
            let (n, from) = sock.recv_from(&mut buf).await?;
            // Only the upstream's answer to this query counts.
            if from != up {
                continue;
            }
            match Message::from_vec(&buf[..n]) {
                Ok(m) if m.id() == id => return Ok(m),
                _ => continue,
            }
        }
    }

    async fn over_tcp(&self, bytes: &[u8], up: SocketAddr) -> io::Result<Message> {
        let mut s = self.tcp(up).await?;
        let len = u16::try_from(bytes.len()).map_err(io::Error::other)?;
        s.write_all(&len.to_be_bytes()).await?;
        s.write_all(bytes).await?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len).await?;
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).await?;
        Message::from_vec(&buf).map_err(io::Error::other)
    }
}

fn udp(v6: bool) -> io::Result<std::net::UdpSocket> {
    if v6 {
        std::net::UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0))
    } else {
        std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
    }
}

fn clone_err(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}
