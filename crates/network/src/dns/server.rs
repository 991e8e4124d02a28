//! One container's DNS server: the sockets inside its namespace, served by hickory.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hickory_proto::op::{Header, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{RData, Record, RecordType};
use hickory_proto::xfer::Protocol;
use hickory_server::authority::MessageResponseBuilder;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::ServerFuture;

use super::{Inner, DNS_ADDR, TTL};
use crate::error::{Error, Result};
use crate::netns::{set_up, Netns};

/// A running DNS server of one container. Stopping or dropping it closes its sockets.
pub struct DnsServer {
    token: tokio_util::sync::CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl DnsServer {
    /// Stops serving and waits until the sockets are closed.
    pub async fn stop(mut self) {
        self.token.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

pub(super) async fn serve(
    inner: Arc<Inner>,
    container: &str,
    ns: &Netns,
    upstreams: Vec<SocketAddr>,
) -> Result<DnsServer> {
    let addr = SocketAddr::from((DNS_ADDR, 53));
    let (udp, tcp) = ns
        .run_async(move || {
            // 127.0.0.11 lives on lo.
            set_up("lo")?;
            let udp = std::net::UdpSocket::bind(addr)?;
            udp.set_nonblocking(true)?;
            let tcp = std::net::TcpListener::bind(addr)?;
            tcp.set_nonblocking(true)?;
            Ok((udp, tcp))
        })
        .await
        .map_err(|e| Error::io(format!("listen on {addr} in the container's namespace"), e))?;
    let handler = Handler {
        inner,
        container: container.to_string(),
        upstreams,
    };
    let mut server = ServerFuture::new(handler);
    let io = |e| Error::io("serve DNS", e);
    server.register_socket(tokio::net::UdpSocket::from_std(udp).map_err(io)?);
    server.register_listener(
        tokio::net::TcpListener::from_std(tcp).map_err(io)?,
        Duration::from_secs(5),
    );
    let token = server.shutdown_token().clone();
    let task = tokio::spawn(async move {
        if let Err(e) = server.block_until_done().await {
            tracing::warn!("embedded DNS server: {e}");
        }
    });
    Ok(DnsServer {
        token,
        task: Some(task),
    })
}

struct Handler {
    inner: Arc<Inner>,
    container: String,
    upstreams: Vec<SocketAddr>,
}

/// An answer to send: its header fields and records.
struct Answer {
    code: ResponseCode,
    truncated: bool,
    answers: Vec<Record>,
    authority: Vec<Record>,
    additionals: Vec<Record>,
}

impl Answer {
    fn code(code: ResponseCode) -> Self {
        Answer {
            code,
            truncated: false,
            answers: Vec::new(),
            authority: Vec::new(),
            additionals: Vec::new(),
        }
    }
}

impl Handler {
    async fn answer(&self, request: &Request) -> Answer {
        if request.message_type() != MessageType::Query || request.op_code() != OpCode::Query {
            return Answer::code(ResponseCode::NotImp);
        }
        let Some(query) = request.queries().first() else {
            return Answer::code(ResponseCode::FormErr);
        };
        let name = query.original().name().clone();
        if let Some(ips) = self.inner.records.find(&self.container, &name.to_ascii()) {
            let answers = ips
                .into_iter()
                .filter_map(|ip| match (ip, query.query_type()) {
                    (IpAddr::V4(v4), RecordType::A | RecordType::ANY) => Some(RData::A(A(v4))),
                    (IpAddr::V6(v6), RecordType::AAAA | RecordType::ANY) => {
                        Some(RData::AAAA(AAAA(v6)))
                    }
                    _ => None,
                })
                .map(|rdata| Record::from_rdata(name.clone(), TTL, rdata))
                .collect();
            // A known name without an address of the asked type: NOERROR, no answer.
            return Answer {
                answers,
                ..Answer::code(ResponseCode::NoError)
            };
        }
        if self.upstreams.is_empty() {
            return Answer::code(ResponseCode::ServFail);
        }
        let mut out = Message::new();
        out.set_id(rand::random())
            .set_recursion_desired(request.recursion_desired())
            .add_query(query.original().clone());
        let tcp = request.protocol() == Protocol::Tcp;
        match self.inner.sockets.forward(&out, &self.upstreams, tcp).await {
            Ok(m) => Answer {
                code: m.response_code(),
                truncated: m.truncated(),
                answers: m.answers().to_vec(),
                authority: m.name_servers().to_vec(),
                additionals: m.additionals().to_vec(),
            },
            Err(e) => {
                tracing::debug!("forwarding {name} for {}: {e}", self.container);
                Answer::code(ResponseCode::ServFail)
            }
        }
    }
}

#[async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let a = self.answer(request).await;
        let mut header = Header::response_from_request(request.header());
        header
            .set_response_code(a.code)
            .set_recursion_available(true)
            .set_authoritative(false)
            .set_truncated(a.truncated);
        let msg = MessageResponseBuilder::from_message_request(request).build(
            header,
            a.answers.iter(),
            a.authority.iter(),
            std::iter::empty(),
            a.additionals.iter(),
        );
        match response.send_response(msg).await {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!("answering a DNS query: {e}");
                let mut h = Header::response_from_request(request.header());
                h.set_response_code(ResponseCode::ServFail);
                h.into()
            }
        }
    }
}
