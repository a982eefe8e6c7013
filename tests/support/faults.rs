//! A fault proxy in front of moto server: it forwards every call, except the
//! Nth calls of a named operation, which it answers with a fault (an AWS error
//! code and HTTP status, a closed connection, or no answer at all).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does instead of forwarding.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// An AWS error with this code and HTTP status, in the service's own format.
    Error { code: &'static str, status: u16 },
    /// Close the connection without answering.
    Reset,
    /// Keep the connection open and never answer.
    Hang,
}

/// Answer calls `calls` (1-based, per operation) of `operation` with `fault`.
#[derive(Debug, Clone)]
pub struct FaultRule {
    pub operation: &'static str,
    pub calls: RangeInclusive<usize>,
    pub fault: Fault,
}

/// A running proxy; `url` is its endpoint.
pub struct FaultProxy {
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
    signed: Arc<Mutex<Vec<(String, String)>>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`) applying `rules`.
    pub fn start(upstream: &str, rules: Vec<FaultRule>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = upstream.trim_start_matches("http://").to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let signed = Arc::new(Mutex::new(Vec::new()));
        let (log, keys) = (seen.clone(), signed.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (upstream, rules, log, keys) =
                    (upstream.clone(), rules.clone(), log.clone(), keys.clone());
                std::thread::spawn(move || serve(stream, &upstream, &rules, &log, &keys));
            }
        });
        FaultProxy { url, seen, signed }
    }

    /// The access key ids that signed the calls of `operation`, in order
    /// (ask STS `GetCallerIdentity` with one to learn whose it is).
    pub fn signers(&self, operation: &str) -> Vec<String> {
        self.signed
            .lock()
            .map(|s| {
                s.iter()
                    .filter(|(o, _)| o == operation)
                    .map(|(_, key)| key.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many calls of `operation` reached the proxy.
    pub fn calls(&self, operation: &str) -> usize {
        self.seen
            .lock()
            .map(|s| s.iter().filter(|o| o.as_str() == operation).count())
            .unwrap_or(0)
    }
}

struct Request {
    head: Vec<String>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.iter().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// `X-Amz-Target: Service.Operation` (JSON protocols) or `Action=Operation` (query protocols).
    fn operation(&self) -> String {
        if let Some(target) = self.header("x-amz-target") {
            return target.rsplit('.').next().unwrap_or(target).to_string();
        }
        String::from_utf8_lossy(&self.body)
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .unwrap_or("?")
            .to_string()
    }
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let length = head
        .iter()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Request { head, body })
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    rules: &[FaultRule],
    log: &Mutex<Vec<String>>,
    keys: &Mutex<Vec<(String, String)>>,
) {
    let Ok(request) = read_request(&client) else {
        return;
    };
    let operation = request.operation();
    // SigV4: `Credential=<access key id>/<date>/<region>/<service>/aws4_request`.
    if let Some(key) = request
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').next())
    {
        if let Ok(mut keys) = keys.lock() {
            keys.push((operation.clone(), key.to_string()));
        }
    }
    let nth = {
        let Ok(mut seen) = log.lock() else { return };
        seen.push(operation.clone());
        seen.iter().filter(|o| **o == operation).count()
    };
    let fault = rules
        .iter()
        .find(|r| r.operation == operation && r.calls.contains(&nth))
        .map(|r| r.fault);
    match fault {
        Some(Fault::Reset) => {}
        Some(Fault::Hang) => std::thread::sleep(Duration::from_secs(120)),
        Some(Fault::Error { code, status }) => {
            let (content_type, body) = error_body(&request, code);
            let reply = format!(
                "HTTP/1.1 {status} Fault\r\nContent-Type: {content_type}\r\nx-amzn-ErrorType: {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(reply.as_bytes());
        }
        None => forward(&mut client, upstream, &request),
    }
}

/// The error in the format of the service the request went to.
fn error_body(request: &Request, code: &str) -> (&'static str, String) {
    if request.header("x-amz-target").is_some() {
        return (
            "application/x-amz-json-1.1",
            format!("{{\"__type\":\"{code}\",\"message\":\"injected by the fault proxy\"}}"),
        );
    }
    let body = String::from_utf8_lossy(&request.body);
    if [
        "Version=2010-03-31",
        "Version=2012-11-05",
        "Version=2011-06-15",
    ]
    .iter()
    .any(|v| body.contains(v))
    {
        // SNS / SQS / STS query protocol.
        return (
            "text/xml",
            format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected by the fault proxy</Message></Error><RequestId>fault</RequestId></ErrorResponse>"),
        );
    }
    (
        "text/xml;charset=UTF-8",
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>injected by the fault proxy</Message></Error></Errors><RequestID>fault</RequestID></Response>"),
    )
}

fn forward(client: &mut TcpStream, upstream: &str, request: &Request) {
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    let mut out = Vec::new();
    for (i, line) in request.head.iter().enumerate() {
        let keep_alive = i > 0 && line.to_ascii_lowercase().starts_with("connection:");
        if !keep_alive {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&request.body);
    if server.write_all(&out).is_err() {
        return;
    }
    let mut response = Vec::new();
    let _ = server.read_to_end(&mut response);
    let _ = client.write_all(&response);
}
