//! MPI calls as rows: extension traits over rsmpi's communicators
//! ([`MpiCollectives`]) and processes ([`MpiPointToPoint`]) whose methods
//! call rsmpi and record the call as a profiled scope named after the MPI
//! routine (`MPI_Allreduce`), under its caller, with the bytes it moved.
//!
//! rsmpi's `Communicator` trait is sealed, so the calls cannot be
//! intercepted; call these methods (named after the routines, `mpi_` and
//! the routine's name in lower case) where the program calls rsmpi's.
//!
//! Bytes are the buffers' sizes: a send counts its send buffer, a receive
//! the message received (its count from the status) or, for a collective
//! or an immediate receive, the receive buffer. Point-to-point sends also
//! count in the communication matrix, per destination rank.

use std::hash::{Hash, Hasher};
use std::mem::size_of_val;

use mpi::collective::{CommunicatorCollectives, Operation, Root};
use mpi::datatype::{Equivalence, Partition, PartitionMut};
use mpi::point_to_point::{Destination, Source, Status};
use mpi::raw::AsRaw;
use mpi::request::{Request, Scope};
use mpi::topology::{
    AnyProcess, AsCommunicator, Communicator, Group, Process, Rank, SimpleCommunicator,
};
use mpi::{Count, Tag};

use super::tally::{self, Message};
use crate::site::Site;

/// Declares the static call site of each routine.
macro_rules! routines {
    ($($id:ident = $name:literal),+ $(,)?) => {
        $(static $id: Site = tally::site($name);)+
    };
}

routines! {
    BARRIER = "MPI_Barrier",
    BCAST = "MPI_Bcast",
    REDUCE = "MPI_Reduce",
    ALLREDUCE = "MPI_Allreduce",
    GATHER = "MPI_Gather",
    GATHERV = "MPI_Gatherv",
    ALLGATHER = "MPI_Allgather",
    ALLGATHERV = "MPI_Allgatherv",
    SCATTER = "MPI_Scatter",
    SCATTERV = "MPI_Scatterv",
    ALLTOALL = "MPI_Alltoall",
    ALLTOALLV = "MPI_Alltoallv",
    SEND = "MPI_Send",
    RECV = "MPI_Recv",
    ISEND = "MPI_Isend",
    IRECV = "MPI_Irecv",
    WAIT = "MPI_Wait",
    WAITALL = "MPI_Waitall",
    PROBE = "MPI_Probe",
}

/// What one call moved.
#[derive(Clone, Default)]
pub(super) struct Moved {
    pub(super) sent: u64,
    pub(super) received: u64,
    /// The destination of a point-to-point send (its world rank).
    pub(super) to: Option<u32>,
    /// The source of a point-to-point receive (its world rank).
    pub(super) from: Option<u32>,
    /// What it did to a message, for the timeline.
    pub(super) message: Message,
}

/// Runs `f` as a call of the routine of `site`, recorded under the calling
/// scope with what it moved (known once it returned), and in timeline mode
/// on the timeline with its message.
pub(super) fn call<R>(site: &'static Site, f: impl FnOnce() -> (R, Moved)) -> R {
    let caller = crate::recorder::current_site();
    let order = tally::next_order();
    let guard = crate::recorder::enter(site);
    let (r, moved) = f();
    let timed = guard
        .close_logged(site)
        .filter(|_| crate::recorder::timeline_on());
    tally::add(&tally::Call {
        routine: site.literal_name(),
        site: site.id(),
        caller,
        sent: moved.sent,
        received: moved.received,
        to: moved.to,
        from: moved.from,
        timed,
        message: &moved.message,
        order,
    });
    r
}

/// Rank `rank` of `comm` in `MPI_COMM_WORLD`, and the communicator's
/// number (see [`MessageSide::comm`](crate::profile::MessageSide::comm)):
/// 0 for `MPI_COMM_WORLD`, else a hash of its members' world ranks (the
/// same on every member; two communicators of the same members, a
/// duplicate, share it).
fn in_world<C: Communicator + ?Sized>(comm: &C, rank: Rank) -> (Option<u32>, u32) {
    let world = SimpleCommunicator::world();
    if comm.as_raw() == world.as_raw() {
        return (u32::try_from(rank).ok(), 0);
    }
    let all: Vec<Rank> = (0..comm.size()).collect();
    let ranks = comm.group().translate_ranks(&all, &world.group());
    let mut h = std::hash::DefaultHasher::new();
    ranks.hash(&mut h);
    let id = (h.finish() as u32).max(1);
    let peer = usize::try_from(rank)
        .ok()
        .and_then(|r| ranks.get(r).copied().flatten())
        .and_then(|r| u32::try_from(r).ok());
    (peer, id)
}

fn bytes<T: ?Sized>(buf: &T) -> u64 {
    size_of_val(buf) as u64
}

fn moved(sent: u64, received: u64) -> Moved {
    Moved {
        sent,
        received,
        ..Moved::default()
    }
}

/// Collective MPI calls, recorded (see the [`mpi`](crate::mpi) module); for every
/// rsmpi communicator. Rooted calls take the root's rank; the receive
/// buffer of a rooted call is used on the root only.
pub trait MpiCollectives: CommunicatorCollectives {
    /// `MPI_Barrier`.
    fn mpi_barrier(&self) {
        call(&BARRIER, || (self.barrier(), Moved::default()))
    }

    /// `MPI_Bcast` of `buf` from `root`.
    fn mpi_bcast<T: Equivalence>(&self, root: Rank, buf: &mut [T]) {
        let n = bytes(buf);
        let is_root = self.rank() == root;
        call(&BCAST, || {
            self.process_at_rank(root).broadcast_into(buf);
            ((), if is_root { moved(n, 0) } else { moved(0, n) })
        })
    }

    /// `MPI_Reduce` of `send` into `recv` on `root` with `op`.
    fn mpi_reduce<T: Equivalence, O: Operation>(
        &self,
        root: Rank,
        send: &[T],
        recv: &mut [T],
        op: O,
    ) {
        let is_root = self.rank() == root;
        let (s, r) = (bytes(send), bytes(recv));
        call(&REDUCE, || {
            let p = self.process_at_rank(root);
            if is_root {
                p.reduce_into_root(send, recv, op);
                ((), moved(s, r))
            } else {
                p.reduce_into(send, op);
                ((), moved(s, 0))
            }
        })
    }

    /// `MPI_Allreduce` of `send` into `recv` with `op`.
    fn mpi_allreduce<T: Equivalence, O: Operation>(&self, send: &[T], recv: &mut [T], op: O) {
        let (s, r) = (bytes(send), bytes(recv));
        call(&ALLREDUCE, || {
            self.all_reduce_into(send, recv, op);
            ((), moved(s, r))
        })
    }

    /// `MPI_Gather` of every rank's `send` into `recv` on `root`.
    fn mpi_gather<T: Equivalence>(&self, root: Rank, send: &[T], recv: &mut [T]) {
        let is_root = self.rank() == root;
        let (s, r) = (bytes(send), bytes(recv));
        call(&GATHER, || {
            let p = self.process_at_rank(root);
            if is_root {
                p.gather_into_root(send, recv);
                ((), moved(s, r))
            } else {
                p.gather_into(send);
                ((), moved(s, 0))
            }
        })
    }

    /// `MPI_Gatherv`: rank `i`'s `send` goes to `recv[displs[i]..][..counts[i]]`
    /// on `root` (`counts` and `displs` are read on the root only).
    fn mpi_gatherv<T: Equivalence>(
        &self,
        root: Rank,
        send: &[T],
        recv: &mut [T],
        counts: &[Count],
        displs: &[Count],
    ) {
        let is_root = self.rank() == root;
        let (s, r) = (bytes(send), bytes(recv));
        call(&GATHERV, || {
            let p = self.process_at_rank(root);
            if is_root {
                let mut part = PartitionMut::new(recv, counts, displs);
                p.gather_varcount_into_root(send, &mut part);
                ((), moved(s, r))
            } else {
                p.gather_varcount_into(send);
                ((), moved(s, 0))
            }
        })
    }

    /// `MPI_Allgather` of every rank's `send` into `recv`.
    fn mpi_allgather<T: Equivalence>(&self, send: &[T], recv: &mut [T]) {
        let (s, r) = (bytes(send), bytes(recv));
        call(&ALLGATHER, || {
            self.all_gather_into(send, recv);
            ((), moved(s, r))
        })
    }

    /// `MPI_Allgatherv`: rank `i`'s `send` goes to
    /// `recv[displs[i]..][..counts[i]]` on every rank.
    fn mpi_allgatherv<T: Equivalence>(
        &self,
        send: &[T],
        recv: &mut [T],
        counts: &[Count],
        displs: &[Count],
    ) {
        let (s, r) = (bytes(send), bytes(recv));
        call(&ALLGATHERV, || {
            let mut part = PartitionMut::new(recv, counts, displs);
            self.all_gather_varcount_into(send, &mut part);
            ((), moved(s, r))
        })
    }

    /// `MPI_Scatter` of `root`'s `send` (read on the root only), a piece per
    /// rank, into every rank's `recv`.
    fn mpi_scatter<T: Equivalence>(&self, root: Rank, send: &[T], recv: &mut [T]) {
        let is_root = self.rank() == root;
        let (s, r) = (bytes(send), bytes(recv));
        call(&SCATTER, || {
            let p = self.process_at_rank(root);
            if is_root {
                p.scatter_into_root(send, recv);
                ((), moved(s, r))
            } else {
                p.scatter_into(recv);
                ((), moved(0, r))
            }
        })
    }

    /// `MPI_Scatterv`: `send[displs[i]..][..counts[i]]` of `root` goes to
    /// rank `i`'s `recv` (`send`, `counts` and `displs` are read on the root
    /// only).
    fn mpi_scatterv<T: Equivalence>(
        &self,
        root: Rank,
        send: &[T],
        counts: &[Count],
        displs: &[Count],
        recv: &mut [T],
    ) {
        let is_root = self.rank() == root;
        let (s, r) = (bytes(send), bytes(recv));
        call(&SCATTERV, || {
            let p = self.process_at_rank(root);
            if is_root {
                let part = Partition::new(send, counts, displs);
                p.scatter_varcount_into_root(&part, recv);
                ((), moved(s, r))
            } else {
                p.scatter_varcount_into(recv);
                ((), moved(0, r))
            }
        })
    }

    /// `MPI_Alltoall`: piece `i` of every rank's `send` goes to rank `i`.
    fn mpi_alltoall<T: Equivalence>(&self, send: &[T], recv: &mut [T]) {
        let (s, r) = (bytes(send), bytes(recv));
        call(&ALLTOALL, || {
            self.all_to_all_into(send, recv);
            ((), moved(s, r))
        })
    }

    /// `MPI_Alltoallv`, with send and receive counts and displacements.
    fn mpi_alltoallv<T: Equivalence>(
        &self,
        send: &[T],
        send_counts: &[Count],
        send_displs: &[Count],
        recv: &mut [T],
        recv_counts: &[Count],
        recv_displs: &[Count],
    ) {
        let (s, r) = (bytes(send), bytes(recv));
        call(&ALLTOALLV, || {
            let send = Partition::new(send, send_counts, send_displs);
            let mut recv = PartitionMut::new(recv, recv_counts, recv_displs);
            self.all_to_all_varcount_into(&send, &mut recv);
            ((), moved(s, r))
        })
    }
}

impl<C: CommunicatorCollectives + ?Sized> MpiCollectives for C {}

/// Point-to-point MPI calls with one process (`world.process_at_rank(r)`),
/// recorded (see the [`mpi`](crate::mpi) module). Sends count in the
/// communication matrix.
pub trait MpiPointToPoint {
    /// `MPI_Send` of `buf` to this process (tag 0).
    fn mpi_send<T: Equivalence>(&self, buf: &[T]) {
        self.mpi_send_with_tag(buf, 0);
    }

    /// `MPI_Send` of `buf` to this process with `tag`.
    fn mpi_send_with_tag<T: Equivalence>(&self, buf: &[T], tag: Tag);

    /// `MPI_Recv` from this process into `buf` (any tag).
    fn mpi_recv_into<T: Equivalence>(&self, buf: &mut [T]) -> Status;

    /// `MPI_Recv` of a message of any length from this process (any tag).
    fn mpi_recv_vec<T: Equivalence>(&self) -> (Vec<T>, Status);

    /// `MPI_Isend` of `buf` to this process (tag 0); complete it with
    /// [`mpi_wait`] or [`mpi_waitall`].
    fn mpi_isend<'a, T: Equivalence, S: Scope<'a>>(
        &self,
        scope: S,
        buf: &'a [T],
    ) -> Request<'a, [T], S> {
        self.mpi_isend_with_tag(scope, buf, 0)
    }

    /// `MPI_Isend` of `buf` to this process with `tag`.
    fn mpi_isend_with_tag<'a, T: Equivalence, S: Scope<'a>>(
        &self,
        scope: S,
        buf: &'a [T],
        tag: Tag,
    ) -> Request<'a, [T], S>;

    /// `MPI_Irecv` from this process into `buf` (any tag); complete it with
    /// [`mpi_wait`] or [`mpi_waitall`].
    fn mpi_irecv<'a, T: Equivalence, S: Scope<'a>>(
        &self,
        scope: S,
        buf: &'a mut [T],
    ) -> Request<'a, [T], S>;
}

impl MpiPointToPoint for Process<'_> {
    fn mpi_send_with_tag<T: Equivalence>(&self, buf: &[T], tag: Tag) {
        let n = bytes(buf);
        let moved = sent(self, n, tag);
        call(&SEND, || {
            self.send_with_tag(buf, tag);
            ((), moved)
        })
    }

    fn mpi_recv_into<T: Equivalence>(&self, buf: &mut [T]) -> Status {
        recv_into(self, buf)
    }

    fn mpi_recv_vec<T: Equivalence>(&self) -> (Vec<T>, Status) {
        recv_vec(self)
    }

    fn mpi_isend_with_tag<'a, T: Equivalence, S: Scope<'a>>(
        &self,
        scope: S,
        buf: &'a [T],
        tag: Tag,
    ) -> Request<'a, [T], S> {
        let n = bytes(buf);
        let moved = sent(self, n, tag);
        call(&ISEND, || {
            (self.immediate_send_with_tag(scope, buf, tag), moved)
        })
    }

    fn mpi_irecv<'a, T: Equivalence, S: Scope<'a>>(
        &self,
        scope: S,
        buf: &'a mut [T],
    ) -> Request<'a, [T], S> {
        let n = bytes(buf);
        let (from, comm) = in_world(self.as_communicator(), self.rank());
        call(&IRECV, || {
            let request = self.immediate_receive_into(scope, buf);
            let message = match from {
                Some(from) => Message::PostReceive {
                    request: request.as_raw().0 as usize,
                    from,
                    comm,
                },
                None => Message::None,
            };
            let moved = Moved {
                received: n,
                from,
                message,
                ..Moved::default()
            };
            (request, moved)
        })
    }
}

/// Receives from any rank (`world.any_process()`), recorded (see the
/// [`mpi`](crate::mpi) module): the receive's peer is the rank the message
/// came from.
pub trait MpiAnySource {
    /// `MPI_Recv` from any rank into `buf` (any tag).
    fn mpi_recv_into<T: Equivalence>(&self, buf: &mut [T]) -> Status;

    /// `MPI_Recv` of a message of any length from any rank (any tag).
    fn mpi_recv_vec<T: Equivalence>(&self) -> (Vec<T>, Status);

    /// `MPI_Probe`: waits for a message from any rank (any tag) and returns
    /// its status without receiving it.
    fn mpi_probe(&self) -> Status;
}

impl MpiAnySource for AnyProcess<'_> {
    fn mpi_recv_into<T: Equivalence>(&self, buf: &mut [T]) -> Status {
        recv_into(self, buf)
    }

    fn mpi_recv_vec<T: Equivalence>(&self) -> (Vec<T>, Status) {
        recv_vec(self)
    }

    fn mpi_probe(&self) -> Status {
        call(&PROBE, || (self.probe(), Moved::default()))
    }
}

/// What a send of `n` bytes with `tag` to `to` moves.
fn sent(to: &Process<'_>, n: u64, tag: Tag) -> Moved {
    let (to, comm) = in_world(to.as_communicator(), to.rank());
    Moved {
        sent: n,
        to,
        message: to.map_or(Message::None, |to| Message::Send { to, tag, comm }),
        ..Moved::default()
    }
}

/// `MPI_Recv` from `source` into `buf`, recorded with the bytes received
/// and the rank they came from.
fn recv_into<S: Source, T: Equivalence>(source: &S, buf: &mut [T]) -> Status {
    call(&RECV, || {
        let status = source.receive_into(buf);
        let moved = received(source, received_bytes::<T>(&status), &status);
        (status, moved)
    })
}

/// `MPI_Recv` of a message of any length from `source`, recorded.
fn recv_vec<S: Source, T: Equivalence>(source: &S) -> (Vec<T>, Status) {
    call(&RECV, || {
        let (v, status) = source.receive_vec::<T>();
        let moved = received(source, bytes(&v[..]), &status);
        ((v, status), moved)
    })
}

/// What a receive of `n` bytes from `source` with `status` moved.
fn received<S: Source>(source: &S, n: u64, status: &Status) -> Moved {
    let (from, comm) = in_world(source.as_communicator(), status.source_rank());
    Moved {
        received: n,
        from,
        message: from.map_or(Message::None, |from| Message::Receive {
            from,
            tag: status.tag(),
            comm,
        }),
        ..Moved::default()
    }
}

/// The bytes a receive of `T`s got, from its status.
fn received_bytes<T: Equivalence>(status: &Status) -> u64 {
    let count = status.count(T::equivalent_datatype());
    u64::try_from(count).unwrap_or(0) * std::mem::size_of::<T>() as u64
}

/// `MPI_Wait` for one immediate send or receive (in timeline mode, the
/// receive of an immediate receive is placed at its wait).
pub fn mpi_wait<'a, D: ?Sized + 'a, S: Scope<'a>>(request: Request<'a, D, S>) -> Status {
    call(&WAIT, || {
        let raw = request.as_raw().0 as usize;
        let status = request.wait();
        let moved = Moved {
            message: Message::Complete(vec![(raw, status.tag())]),
            ..Moved::default()
        };
        (status, moved)
    })
}

/// `MPI_Waitall` for several immediate sends or receives (waited for in
/// turn, as one call; in timeline mode, the receives of immediate receives
/// are placed at it).
pub fn mpi_waitall<'a, D: ?Sized + 'a, S: Scope<'a>>(
    requests: impl IntoIterator<Item = Request<'a, D, S>>,
) -> Vec<Status> {
    call(&WAITALL, || {
        let mut done = Vec::new();
        let statuses = requests
            .into_iter()
            .map(|r| {
                let raw = r.as_raw().0 as usize;
                let status = r.wait();
                done.push((raw, status.tag()));
                status
            })
            .collect();
        let moved = Moved {
            message: Message::Complete(done),
            ..Moved::default()
        };
        (statuses, moved)
    })
}
