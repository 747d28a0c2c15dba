//! Output formats: one module per format, each reading only the data model
//! (and the statistics and analysis computed from it), and one list of them,
//! [`Format`], that sessions and the command-line tool walk.
//!
//! A format is one or more files, each written to any `io::Write`. Adding a
//! format is one module and one entry in the list below (the `formats!`
//! invocation): sessions write it, `profiler convert --to` offers it, and
//! [`Format::save`] writes it.
//!
//! ```
//! # fn main() -> Result<(), profiler::Error> {
//! use profiler::emit::Format;
//!
//! let p = profiler::snapshot();
//! let dir = std::env::temp_dir().join(format!("doc-formats-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let written = Format::Callgrind.save(&p, &dir.join("callgrind.out"))?;
//! assert_eq!(written, [dir.join("callgrind.out")]);
//! // Paraver is three files: into a folder they get the names a session gives them.
//! let names: Vec<_> = Format::Paraver.files().iter().map(|f| f.file_name).collect();
//! assert_eq!(names, ["trace.pcf", "trace.row", "trace.prv"]);
//! let mut text = Vec::new();
//! Format::Pstats.write(&p, &mut text).unwrap();
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::fs::FileSet;
use crate::profile::Profile;

pub mod callgrind;
pub mod chrome;
pub mod csv;
pub mod flamechart;
pub mod flamegraph;
pub mod html;
pub mod json;
pub mod mpi_matrix;
mod names;
pub mod paraver;
pub mod prof;
pub mod pstats;
pub mod speedscope;
mod svg;
pub mod timeline;

/// Writes one file of a format: the profile to any `io::Write`.
pub type Writer = fn(&Profile, &mut dyn Write) -> io::Result<()>;

/// One file of a [`Format`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct FormatFile {
    /// The file's name in a session's output folder (`callgrind.out`,
    /// `trace.prv`).
    pub file_name: &'static str,
    /// The name `profiler convert` gives it next to its input, `{}` standing
    /// for the input's file stem (`callgrind.out.{}`, `{}.prv`).
    pub named_after_input: &'static str,
    /// Writes it.
    pub write: Writer,
}

/// What a format needs of a profile to show anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Needs {
    /// Any profile.
    Nothing,
    /// A recorded timeline ([`ThreadProfile::timeline`](crate::ThreadProfile::timeline)).
    Timeline,
    /// A profile of an MPI program ([`Profile::mpi`]).
    Mpi,
}

impl Needs {
    /// Whether `profile` has what is needed.
    pub fn met_by(self, profile: &Profile) -> bool {
        match self {
            Needs::Nothing => true,
            Needs::Timeline => profile.threads.iter().any(|t| !t.timeline.is_empty()),
            Needs::Mpi => !profile.mpi.is_empty(),
        }
    }
}

/// What the list says of each format.
struct Spec {
    name: &'static str,
    needs: Needs,
    session: bool,
    files: &'static [FormatFile],
    /// The variant's doc lines.
    about: &'static [&'static str],
}

/// Declares [`Format`] and its list: a variant per format (with its docs,
/// which are also the command-line help), and what the list says of it.
macro_rules! formats {
    ($(
        $(#[doc = $doc:expr])*
        $variant:ident = $name:literal {
            needs: $needs:ident,
            session: $session:expr,
            files: [$(($file:literal, $named:literal, $write:expr)),+ $(,)?] $(,)?
        }
    ),+ $(,)?) => {
        /// An output format (see the [module docs](self)).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Format {
            $($(#[doc = $doc])* $variant,)+
        }

        impl Format {
            /// Every format, in the order sessions write them.
            pub const ALL: &'static [Format] = &[$(Format::$variant),+];

            fn spec(self) -> &'static Spec {
                match self {
                    $(Format::$variant => &Spec {
                        name: $name,
                        about: &[$($doc),*],
                        needs: Needs::$needs,
                        session: $session,
                        files: &[$(FormatFile {
                            file_name: $file,
                            named_after_input: $named,
                            write: $write,
                        }),+],
                    },)+
                }
            }
        }
    };
}

formats! {
    /// This tool's versioned profile.json (every field of the data model).
    Json = "json" {
        needs: Nothing,
        session: true,
        files: [("profile.json", "{}.json", json::write)],
    },
    /// pstats' text: print_stats, the parallel summary, print_callers and
    /// print_callees.
    Pstats = "pstats" {
        needs: Nothing,
        session: true,
        files: [("pstats.txt", "{}.pstats.txt", pstats::write)],
    },
    /// cProfile's .prof, for pstats, snakeviz and gprof2dot.
    Prof = "prof" {
        needs: Nothing,
        session: true,
        files: [("profile.prof", "{}.prof", prof::write)],
    },
    /// callgrind.out for KCacheGrind, QCacheGrind and callgrind_annotate.
    Callgrind = "callgrind" {
        needs: Nothing,
        session: true,
        files: [("callgrind.out", "callgrind.out.{}", callgrind::write_merged)],
    },
    /// Flamegraph SVG.
    Flamegraph = "flamegraph" {
        needs: Nothing,
        session: true,
        files: [("flamegraph.svg", "{}.svg", flamegraph::write_svg)],
    },
    /// The pstats table as CSV, for spreadsheets and data frames.
    Csv = "csv" {
        needs: Nothing,
        session: false,
        files: [("stats.csv", "{}.csv", csv::write)],
    },
    /// Folded stacks (`a;b;c self_ns`).
    Folded = "folded" {
        needs: Nothing,
        session: false,
        files: [("stacks.folded", "{}.folded", flamegraph::write_folded_default)],
    },
    /// Chrome trace event JSON (Perfetto, chrome://tracing).
    Chrome = "chrome" {
        needs: Timeline,
        session: true,
        files: [("trace.json", "{}.trace.json", chrome::write)],
    },
    /// speedscope JSON.
    Speedscope = "speedscope" {
        needs: Timeline,
        session: true,
        files: [("speedscope.json", "{}.speedscope.json", speedscope::write)],
    },
    /// Flame chart SVG: the timelines, one band per thread.
    Flamechart = "flamechart" {
        needs: Timeline,
        session: true,
        files: [("flamechart.svg", "{}.flamechart.svg", flamechart::write)],
    },
    /// One self-contained interactive page (report.html): the run, where
    /// the time goes, the pstats table, the icicle, the timeline, the
    /// parallel and MPI summaries.
    Html = "html" {
        needs: Nothing,
        session: true,
        files: [("report.html", "{}.html", html::write)],
    },
    /// The MPI communication matrix as CSV: bytes and messages, sender x
    /// receiver (an MPI program's profile).
    MpiMatrix = "mpi-matrix" {
        needs: Mpi,
        session: true,
        files: [("mpi_matrix.csv", "{}.mpi_matrix.csv", mpi_matrix::write)],
    },
    /// Paraver .prv, .pcf and .row (the .prv, which Paraver opens, last).
    Paraver = "paraver" {
        needs: Timeline,
        session: true,
        files: [
            ("trace.pcf", "{}.pcf", paraver::write_pcf),
            ("trace.row", "{}.row", paraver::write_row),
            ("trace.prv", "{}.prv", paraver::write_prv),
        ],
    },
}

impl Format {
    /// The format's name, as `profiler convert --to` takes it.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// What the format is, in one line (its documentation above; the
    /// command line's help for `--to`).
    pub fn about(self) -> String {
        let lines: Vec<&str> = self.spec().about.iter().map(|l| l.trim()).collect();
        lines.join(" ")
    }

    /// The format's files, in the order they are written.
    pub fn files(self) -> &'static [FormatFile] {
        self.spec().files
    }

    /// What the format needs of a profile to show anything (a profile
    /// without it gives an empty trace or table; sessions write the format
    /// only for a profile that has it).
    pub fn needs(self) -> Needs {
        self.spec().needs
    }

    /// Whether the format shows the timelines (see [`Format::needs`]).
    pub fn needs_timeline(self) -> bool {
        self.needs() == Needs::Timeline
    }

    /// Whether sessions write it (every format but the folded stacks, which
    /// the flamegraph shows).
    pub fn in_session(self) -> bool {
        self.spec().session
    }

    /// Writes the format's only file (its first, for several) to `w`.
    pub fn write(self, profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
        (self.files()[0].write)(profile, w)
    }

    /// Where the format's files go for a destination `out`: for a format of
    /// one file, `out` itself; for several, into `out` if it is a folder,
    /// with the names a session gives them (`trace.prv`...), or else next to
    /// it, `out` being a base name whose extension, if it is one of the
    /// files', is replaced (`out/run` and `out/run.prv` both give
    /// `out/run.prv`, `out/run.pcf` and `out/run.row`).
    pub fn paths(self, out: &Path) -> Vec<PathBuf> {
        let files = self.files();
        if let [_] = files {
            return vec![out.to_path_buf()];
        }
        if out.is_dir() {
            return files.iter().map(|f| out.join(f.file_name)).collect();
        }
        let ext = |name: &str| Path::new(name).extension().map(|e| e.to_owned());
        let own = out
            .extension()
            .is_some_and(|e| files.iter().any(|f| ext(f.file_name).as_deref() == Some(e)));
        let base = if own {
            out.with_extension("")
        } else {
            out.to_path_buf()
        };
        files
            .iter()
            .map(|f| {
                let mut s = base.clone().into_os_string();
                if let Some(e) = ext(f.file_name) {
                    s.push(".");
                    s.push(e);
                }
                PathBuf::from(s)
            })
            .collect()
    }

    /// Writes the format's files for `out` (see [`Format::paths`]) as one
    /// set: each is written under a temporary name, and all are renamed into
    /// place only once every one was written, so on failure none is replaced
    /// or left half-written. Returns the paths written.
    pub fn save(self, profile: &Profile, out: &Path) -> Result<Vec<PathBuf>, Error> {
        let mut set = FileSet::new();
        for (file, path) in self.files().iter().zip(self.paths(out)) {
            set.add(&path, |w| (file.write)(profile, w))?;
        }
        set.commit()
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Writes an output named on a command line: like a saved file, atomically,
/// but it replaces only what it should.
///
/// - `-` is standard output (a reader that closes the pipe early is not an
///   error);
/// - a character device, a FIFO or a socket is opened and written in place,
///   never replaced (a write error, such as `/dev/full`'s, is returned);
/// - a symlink's final target is replaced atomically and the link kept;
/// - an existing file is replaced atomically and keeps its permission bits
///   (the new file has them before it is renamed into place);
/// - a directory or a block device is refused.
///
/// Errors name `path` as given.
///
/// ```
/// # fn main() -> Result<(), profiler::Error> {
/// use std::io::Write;
/// let path = std::env::temp_dir().join(format!("doc-out-{}.txt", std::process::id()));
/// profiler::emit::write_output(&path, |w| w.write_all(b"hello\n"))?;
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello\n");
/// profiler::emit::write_output(std::path::Path::new("/dev/null"), |w| w.write_all(b"gone"))?;
/// # std::fs::remove_file(&path).ok();
/// # Ok(())
/// # }
/// ```
pub fn write_output(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    crate::output::write(path, write)
}

/// Writes `value` as compact JSON to `w`: every value of the JSON formats
/// goes through serde.
pub(crate) fn json<T: serde::Serialize + ?Sized>(w: &mut dyn Write, value: &T) -> io::Result<()> {
    serde_json::to_writer(w, value).map_err(io::Error::from)
}

/// The items of a JSON array written one per line: `\n` before the first,
/// `,\n` before the others.
#[derive(Default)]
pub(crate) struct Lines {
    started: bool,
}

impl Lines {
    /// Writes the next item.
    pub(crate) fn item<T: serde::Serialize + ?Sized>(
        &mut self,
        w: &mut dyn Write,
        value: &T,
    ) -> io::Result<()> {
        w.write_all(if self.started { b",\n" } else { b"\n" })?;
        self.started = true;
        json(w, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_destination() {
        let dir = std::env::temp_dir();
        assert_eq!(Format::Paraver.paths(&dir)[2], dir.join("trace.prv"));
        let paths = Format::Paraver.paths(Path::new("/nonexistent/run.prv"));
        assert_eq!(
            paths,
            [
                Path::new("/nonexistent/run.pcf"),
                Path::new("/nonexistent/run.row"),
                Path::new("/nonexistent/run.prv")
            ]
        );
        assert_eq!(
            Format::Paraver.paths(Path::new("x/run.v2"))[0],
            Path::new("x/run.v2.pcf")
        );
        assert_eq!(Format::Json.paths(&dir), std::slice::from_ref(&dir));
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        let mut files: Vec<&str> = Format::ALL
            .iter()
            .flat_map(|f| f.files().iter().map(|x| x.file_name))
            .collect();
        names.sort_unstable();
        names.dedup();
        files.sort_unstable();
        files.dedup();
        assert_eq!(names.len(), Format::ALL.len());
        assert_eq!(files.len(), 15);
    }
}
