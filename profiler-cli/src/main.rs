//! The `profiler` command-line tool: reports, conversions, merges and
//! comparisons of saved profiles (`profile.json`) and of Python's cProfile
//! `.prof` files.
//!
//! ```text
//! profiler report FILE... [--sort KEY...] [--limit N] [--callers|--callees] [--threads] [--filter REGEX]
//! profiler convert FILE --to callgrind|prof|flamegraph|folded|chrome|paraver|speedscope|html|json [-o OUT] [--force]
//! profiler merge FILE... -o OUT [--force]
//! profiler diff BEFORE AFTER [--svg OUT] [--html OUT] [--by tottime|cumtime|ncalls] [--limit N]
//! ```
//!
//! Every input may be a `profile.json` or a `.prof` (told apart by their
//! first bytes), of at most 1 GiB (`PROFILER_MAX_INPUT=BYTES` changes the
//! limit). Outputs are written atomically, except that `-` is standard
//! output and a device, FIFO or socket is written in place; a symlink's
//! target is replaced and the link kept, and a replaced file keeps its
//! permission bits (see [`profiler::emit::write_output`]). An output that
//! names an input is refused; `convert` and `merge` refuse to replace an
//! existing file unless given `--force`, and say on standard error what they
//! wrote (`profiler: wrote run.html (html)`). Any error is one line,
//! `profiler: <file>: <problem>`, and exit status 2.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use profiler::diff::{DiffBy, ProfileDiff};
use profiler::emit::flamegraph;
use profiler::emit::{Format, Needs, prof, timeline, write_output};
use profiler::{Limit, Profile, SortKey, Stats};
use regex::Regex;

/// Reports, conversions, merges and comparisons of saved profiles
/// (`profile.json`) and of Python's cProfile `.prof` files.
#[derive(Parser, Debug)]
#[command(name = "profiler", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print pstats' report (print_stats, print_callers or print_callees) of
    /// one or more profiles, merged.
    Report(ReportArgs),
    /// Write a profile in another format.
    Convert(ConvertArgs),
    /// Merge profiles (runs, processes) into one profile file.
    Merge(MergeArgs),
    /// Compare two profiles: per-function changes, largest first, and a
    /// differential flamegraph.
    Diff(DiffArgs),
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// Profiles to report on (`profile.json` or `.prof`); several are merged.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// pstats sort keys, major first (calls, cumulative, time, pcalls, name,
    /// filename, line, nfl, stdname or a unique prefix). Default: cumulative.
    #[arg(long, num_args = 1.., value_delimiter = ',', value_name = "KEY")]
    sort: Vec<SortKey>,
    /// Print at most N rows (or a fraction of them, such as 0.1).
    #[arg(long, value_name = "N")]
    limit: Option<Limit>,
    /// Print the callers of each function (print_callers) instead of the table.
    #[arg(long, conflicts_with = "callees")]
    callers: bool,
    /// Print the callees of each function (print_callees) instead of the table.
    #[arg(long)]
    callees: bool,
    /// One report per thread instead of one for all threads merged.
    #[arg(long)]
    threads: bool,
    /// Only functions whose `file:line(name)` matches this regular
    /// expression (may be given several times).
    #[arg(long, value_name = "REGEX")]
    filter: Vec<Regex>,
}

/// A [`Format`] on the command line: its name, with its docs as the help.
#[derive(Clone, Copy, Debug)]
struct FormatArg(Format);

impl clap::ValueEnum for FormatArg {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: std::sync::OnceLock<Vec<FormatArg>> = std::sync::OnceLock::new();
        ALL.get_or_init(|| Format::ALL.iter().map(|&f| FormatArg(f)).collect())
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name()).help(self.0.about()))
    }
}

/// Which change ranks the functions of a diff ([`DiffBy`]).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ByArg {
    /// Change in self time.
    Tottime,
    /// Change in cumulative time.
    Cumtime,
    /// Change in the number of calls.
    Ncalls,
}

impl From<ByArg> for DiffBy {
    fn from(b: ByArg) -> DiffBy {
        match b {
            ByArg::Tottime => DiffBy::Tottime,
            ByArg::Cumtime => DiffBy::Cumtime,
            ByArg::Ncalls => DiffBy::Ncalls,
        }
    }
}

#[derive(Args, Debug)]
struct ConvertArgs {
    /// The profile to convert (`profile.json` or `.prof`).
    file: PathBuf,
    /// The output format.
    #[arg(long, value_enum)]
    to: FormatArg,
    /// Where to write (`-` for standard output). Default: the input's name
    /// with the format's extension, in the current directory.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Replace an output file that exists (refused without it).
    #[arg(long)]
    force: bool,
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// The profiles to merge (`profile.json` or `.prof`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The merged profile: a `profile.json`, or a `.prof` when OUT ends in
    /// `.prof` (`-` for standard output).
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Replace an output file that exists (refused without it).
    #[arg(long)]
    force: bool,
}

#[derive(Args, Debug)]
struct DiffArgs {
    /// The profile before the change.
    before: PathBuf,
    /// The profile after the change.
    after: PathBuf,
    /// Also write a differential flamegraph (red: grew, blue: shrank; `-`
    /// for standard output).
    #[arg(long, value_name = "OUT")]
    svg: Option<PathBuf>,
    /// Also write the comparison as a page (every function before and
    /// after, sortable and searchable; `-` for standard output).
    #[arg(long, value_name = "OUT")]
    html: Option<PathBuf>,
    /// Which change ranks the functions.
    #[arg(long, value_enum, default_value_t = ByArg::Tottime)]
    by: ByArg,
    /// Print at most N functions.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

/// A failure: the one line printed after `profiler: `.
struct Fail(String);

impl From<profiler::Error> for Fail {
    fn from(e: profiler::Error) -> Self {
        Fail(one_line(&e.to_string()))
    }
}

fn fail<T>(what: &str, problem: impl std::fmt::Display) -> Result<T, Fail> {
    Err(Fail(format!("{what}: {}", one_line(&problem.to_string()))))
}

/// Joins the lines of a multi-line message.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `--option: problem` for a value that its parser refused (`--sort cum`:
/// the sort key is ambiguous).
fn invalid_value(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    use std::error::Error as _;
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let option = arg.split([' ', '=']).next()?;
    let problem = e.source()?.to_string();
    Some(format!("{option}: {}", one_line(&problem)))
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "profiler: internal error (please report it): {}",
            one_line(&info.to_string())
        );
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::SUCCESS
                }
                // A value of an option that did not parse: the option and
                // what its parser said, as every other failure is printed.
                ErrorKind::ValueValidation if invalid_value(&e).is_some() => {
                    if let Some(line) = invalid_value(&e) {
                        eprintln!("profiler: {line}");
                    }
                    ExitCode::from(2)
                }
                _ => {
                    // clap's message: a paragraph, then usage and tips.
                    let text = e.render().to_string();
                    let first: Vec<&str> = text
                        .lines()
                        .take_while(|l| !l.trim().is_empty())
                        .map(str::trim)
                        .collect();
                    let first = first.join(" ");
                    let first = first.strip_prefix("error: ").unwrap_or(&first);
                    eprintln!("profiler: {first} (see `profiler --help`)");
                    ExitCode::from(2)
                }
            };
        }
    };
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(notes)) => {
            for n in notes {
                eprintln!("profiler: note: {n}");
            }
            ExitCode::SUCCESS
        }
        Ok(Err(Fail(msg))) => {
            eprintln!("profiler: {msg}");
            ExitCode::from(2)
        }
        Err(_) => ExitCode::from(2),
    }
}

/// Runs the command; on success, the notes to print (one line each).
fn run(cli: Cli) -> Result<Vec<String>, Fail> {
    let mut notes = Vec::new();
    match cli.command {
        Command::Report(a) => report(&a, &mut notes),
        Command::Convert(a) => convert(&a, &mut notes),
        Command::Merge(a) => merge(&a, &mut notes),
        Command::Diff(a) => diff(&a, &mut notes),
    }?;
    Ok(notes)
}

/// The environment variable that sets the largest input, in bytes.
const ENV_MAX_INPUT: &str = "PROFILER_MAX_INPUT";

/// The largest input to read: `PROFILER_MAX_INPUT` bytes, or 1 GiB.
fn max_input() -> Result<u64, Fail> {
    match std::env::var_os(ENV_MAX_INPUT) {
        None => Ok(profiler::load::MAX_INPUT_BYTES),
        Some(v) => match v.to_str().map(|s| s.trim().parse::<u64>()) {
            Some(Ok(n)) if n > 0 => Ok(n),
            _ => fail(
                ENV_MAX_INPUT,
                format!("expected a size in bytes, such as 2147483648, not {v:?}"),
            ),
        },
    }
}

/// Loads a `profile.json` or imports a `.prof`, printing its notes (a
/// `.prof`'s figures that could not all be represented exactly, strings
/// that were not UTF-8) when the command succeeds.
fn load(path: &Path, notes: &mut Vec<String>) -> Result<Profile, Fail> {
    let loaded = profiler::load::load(path, max_input()?)?;
    notes.extend(loaded.notes);
    Ok(loaded.profile)
}

fn load_all(paths: &[PathBuf], notes: &mut Vec<String>) -> Result<Profile, Fail> {
    let profiles = paths
        .iter()
        .map(|p| load(p, notes))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = match Profile::try_merge(&profiles) {
        Ok(m) => m,
        Err(e) => {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            return fail(&names.join(", "), format!("cannot merge: {e}"));
        }
    };
    if profiles.len() > 1 {
        if let Err(profiler::Error::Invalid { message: e }) = merged.validate() {
            return fail(
                &paths[0].display().to_string(),
                format!("cannot merge: {e}"),
            );
        }
    }
    Ok(merged)
}

/// Writes `text` to standard output; a closed pipe (`| head`) is not an error.
fn print_out(text: &str) -> Result<(), Fail> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => fail("<stdout>", e),
        _ => Ok(()),
    }
}

fn report(a: &ReportArgs, notes: &mut Vec<String>) -> Result<(), Fail> {
    let keys = if a.sort.is_empty() {
        vec![SortKey::Cumulative]
    } else {
        a.sort.clone()
    };
    let (limit, filters) = (a.limit, &a.filter);
    let profile = load_all(&a.files, notes)?;
    let render = |st: &Stats<'_>| -> String {
        if a.callers {
            st.callers().to_string()
        } else if a.callees {
            st.callees().to_string()
        } else {
            st.to_string()
        }
    };
    let mut text = String::new();
    if a.threads {
        for (i, t) in profile.threads.iter().enumerate() {
            let _ = writeln!(text, "Thread {} (pid {}, thread {})\n", t.name, t.pid, t.id);
            let st = shape(profile.thread_stats(i), &keys, filters, limit);
            text.push_str(&render(&st));
        }
    } else {
        text = render(&shape(profile.stats(), &keys, filters, limit));
    }
    // A profile of an MPI program: its MPI summary under the table.
    if let (false, false, Some(mpi)) = (a.callers, a.callees, profile.mpi_summary()) {
        let _ = write!(text, "\n{mpi}");
    }
    print_out(&text)
}

/// Applies the order, filters and limit to `st`.
fn shape<'p>(
    mut st: Stats<'p>,
    keys: &[SortKey],
    filters: &[Regex],
    limit: Option<Limit>,
) -> Stats<'p> {
    st = st.sort_by_keys(keys);
    for f in filters {
        st = st.filter(f.clone());
    }
    if let Some(l) = limit {
        st = st.limit(l);
    }
    st
}

fn convert(a: &ConvertArgs, notes: &mut Vec<String>) -> Result<(), Fail> {
    let profile = load(&a.file, notes)?;
    let to = a.to.0;
    let stem = a
        .file
        .file_stem()
        .map_or_else(|| "profile".into(), |s| s.to_string_lossy().into_owned());
    let out = a.output.clone().unwrap_or_else(|| PathBuf::from(&stem));
    if to.needs() == Needs::Mpi && !Needs::Mpi.met_by(&profile) {
        notes.push(format!(
            "{}: the profile is not of an MPI program (record with profiler::mpi::Session); \
             the matrix is empty",
            a.file.display()
        ));
    }
    if to.needs_timeline() && profile.threads.iter().all(|t| t.timeline.is_empty()) {
        notes.push(format!(
            "{}: the profile has no timeline (record with PROFILER_TIMELINE=1); \
             the trace shows no scopes",
            a.file.display()
        ));
    }
    if to.needs_timeline() {
        let cut: usize = profile.threads.iter().map(timeline::overlapping).sum();
        if cut > 0 {
            notes.push(format!(
                "{}: {cut} timeline span(s) overlap a span without nesting in it \
                 (a recording never does that: an edited file?); each is cut at \
                 the end of the span it starts in",
                a.file.display()
            ));
        }
    }
    if out.as_os_str() == "-" && to.files().len() > 1 {
        return fail(
            "-",
            format!(
                "{to} output is {} files: give -o BASENAME",
                to.files().len()
            ),
        );
    }
    let paths = match &a.output {
        Some(_) => to.paths(&out),
        None => to
            .files()
            .iter()
            .map(|f| PathBuf::from(f.named_after_input.replace("{}", &stem)))
            .collect(),
    };
    for path in &paths {
        refuse_inputs(path, std::slice::from_ref(&a.file), "-o")?;
        refuse_existing(path, a.force)?;
    }
    write_files(&profile, to, &paths)?;
    say_written(&paths, &format!("({to})"));
    Ok(())
}

/// Refuses to replace an existing file (directly or through a symlink)
/// without `--force`: a conversion must not clobber, say, a session's richer
/// `profile.json` by mistake. Standard output, devices, FIFOs and sockets
/// are written through, never replaced, so they are not refused.
fn refuse_existing(path: &Path, force: bool) -> Result<(), Fail> {
    if force || path.as_os_str() == "-" {
        return Ok(());
    }
    let is_file = std::fs::metadata(path).is_ok_and(|m| m.is_file());
    if is_file {
        return fail(
            &path.display().to_string(),
            "exists: give --force to replace it, or another output with -o",
        );
    }
    Ok(())
}

/// Says on standard error which files were written (nothing for `-`).
fn say_written(paths: &[PathBuf], what: &str) {
    for p in paths.iter().filter(|p| p.as_os_str() != "-") {
        eprintln!("profiler: wrote {} {what}", p.display());
    }
}

/// Writes the files of a format as every output is written
/// ([`write_output`]), in the format's order; if one fails, the files this
/// call created are removed again.
fn write_files(profile: &Profile, to: Format, paths: &[PathBuf]) -> Result<(), Fail> {
    let mut created: Vec<&PathBuf> = Vec::new();
    for (file, path) in to.files().iter().zip(paths) {
        let existed = std::fs::symlink_metadata(path).is_ok();
        if let Err(e) = write_output(path, |w| (file.write)(profile, w)) {
            for c in created {
                let _ = std::fs::remove_file(c);
            }
            return Err(e.into());
        }
        if !existed {
            created.push(path);
        }
    }
    Ok(())
}

/// Refuses an output that names one of the inputs (the same file, through
/// any path or link), so that writing it cannot destroy an input.
fn refuse_inputs(out: &Path, inputs: &[PathBuf], option: &str) -> Result<(), Fail> {
    if out.as_os_str() != "-" && inputs.iter().any(|i| same_file(i, out)) {
        return fail(
            &out.display().to_string(),
            format!("is an input: give another output with {option}"),
        );
    }
    Ok(())
}

/// Whether `a` and `b` name the same existing file (symlinks followed; the
/// same device and inode, so hard links count too).
fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (x.dev(), x.ino()) == (y.dev(), y.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (x, y);
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

fn merge(a: &MergeArgs, notes: &mut Vec<String>) -> Result<(), Fail> {
    refuse_inputs(&a.output, &a.files, "-o")?;
    refuse_existing(&a.output, a.force)?;
    let profile = load_all(&a.files, notes)?;
    let what = if a.output.extension().is_some_and(|e| e == "prof") {
        write_output(&a.output, |w| prof::write(&profile, w))?;
        "(prof)"
    } else {
        write_output(&a.output, |w| profiler::emit::json::write(&profile, w))?;
        "(json)"
    };
    say_written(std::slice::from_ref(&a.output), what);
    Ok(())
}

fn diff(a: &DiffArgs, notes: &mut Vec<String>) -> Result<(), Fail> {
    if let Some(svg) = &a.svg {
        refuse_inputs(svg, &[a.before.clone(), a.after.clone()], "--svg")?;
    }
    if let Some(html) = &a.html {
        refuse_inputs(html, &[a.before.clone(), a.after.clone()], "--html")?;
    }
    let before = load(&a.before, notes)?;
    let after = load(&a.after, notes)?;
    let mut d = ProfileDiff::new(&before, &after, a.by.into()).labels(
        a.before.display().to_string(),
        a.after.display().to_string(),
    );
    if let Some(n) = a.limit {
        d = d.limit(n);
    }
    if let Some(svg) = &a.svg {
        write_output(svg, |w| flamegraph::write_differential(&before, &after, w))?;
    }
    if let Some(html) = &a.html {
        let labels = [
            a.before.display().to_string(),
            a.after.display().to_string(),
        ];
        let all = ProfileDiff::new(&before, &after, a.by.into());
        write_output(html, |w| {
            profiler::emit::html::write_diff(&all, &before, &after, [&labels[0], &labels[1]], w)
        })?;
    }
    print_out(&d.to_string())
}
