//! Where a PostgreSQL connection goes, and cancel requests that wait for the server to act.
//!
//! A cancel request travels on a connection of its own, to the same server as the session it
//! cancels, so each session remembers the exact address it reached: the sockets are connected
//! here, host by host and address by address (as tokio-postgres would), and the session is
//! started on them with `Config::connect_raw`.
//!
//! tokio-postgres's `cancel_query` returns as soon as it has written the request, before the
//! server acted on it: a session reused at that point can have its *next* statement cancelled.
//! The postmaster hands a cancel request to a forked child, which signals the backend (`kill`)
//! and only then exits, closing the socket. So [`cancel`] sends the request on a stream whose
//! shutdown waits for that close: when it returns true, the signal is already pending on the
//! backend, and a statement queued after that moment can only meet it while the backend reads
//! (where PostgreSQL discards a cancel: postgres.c checks interrupts with `DoingCommandRead`
//! set before running each command it reads).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream, UnixStream};
use tokio::task::AbortHandle;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{CancelToken, Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::error::map_pg_error;
use crate::error::{EngineError, ErrorKind, Result};

/// The server a session reached: where its cancel requests go.
#[derive(Clone)]
pub enum Target {
    Tcp {
        addr: SocketAddr,
        host: String,
    },
    /// A Unix-domain socket (a host given as a directory, like libpq's); never TLS.
    Unix(PathBuf),
}

/// A started session: its client, the task driving its socket, and where it went.
pub struct Session {
    pub client: Client,
    pub socket_task: AbortHandle,
    pub target: Target,
}

/// Start a session on the first host (and address) that accepts one, as libpq does.
pub async fn connect(
    config: &Config,
    hosts: &[String],
    port: u16,
    timeout: Duration,
    tls: Option<&MakeRustlsConnect>,
) -> Result<Session> {
    let mut last: Option<EngineError> = None;
    for host in hosts {
        if host.starts_with('/') {
            let path = PathBuf::from(host).join(format!(".s.PGSQL.{port}"));
            match within(timeout, UnixStream::connect(&path)).await {
                Ok(stream) => match start(config, stream, NoTls).await {
                    Ok((client, socket_task)) => {
                        return Ok(Session {
                            client,
                            socket_task,
                            target: Target::Unix(path),
                        })
                    }
                    Err(e) => last = Some(e),
                },
                Err(e) => last = Some(io_error(&format!("{}", path.display()), e)),
            }
            continue;
        }
        let addrs = match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(addrs) => addrs,
            Err(e) => {
                last = Some(io_error(host, e));
                continue;
            }
        };
        for addr in addrs {
            let stream = match within(timeout, tcp(addr)).await {
                Ok(stream) => stream,
                Err(e) => {
                    last = Some(io_error(&addr.to_string(), e));
                    continue;
                }
            };
            let started = match tls {
                Some(tls) => match MakeTlsConnect::<TcpStream>::make_tls_connect(&mut tls.clone(), host) {
                    Ok(connector) => start(config, stream, connector).await,
                    Err(e) => Err(EngineError::config(format!("TLS setup for {host} failed: {e}"))),
                },
                None => start(config, stream, NoTls).await,
            };
            match started {
                Ok((client, socket_task)) => {
                    return Ok(Session {
                        client,
                        socket_task,
                        target: Target::Tcp {
                            addr,
                            host: host.clone(),
                        },
                    })
                }
                Err(e) => last = Some(e),
            }
        }
    }
    Err(last.unwrap_or_else(|| EngineError::connection("no PostgreSQL host to connect to")))
}

async fn tcp(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As tokio-postgres does: keepalives find a dead peer, and small requests go out at once.
    socket.set_keepalive(true)?;
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

async fn start<S, T>(config: &Config, stream: S, tls: T) -> Result<(Client, AbortHandle)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: tokio_postgres::tls::TlsConnect<S> + Send,
    T::Stream: Send + 'static,
    T::Future: Send,
{
    let (client, connection) = config.connect_raw(stream, tls).await.map_err(connect_error)?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok((client, task.abort_handle()))
}

async fn within<T>(timeout: Duration, fut: impl std::future::Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")))
}

fn io_error(target: &str, e: io::Error) -> EngineError {
    EngineError::connection(format!("cannot connect to PostgreSQL at {target}: {e}"))
}

/// Errors of the session start-up; authentication and unknown-database failures are
/// connection errors too.
pub fn connect_error(err: tokio_postgres::Error) -> EngineError {
    let mut e = map_pg_error(err);
    if e.sqlstate.is_none() {
        e.kind = ErrorKind::Connection;
    }
    if matches!(e.sqlstate.as_deref(), Some("28P01") | Some("28000") | Some("3D000")) {
        e.kind = ErrorKind::Connection;
    }
    e
}

/// Ask the server to cancel what `token`'s session runs, and wait until it has acted. True when
/// the server closed the cancel connection (the backend is signalled, or no longer exists);
/// false when the request could not be delivered in time (the session's state is then unknown).
pub async fn cancel(token: &CancelToken, target: &Target, tls: Option<&MakeRustlsConnect>, timeout: Duration) -> bool {
    let attempt = async {
        match target {
            Target::Unix(path) => {
                let stream = UnixStream::connect(path).await.ok()?;
                token.cancel_query_raw(UntilClosed::new(stream), NoTls).await.ok()
            }
            Target::Tcp { addr, host } => {
                let stream = UntilClosed::new(tcp(*addr).await.ok()?);
                match tls {
                    Some(tls) => {
                        let connector =
                            MakeTlsConnect::<UntilClosed<TcpStream>>::make_tls_connect(&mut tls.clone(), host).ok()?;
                        token.cancel_query_raw(stream, connector).await.ok()
                    }
                    None => token.cancel_query_raw(stream, NoTls).await.ok(),
                }
            }
        }
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(())))
}

/// A stream whose shutdown, after closing its write half, reads (and drops) until the peer
/// closes too: `cancel_query_raw` ends with a shutdown, so it then returns only once the server
/// is done with the request.
pub struct UntilClosed<S> {
    inner: S,
    write_closed: bool,
}

impl<S> UntilClosed<S> {
    fn new(inner: S) -> Self {
        UntilClosed {
            inner,
            write_closed: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for UntilClosed<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for UntilClosed<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.write_closed {
            ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
            self.write_closed = true;
        }
        let mut scratch = [0u8; 256];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf)) {
                Ok(()) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Ok(()) => continue,
                // The server closed with our TLS close-notify still unread: closed all the same.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}
