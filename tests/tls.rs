//! The functions' HTTPS calls trust Amazon Trust Services' roots alone
//! (`access_guard::aws::tls`), and `ACCESS_GUARD_TLS_ROOTS=system` trusts
//! the operating system's store. Against a local TLS server (`openssl
//! s_server`) whose certificate a test authority issued: the functions'
//! client refuses it at the handshake; with the system's roots, and that
//! authority as the store (`SSL_CERT_FILE`), the same call succeeds.
//!
//! Its own test binary: the system store is read once per process, from the
//! environment this test sets before any client exists.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use access_guard::aws::tls::TlsRoots;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};

/// `openssl …`, failing the test with what it printed.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (the test issues its certificates with it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test authority and a certificate it issued for 127.0.0.1.
fn issue(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "1",
        "-subj",
        "/CN=access-guard test CA",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(dir, &ca);
    let mut request = vec!["req", "-subj", "/CN=127.0.0.1"];
    request.extend(ec);
    request.extend(["-keyout", "leaf.key", "-out", "leaf.csr"]);
    openssl(dir, &request);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ],
    );
}

/// `openssl s_server` on 127.0.0.1, answering every request with a page.
struct TlsServer {
    child: Child,
    port: u16,
}

impl TlsServer {
    fn start(dir: &Path) -> TlsServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("openssl")
            .args([
                "s_server", "-quiet", "-www", "-cert", "leaf.pem", "-key", "leaf.key",
            ])
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let mut server = TlsServer { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            // Exited (the port taken since it was found free): not ours to talk to.
            let exited = server.child.try_wait().expect("s_server's status");
            assert!(exited.is_none(), "s_server exited: {exited:?}");
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "s_server did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One S3 GetObject (a GET, which `s_server -www` answers) over the
/// functions' SDK configuration with `roots`, to the server.
async fn get(roots: TlsRoots, port: u16) -> Result<(), SdkError<impl std::error::Error>> {
    let sdk = access_guard::aws::sdk_config(access_guard::aws::timeouts(2, 3, 5), roots)
        .await
        .to_builder()
        .endpoint_url(format!("https://127.0.0.1:{port}"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.get_object()
        .bucket("trail")
        .key("object")
        .send()
        .await
        .map(|_| ())
}

/// A folder of the test's own, removed however the test ends.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn the_functions_refuse_a_certificate_no_amazon_root_issued_and_system_roots_are_the_systems()
{
    let temp =
        TempDir(std::env::temp_dir().join(format!("access-guard-tls-{}", std::process::id())));
    let dir = temp.0.clone();
    std::fs::create_dir_all(&dir).unwrap();
    issue(&dir);
    // Straight to the server: no proxy of the environment in between.
    for proxy in [
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        std::env::remove_var(proxy);
    }
    // Before any client: the system store is the test authority alone.
    std::env::set_var("SSL_CERT_FILE", dir.join("ca.pem"));
    std::env::set_var("SSL_CERT_DIR", dir.join("no-such-dir"));
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let server = TlsServer::start(&dir);

    let refused = get(TlsRoots::Amazon, server.port).await.unwrap_err();
    let why = DisplayErrorContext(&refused).to_string();
    assert!(
        matches!(refused, SdkError::DispatchFailure(_)) && why.contains("UnknownIssuer"),
        "the Amazon roots must refuse the test authority's certificate: {why}"
    );
    // With the system's roots the call goes through and reads the answer.
    if let Err(e) = get(TlsRoots::System, server.port).await {
        panic!(
            "with the system's roots the call must succeed: {}",
            DisplayErrorContext(&e)
        );
    }
    drop(server);
}
