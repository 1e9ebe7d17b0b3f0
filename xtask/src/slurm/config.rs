//! The configuration of the throwaway cluster: a controller and `n` simulated nodes, all on
//! 127.0.0.1, each `slurmd` on a port of its own (`NodeName=nX ... Port=P`, started as
//! `slurmd -N nX`), every path under one directory.
//!
//! What it takes to run as root without systemd or munge (Slurm 22.05): `SlurmUser=root`,
//! `auth/none` and `cred/none`, no accounting, `proctrack/linuxproc` and `task/none` (no
//! cgroups), and `cons_tres` with `CR_CPU,CR_LLN` so that tasks spread over the nodes.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// CPUs each simulated node offers (more than the machine may have: `config_overrides`).
const NODE_CPUS: u32 = 2;

/// Writes `slurm.conf` for a cluster of `nodes` nodes under `dir`, on free ports, and returns
/// its path.
pub(crate) fn write(dir: &Path, nodes: usize) -> Result<PathBuf, String> {
    let ports = free_ports(nodes + 1)?;
    let path = dir.join("slurm.conf");
    let text = config(dir, &hostname()?, ports[0], &ports[1..]);
    fs::write(&path, text).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    Ok(path)
}

/// The partition of every node.
pub(crate) const PARTITION: &str = "ttk";

/// The names of `nodes` nodes: `n1`, `n2`, ...
pub(crate) fn node_names(nodes: usize) -> Vec<String> {
    (1..=nodes).map(|node| format!("n{node}")).collect()
}

/// The configuration of a cluster whose controller runs on `host` at `controller_port`, with a
/// node at each of `node_ports`; every path under `dir`.
fn config(dir: &Path, host: &str, controller_port: u16, node_ports: &[u16]) -> String {
    let dir = dir.display();
    let mut text = format!(
        "\
# A throwaway cluster made by `cargo xtask slurm`: every daemon runs here, as root.
ClusterName=ttk
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={controller_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU,CR_LLN
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=2
StateSaveLocation={dir}/state
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd-%n.pid
SlurmdSpoolDir={dir}/spool/%n
"
    );
    let names = node_names(node_ports.len());
    for (name, port) in names.iter().zip(node_ports) {
        text.push_str(&format!(
            "NodeName={name} NodeAddr=127.0.0.1 Port={port} CPUs={NODE_CPUS} State=UNKNOWN\n"
        ));
    }
    text.push_str(&format!(
        "PartitionName={PARTITION} Nodes={} Default=YES MaxTime=INFINITE State=UP\n",
        names.join(",")
    ));
    text
}

/// `count` distinct TCP ports free on 127.0.0.1 now (held together while they are chosen).
fn free_ports(count: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("cannot find a free port: {error}"))?;
    listeners
        .iter()
        .map(|listener| listener.local_addr().map(|address| address.port()))
        .collect::<Result<_, _>>()
        .map_err(|error| format!("cannot find a free port: {error}"))
}

/// This machine's short host name, which the controller must find in `SlurmctldHost`.
fn hostname() -> Result<String, String> {
    let path = "/proc/sys/kernel/hostname";
    let name = fs::read_to_string(path).map_err(|error| format!("cannot read {path}: {error}"))?;
    Ok(name.trim().split('.').next().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_every_node_once_with_its_port() {
        let text = config(Path::new("/tmp/c"), "vm", 7000, &[7001, 7002]);
        assert!(text.contains("SlurmctldHost=vm(127.0.0.1)\nSlurmctldPort=7000\n"));
        assert!(text.contains("NodeName=n1 NodeAddr=127.0.0.1 Port=7001 "));
        assert!(text.contains("NodeName=n2 NodeAddr=127.0.0.1 Port=7002 "));
        assert!(text.contains("PartitionName=ttk Nodes=n1,n2 "));
        assert!(text.contains("SlurmdSpoolDir=/tmp/c/spool/%n\n"));
    }

    #[test]
    fn free_ports_are_distinct() {
        let mut ports = free_ports(4).unwrap();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 4);
    }
}
