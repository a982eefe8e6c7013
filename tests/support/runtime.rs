//! A Lambda Runtime API emulator on 127.0.0.1: it hands queued events to a
//! `bootstrap` through `/invocation/next` and records when and what the
//! function answered, so that init, cold and warm latencies can be measured.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the function posted for one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    pub at: Instant,
    /// From handing the event out (`/next`) to this answer.
    pub latency: Option<Duration>,
    pub body: Vec<u8>,
    pub error: bool,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, Vec<u8>)>,
    first_next: Option<Instant>,
    answers: HashMap<String, Answer>,
    delivered: HashMap<String, Instant>,
    init_error: Option<String>,
}

/// A running emulator; give `address()` to the function as `AWS_LAMBDA_RUNTIME_API`.
pub struct RuntimeApi {
    address: String,
    state: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<AtomicBool>,
    ids: AtomicU64,
}

impl RuntimeApi {
    pub fn start() -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, halt) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if halt.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let _ = stream.set_nodelay(true);
                let (s, halt) = (s.clone(), halt.clone());
                std::thread::spawn(move || serve(stream, &s, &halt));
            }
        });
        Ok(RuntimeApi {
            address,
            state,
            stop,
            ids: AtomicU64::new(0),
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Queues an event; returns its request id.
    pub fn push(&self, body: Vec<u8>) -> String {
        let id = format!("req-{}", self.ids.fetch_add(1, Ordering::Relaxed));
        let (lock, ready) = &*self.state;
        if let Ok(mut state) = lock.lock() {
            state.queue.push_back((id.clone(), body));
        }
        ready.notify_all();
        id
    }

    /// When the function first asked for an event (its init ended).
    pub fn first_next(&self) -> Option<Instant> {
        self.state.0.lock().ok().and_then(|s| s.first_next)
    }

    /// An init error the function reported, if any.
    pub fn init_error(&self) -> Option<String> {
        self.state.0.lock().ok().and_then(|s| s.init_error.clone())
    }

    /// Waits for the answer to `id`.
    pub fn answer(&self, id: &str, timeout: Duration) -> Option<Answer> {
        let deadline = Instant::now() + timeout;
        let (lock, ready) = &*self.state;
        let mut state = lock.lock().ok()?;
        loop {
            if let Some(answer) = state.answers.remove(id) {
                return Some(answer);
            }
            if state.init_error.is_some() {
                return None;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            state = ready.wait_timeout(state, left).ok()?.0;
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.state.1.notify_all();
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(&self.address);
    }
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { method, path, body })
}

fn reply(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    // One write: a head and body written apart wait on the peer's delayed ACK.
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    stream.write_all(&message)
}

fn serve(stream: TcpStream, state: &Arc<(Mutex<State>, Condvar)>, stop: &AtomicBool) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let (lock, ready) = &**state;
        let path = request.path.trim_start_matches("/2018-06-01/runtime");
        let ok = if request.method == "GET" && path == "/invocation/next" {
            let Ok(mut s) = lock.lock() else { return };
            s.first_next.get_or_insert_with(Instant::now);
            let (id, body) = loop {
                if let Some(next) = s.queue.pop_front() {
                    break next;
                }
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok((guard, _)) = ready.wait_timeout(s, Duration::from_millis(100)) else {
                    return;
                };
                s = guard;
            };
            s.delivered.insert(id.clone(), Instant::now());
            drop(s);
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 30_000)
                .unwrap_or_default();
            reply(
                &mut writer,
                "200 OK",
                &[
                    ("Lambda-Runtime-Aws-Request-Id", id),
                    ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:bench".to_string(),
                    ),
                    (
                        "Lambda-Runtime-Trace-Id",
                        "Root=1-00000000-000000000000000000000000".to_string(),
                    ),
                    ("Content-Type", "application/json".to_string()),
                ],
                &body,
            )
        } else if request.method == "POST" && path.starts_with("/invocation/") {
            let rest = &path["/invocation/".len()..];
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            if let Ok(mut s) = lock.lock() {
                let at = Instant::now();
                let latency = s.delivered.remove(id).map(|d| at - d);
                s.answers.insert(
                    id.to_string(),
                    Answer {
                        at,
                        latency,
                        body: request.body,
                        error: kind == "error",
                    },
                );
            }
            ready.notify_all();
            reply(&mut writer, "202 Accepted", &[], b"")
        } else if request.method == "POST" && path == "/init/error" {
            if let Ok(mut s) = lock.lock() {
                s.init_error = Some(String::from_utf8_lossy(&request.body).into_owned());
            }
            ready.notify_all();
            reply(&mut writer, "202 Accepted", &[], b"")
        } else {
            reply(&mut writer, "404 Not Found", &[], b"")
        };
        if ok.is_err() {
            return;
        }
    }
}
