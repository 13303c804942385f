//! Redis for tests: the shared server with a per-test key prefix, or a private server the
//! test may stop and start again.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use room_chats_broker::RedisSettings;

static NEXT_PREFIX: AtomicU32 = AtomicU32::new(0);

/// The shared Redis (`TEST_REDIS_URL`, default the local server).
pub fn shared_redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Broker settings with a prefix no other test uses.
pub fn settings(url: &str) -> RedisSettings {
    RedisSettings {
        url: url.to_owned(),
        ca_pem: None,
        prefix: format!(
            "rc-test:{}:{}:",
            std::process::id(),
            NEXT_PREFIX.fetch_add(1, Ordering::Relaxed)
        ),
        pool_size: 4,
    }
}

/// Fails the test clearly when the shared Redis is down.
pub fn require_shared_redis() {
    let url = shared_redis_url();
    let reachable = redis_cli(&url, &["PING"]).is_some_and(|out| out.trim() == "PONG");
    assert!(
        reachable,
        "Redis must be running at {url} for the tests (redis-cli PING failed)"
    );
}

fn redis_cli(url: &str, args: &[&str]) -> Option<String> {
    stdout_on_success(Command::new("redis-cli").arg("-u").arg(url).args(args))
}

/// What `command` printed, if it ran and succeeded.
fn stdout_on_success(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// A Redis server of the test's own, on a free port; stopped when dropped.
pub struct PrivateRedis {
    pub port: u16,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let redis = Self { port: free_port() };
        redis.up();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits until it answers.
    pub fn up(&self) {
        let status = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                &self.pidfile(),
            ])
            .status()
            .expect("redis-server is installed");
        assert!(status.success(), "redis-server started");
        for _ in 0..200 {
            if redis_cli(&self.url(), &["PING"]).is_some_and(|out| out.trim() == "PONG") {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("private redis on port {} did not answer", self.port);
    }

    /// Freezes the server (`SIGSTOP`): its connections stay open and answer nothing, as a
    /// hung Redis or a silent network does. [`Self::thaw`] lets it go on.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server go on (`SIGCONT`).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self
            .pid()
            .unwrap_or_else(|| panic!("redis-server wrote no pid to {}", self.pidfile()));
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} redis-server");
    }

    /// The server's process id, read from a pidfile named after its port.
    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.pidfile())
            .ok()
            .and_then(|pid| pid.trim().parse().ok())
    }

    fn pidfile(&self) -> String {
        std::env::temp_dir()
            .join(format!("room-chats-test-redis-{}.pid", self.port))
            .to_string_lossy()
            .into_owned()
    }

    /// Stops the server (connections drop at once).
    pub fn down(&self) {
        let _ = redis_cli(&self.url(), &["SHUTDOWN", "NOSAVE"]);
        for _ in 0..200 {
            if redis_cli(&self.url(), &["PING"]).is_none() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // A frozen server would never answer its shutdown.
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-CONT", &pid.to_string()])
                .status();
        }
        self.down();
    }
}

/// A Redis server of the test's own that speaks only TLS, with a certificate for 127.0.0.1
/// signed by a throwaway authority; stopped when dropped.
pub struct TlsRedis {
    pub port: u16,
    /// The authority's certificate (PEM), which a client must be told to trust.
    pub ca_pem: Vec<u8>,
    dir: tempfile::TempDir,
}

impl TlsRedis {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        std::fs::write(path("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("ext file");
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    &path("ca.key"),
                    "-out",
                    &path("ca.crt"),
                    "-days",
                    "2",
                    "-subj",
                    "/CN=room-chats test CA",
                ],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"][..],
                &ec,
                &[
                    "-keyout",
                    &path("server.key"),
                    "-out",
                    &path("server.csr"),
                    "-subj",
                    "/CN=127.0.0.1",
                ],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            &path("server.csr"),
            "-CA",
            &path("ca.crt"),
            "-CAkey",
            &path("ca.key"),
            "-CAcreateserial",
            "-out",
            &path("server.crt"),
            "-days",
            "2",
            "-extfile",
            &path("san.ext"),
        ]);
        let port = free_port();
        let status = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--tls-cert-file",
                &path("server.crt"),
                "--tls-key-file",
                &path("server.key"),
                "--tls-ca-cert-file",
                &path("ca.crt"),
                "--tls-auth-clients",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                &path("redis.pid"),
            ])
            .status()
            .expect("redis-server is installed");
        assert!(status.success(), "redis-server started");
        let ca_pem = std::fs::read(path("ca.crt")).expect("CA certificate");
        let redis = Self { port, ca_pem, dir };
        for _ in 0..200 {
            if redis.cli(&["PING"]).is_some_and(|out| out.trim() == "PONG") {
                return redis;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("TLS redis on port {port} did not answer (is redis-server built with TLS?)");
    }

    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    fn cli(&self, args: &[&str]) -> Option<String> {
        stdout_on_success(
            Command::new("redis-cli")
                .args(["--tls", "--cacert"])
                .arg(self.dir.path().join("ca.crt"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(args),
        )
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.cli(&["SHUTDOWN", "NOSAVE"]);
    }
}

fn openssl(args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
