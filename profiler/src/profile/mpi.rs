//! What an MPI run adds to a profile: plain data, recorded on each rank by
//! `profiler::mpi` (the `mpi` feature) and summarized by
//! [`analysis`](crate::analysis). A profile read without the feature keeps
//! it all.

use serde::{Deserialize, Serialize};

/// The MPI run a profile belongs to ([`Metadata::mpi`](super::Metadata::mpi)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MpiRun {
    /// This process's rank in `MPI_COMM_WORLD` (0 for a merged profile).
    pub rank: u32,
    /// The number of ranks.
    pub ranks: u32,
    /// The MPI library (`MPI_Get_library_version`, its first line).
    pub library: String,
}

/// One rank's MPI figures ([`Profile::mpi`](super::Profile::mpi)): enough
/// for mpiP's summary and POP's hybrid metrics after the ranks' trees were
/// merged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RankMpi {
    /// The rank.
    pub rank: u32,
    /// The host it ran on.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// Its application time (mpiP's AppTime): the session's wall time on
    /// this rank, in nanoseconds.
    pub app_ns: u64,
    /// Its MPI calls, one entry per routine and calling function.
    pub calls: Vec<MpiCall>,
    /// Its point-to-point traffic, one entry per destination rank (the row
    /// of the communication matrix).
    pub sent: Vec<MpiTraffic>,
    /// Its threads' busy time and time in MPI calls, in the profile's
    /// thread order.
    pub threads: Vec<RankThread>,
}

/// One MPI routine called from one function, on one rank.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MpiCall {
    /// The routine (`MPI_Send`).
    pub routine: String,
    /// The calling function's name (empty when called outside any profiled
    /// function).
    pub caller: String,
    /// Calls.
    pub calls: u64,
    /// Their time, in nanoseconds.
    pub time_ns: u64,
    /// Bytes sent (the send buffers' sizes).
    pub bytes_sent: u64,
    /// Bytes received (the receive buffers' sizes).
    pub bytes_received: u64,
    /// The ranks its point-to-point calls sent to or received from, in
    /// order (empty for collectives).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<u32>,
}

/// Point-to-point messages from one rank to another.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MpiTraffic {
    /// The destination rank.
    pub to: u32,
    /// Bytes sent.
    pub bytes: u64,
    /// Messages sent.
    pub messages: u64,
}

/// One thread of a rank: its busy time and how much of it was in MPI calls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RankThread {
    /// The thread's name.
    pub name: String,
    /// Inclusive time of its roots (time in profiled scopes), in ns.
    pub busy_ns: u64,
    /// Time in MPI calls, in ns.
    pub mpi_ns: u64,
}

impl MpiRun {
    /// A run of `ranks` ranks seen from `rank`, on `library`.
    pub fn new(rank: u32, ranks: u32, library: impl Into<String>) -> Self {
        MpiRun {
            rank,
            ranks,
            library: library.into(),
        }
    }
}

impl RankMpi {
    /// A rank's figures (see the fields).
    pub fn new(rank: u32, host: impl Into<String>, pid: u32, app_ns: u64) -> Self {
        RankMpi {
            rank,
            host: host.into(),
            pid,
            app_ns,
            ..RankMpi::default()
        }
    }

    /// Its time in MPI calls over every thread, in nanoseconds (mpiP's
    /// MPITime).
    pub fn mpi_ns(&self) -> u64 {
        self.calls.iter().map(|c| c.time_ns).sum()
    }

    /// Its main thread: the one named `main`, else its first.
    pub fn main_thread(&self) -> Option<&RankThread> {
        self.threads
            .iter()
            .find(|t| t.name == "main")
            .or_else(|| self.threads.first())
    }

    /// Its useful time (POP's, for the MPI figures): its application time
    /// less its main thread's time in MPI calls, in nanoseconds.
    pub fn useful_ns(&self) -> u64 {
        self.app_ns
            .saturating_sub(self.main_thread().map_or(0, |t| t.mpi_ns))
    }
}

impl MpiCall {
    /// `calls` calls of `routine` from `caller`, lasting `time_ns`, moving
    /// the given bytes.
    pub fn new(
        routine: impl Into<String>,
        caller: impl Into<String>,
        calls: u64,
        time_ns: u64,
        bytes_sent: u64,
        bytes_received: u64,
    ) -> Self {
        MpiCall {
            routine: routine.into(),
            caller: caller.into(),
            calls,
            time_ns,
            bytes_sent,
            bytes_received,
            peers: Vec::new(),
        }
    }
}

impl MpiTraffic {
    /// `messages` messages of `bytes` bytes in all to rank `to`.
    pub fn new(to: u32, bytes: u64, messages: u64) -> Self {
        MpiTraffic {
            to,
            bytes,
            messages,
        }
    }
}

impl RankThread {
    /// A thread busy `busy_ns`, of which `mpi_ns` in MPI calls.
    pub fn new(name: impl Into<String>, busy_ns: u64, mpi_ns: u64) -> Self {
        RankThread {
            name: name.into(),
            busy_ns,
            mpi_ns,
        }
    }
}
