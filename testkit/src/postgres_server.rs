//! A Postgres server of the test's own — `initdb` into a temporary directory, `pg_ctl` to start
//! it on a free port — so a test can stop it (as a crash: `-m immediate`) and start it again to
//! show a service waits an outage out. Tests that do not stop Postgres use the shared server
//! ([`crate::database`]), which is faster.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::TestDatabase;

pub struct PostgresServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PostgresServer {
    /// A fresh cluster (trust auth, user `postgres`, no fsync), started.
    pub fn start() -> anyhow::Result<Self> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("rh-pg-").tempdir()?;
        let port = free_port()?;
        let server = Self { dir, bin, port };
        if running_as_root() {
            // Postgres refuses to run as root: the cluster belongs to the `postgres` user.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(server.dir.path())
                .status()?;
            anyhow::ensure!(status.success(), "chown of the cluster directory failed");
        }
        server.run(
            "initdb",
            &[
                "-D",
                &server.data().to_string_lossy(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        server.start_again()?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A fresh database on this server. Its pool gives up on a connection after a second, so
    /// an outage shows as failed attempts rather than one long wait.
    pub async fn database(&self) -> anyhow::Result<TestDatabase> {
        let options = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(1));
        crate::postgres::database_on(&self.admin_url(), options).await
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`): open connections break.
    pub fn stop(&self) -> anyhow::Result<()> {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "stop",
                "-m",
                "immediate",
                "-w",
            ],
        )
    }

    /// SIGKILLs the postmaster, as the kernel's OOM killer or a crash would (its backends see it
    /// die and exit), and returns its process id. [`PostgresServer::start_again`] recovers.
    pub fn kill(&self) -> anyhow::Result<u32> {
        let lock = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .context("reading postmaster.pid: is the server running?")?;
        let pid: i32 = lock
            .lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .context("postmaster.pid names no process")?;
        // Safety: a plain signal to a process id we read from the server's own lock file.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while unsafe { libc::kill(pid, 0) } == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(pid as u32)
    }

    /// Starts the server again after [`PostgresServer::kill`]: retried while the killed
    /// server's backends still hold its shared memory.
    pub fn start_after_kill(&self) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            match self.start_again() {
                Ok(()) => return Ok(()),
                Err(error) if std::time::Instant::now() > deadline => return Err(error),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(200)),
            }
        }
    }

    /// Starts the (stopped) server again on the same port, with the same data.
    pub fn start_again(&self) -> anyhow::Result<()> {
        let data = self.data();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bin.join(program);
        let mut command = if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .output()
            .with_context(|| format!("running {}", program.display()))?;
        if !output.status.success() {
            bail!(
                "{} {}: {}{}",
                program.display(),
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Where `initdb` and `pg_ctl` are: `PG_BIN`, else the newest `/usr/lib/postgresql/<v>/bin`
/// (Debian's layout), else `pg_config --bindir`.
fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let debian = Path::new("/usr/lib/postgresql");
    if let Ok(entries) = std::fs::read_dir(debian) {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").exists().then_some((version, bin))
            })
            .collect();
        versions.sort();
        if let Some((_, bin)) = versions.pop() {
            return Ok(bin);
        }
    }
    let output = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .context("no Postgres server binaries: set PG_BIN")?;
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    ))
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
