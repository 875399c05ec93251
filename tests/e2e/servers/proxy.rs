//! A TCP proxy on loopback between the tool and a server, to make the
//! server look slow: every byte is paced to a rate, and connections can be
//! made to hang (accepted, then never answered) to test timeouts and
//! retries.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// What the proxy does to the traffic.
#[derive(Clone, Copy, Debug)]
pub struct Slowness {
    /// Bytes per second each way, per connection.
    pub rate: u64,
    /// The first `hang_first` connections are accepted and then ignored:
    /// nothing is forwarded either way until they are closed.
    pub hang_first: usize,
}

pub struct Proxy {
    port: u16,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
}

impl Proxy {
    /// Listens on a free 127.0.0.1 port and forwards to `127.0.0.1:target`.
    pub fn start(target: u16, slowness: Slowness) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let (s, c) = (stop.clone(), connections.clone());
        thread::spawn(move || {
            let mut held = Vec::new();
            while !s.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(20));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let n = c.fetch_add(1, Ordering::SeqCst);
                if n < slowness.hang_first {
                    held.push(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let s = s.clone();
                    thread::spawn(move || pump(from, to, slowness.rate, &s));
                }
            }
        });
        Proxy {
            port,
            stop,
            connections,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to` at `rate` bytes per second.
fn pump(mut from: TcpStream, mut to: TcpStream, rate: u64, stop: &AtomicBool) {
    let started = Instant::now();
    let mut moved = 0u64;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        moved += n as u64;
        let due = Duration::from_secs_f64(moved as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            thread::sleep(wait);
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
