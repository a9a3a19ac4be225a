//! A three-node JetStream cluster of our own: three nats-servers on free ports, routed to each
//! other, a store each. Tests kill a node (SIGKILL, store kept) and start it again, as a machine
//! failing and coming back would.

use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use anyhow::Context;

use crate::nats::{
    free_port, nats_server_binary, spawn_tied_to_process, store_root, wait_until_listening,
};

/// The cluster's name in every node's configuration.
const CLUSTER_NAME: &str = "remotehunt";

pub struct NatsCluster {
    pub nodes: Vec<ClusterNode>,
}

pub struct ClusterNode {
    /// The server's name, as JetStream reports a stream's leader.
    pub name: String,
    pub url: String,
    port: u16,
    config: PathBuf,
    store: PathBuf,
    child: Option<Child>,
}

impl NatsCluster {
    /// Starts `size` routed servers and waits until each listens (JetStream elects its meta
    /// leader a moment later: the first stream creation may have to be retried).
    pub fn start(size: usize) -> anyhow::Result<Self> {
        let clients: Vec<u16> = (0..size).map(|_| free_port()).collect::<Result<_, _>>()?;
        let routes: Vec<u16> = (0..size).map(|_| free_port()).collect::<Result<_, _>>()?;
        let root = store_root().join(format!("{}-cluster-{}", std::process::id(), clients[0]));
        let mut nodes = Vec::with_capacity(size);
        for n in 0..size {
            let name = format!("n{}", n + 1);
            let store = root.join(&name);
            std::fs::create_dir_all(&store)
                .with_context(|| format!("creating {}", store.display()))?;
            let config = store.join("server.conf");
            std::fs::write(
                &config,
                node_config(&name, clients[n], routes[n], &routes, &store),
            )?;
            nodes.push(ClusterNode {
                name,
                url: format!("nats://127.0.0.1:{}", clients[n]),
                port: clients[n],
                config,
                store,
                child: None,
            });
        }
        let mut cluster = Self { nodes };
        for n in 0..size {
            cluster.start_node(n)?;
        }
        Ok(cluster)
    }

    /// Every node's URL, comma-separated: what `NATS_URL` holds for a cluster.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(|node| node.url.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The node named `name` (a stream leader's name), by index.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|node| node.name == name)
    }

    /// SIGKILLs node `n`, keeping its store. Returns the killed process id.
    pub fn kill(&mut self, n: usize) -> Option<u32> {
        let child = self.nodes[n].child.as_mut()?;
        let pid = child.id();
        let _ = child.kill();
        let _ = child.wait();
        self.nodes[n].child = None;
        Some(pid)
    }

    /// Starts node `n` again on its port and store.
    pub fn start_node(&mut self, n: usize) -> anyhow::Result<()> {
        let binary = nats_server_binary()?;
        let node = &mut self.nodes[n];
        node.child = Some(spawn_tied_to_process(&binary, &node.config)?);
        wait_until_listening(node.port, Duration::from_secs(15))
    }

    pub fn is_running(&self, n: usize) -> bool {
        self.nodes[n].child.is_some()
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for n in 0..self.nodes.len() {
            self.kill(n);
        }
        if let Some(root) = self.nodes.first().and_then(|node| node.store.parent()) {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

fn node_config(
    name: &str,
    port: u16,
    route_port: u16,
    routes: &[u16],
    store: &std::path::Path,
) -> String {
    let routes = routes
        .iter()
        .filter(|p| **p != route_port)
        .map(|p| format!("nats-route://127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "server_name: {name}\nlisten: 127.0.0.1:{port}\nmax_payload: 8MB\n\
         jetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 256MB\n}}\n\
         cluster {{\n  name: {CLUSTER_NAME}\n  listen: 127.0.0.1:{route_port}\n  routes: [{routes}]\n}}\n",
        store.join("js").display()
    )
}
