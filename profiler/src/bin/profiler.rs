//! The `profiler` command-line tool: reports, conversions, merges and
//! comparisons of saved profiles (`profile.json`) and of Python's cProfile
//! `.prof` files.
//!
//! ```text
//! profiler report FILE... [--sort KEY...] [--limit N] [--callers|--callees] [--threads] [--filter REGEX]
//! profiler convert FILE --to callgrind|prof|flamegraph|folded|chrome|paraver|speedscope|json [-o OUT]
//! profiler merge FILE... -o OUT
//! profiler diff BEFORE AFTER [--svg OUT] [--by tottime|cumtime|ncalls] [--limit N]
//! ```
//!
//! Every input may be a `profile.json` or a `.prof` (told apart by their
//! first bytes), of at most 1 GiB (`PROFILER_MAX_INPUT=BYTES` changes the
//! limit). Outputs are written atomically, except that `-` is standard
//! output and a device, FIFO or socket is written in place; a symlink's
//! target is replaced and the link kept, and a replaced file keeps its
//! permission bits (see [`profiler::emit::write_output`]). An output that
//! names an input is refused. Any error is one line,
//! `profiler: <file>: <problem>`, and exit status 2.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use profiler::emit::flamegraph;
use profiler::emit::{Format, prof, timeline, write_output};
use profiler::{Figures, Limit, Profile, SortKey, Stats};
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
    sort: Vec<String>,
    /// Print at most N rows (or a fraction of them, such as 0.1).
    #[arg(long, value_name = "N")]
    limit: Option<String>,
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
    filter: Vec<String>,
}

#[derive(Args, Debug)]
struct ConvertArgs {
    /// The profile to convert (`profile.json` or `.prof`).
    file: PathBuf,
    /// The output format.
    #[arg(long, value_enum)]
    to: Format,
    /// Where to write (`-` for standard output). Default: the input's name
    /// with the format's extension, in the current directory.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
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
    /// Which change ranks the functions.
    #[arg(long, value_enum, default_value_t = DiffBy::Tottime)]
    by: DiffBy,
    /// Print at most N functions.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DiffBy {
    /// Change in self time.
    Tottime,
    /// Change in cumulative time.
    Cumtime,
    /// Change in the number of calls.
    Ncalls,
}

/// Notes printed (one line each) when the command succeeds: on failure only
/// the error's line is printed.
static NOTES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn note(line: String) {
    if let Ok(mut notes) = NOTES.lock() {
        notes.push(line);
    }
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
        Ok(Ok(())) => {
            if let Ok(notes) = NOTES.lock() {
                for n in notes.iter() {
                    eprintln!("profiler: note: {n}");
                }
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

fn run(cli: Cli) -> Result<(), Fail> {
    match cli.command {
        Command::Report(a) => report(&a),
        Command::Convert(a) => convert(&a),
        Command::Merge(a) => merge(&a),
        Command::Diff(a) => diff(&a),
    }
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
fn load(path: &Path) -> Result<Profile, Fail> {
    let loaded = profiler::load::load(path, max_input()?)?;
    for n in loaded.notes {
        note(n);
    }
    Ok(loaded.profile)
}

fn load_all(paths: &[PathBuf]) -> Result<Profile, Fail> {
    let profiles = paths
        .iter()
        .map(|p| load(p))
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

fn report(a: &ReportArgs) -> Result<(), Fail> {
    let keys = if a.sort.is_empty() {
        vec![SortKey::Cumulative]
    } else {
        a.sort
            .iter()
            .map(|k| k.parse::<SortKey>())
            .collect::<Result<Vec<_>, _>>()
            .or_else(|e| fail("--sort", e))?
    };
    let limit = match &a.limit {
        None => None,
        Some(s) => Some(parse_limit(s)?),
    };
    let filters = a
        .filter
        .iter()
        .map(|f| Regex::new(f))
        .collect::<Result<Vec<_>, _>>()
        .or_else(|e| fail("--filter", e))?;
    let profile = load_all(&a.files)?;
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
            let st = shape(profile.thread_stats(i), &keys, &filters, limit);
            text.push_str(&render(&st));
        }
    } else {
        text = render(&shape(profile.stats(), &keys, &filters, limit));
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

fn parse_limit(s: &str) -> Result<Limit, Fail> {
    if let Ok(n) = s.parse::<usize>() {
        return Ok(Limit::Count(n));
    }
    match s.parse::<f64>() {
        Ok(f) if s.contains('.') && f.is_finite() => Ok(Limit::Fraction(f)),
        _ => fail(
            "--limit",
            format!("expected a row count or a fraction such as 0.25, not {s:?}"),
        ),
    }
}

fn convert(a: &ConvertArgs) -> Result<(), Fail> {
    let profile = load(&a.file)?;
    let to = a.to;
    let stem = a
        .file
        .file_stem()
        .map_or_else(|| "profile".into(), |s| s.to_string_lossy().into_owned());
    let out = a.output.clone().unwrap_or_else(|| PathBuf::from(&stem));
    if to.needs_timeline() && profile.threads.iter().all(|t| t.timeline.is_empty()) {
        note(format!(
            "{}: the profile has no timeline (record with PROFILER_TIMELINE=1); \
             the trace shows no scopes",
            a.file.display()
        ));
    }
    if to.needs_timeline() {
        let cut: usize = profile.threads.iter().map(timeline::overlapping).sum();
        if cut > 0 {
            note(format!(
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
    }
    write_files(&profile, to, &paths)
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

fn merge(a: &MergeArgs) -> Result<(), Fail> {
    refuse_inputs(&a.output, &a.files, "-o")?;
    let profile = load_all(&a.files)?;
    if a.output.extension().is_some_and(|e| e == "prof") {
        write_output(&a.output, |w| prof::write(&profile, w))?;
    } else {
        write_output(&a.output, |w| profiler::emit::json::write(&profile, w))?;
    }
    Ok(())
}

/// pstats' `file:line(name)` (built-ins `{name}`).
fn label(file: &str, line: u32, name: &str) -> String {
    if file == "~" && line == 0 {
        if name.len() >= 2 && name.starts_with('<') && name.ends_with('>') {
            return format!("{{{}}}", &name[1..name.len() - 1]);
        }
        return name.to_owned();
    }
    format!("{file}:{line}({name})")
}

/// Every function's figures, keyed by `(file, line, name)`, in site order.
fn by_key(p: &Profile) -> Vec<((String, u32, String), Figures)> {
    let mut out: Vec<((String, u32, String), Figures)> = Vec::new();
    let mut at: HashMap<(String, u32, String), usize> = HashMap::new();
    for f in p.stats().functions() {
        let Some(s) = p.sites.get(f.site as usize) else {
            continue;
        };
        let key = (s.file.clone(), s.line, s.name.clone());
        let i = *at.entry(key.clone()).or_insert_with(|| {
            out.push((key, Figures::default()));
            out.len() - 1
        });
        let g = &mut out[i].1;
        g.ncalls = g.ncalls.saturating_add(f.figures.ncalls);
        g.pcalls = g.pcalls.saturating_add(f.figures.pcalls);
        g.tottime_ns = g.tottime_ns.saturating_add(f.figures.tottime_ns);
        g.cumtime_ns = g.cumtime_ns.saturating_add(f.figures.cumtime_ns);
    }
    out
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn signed_secs(d: i128) -> f64 {
    d as f64 / 1e9
}

fn diff(a: &DiffArgs) -> Result<(), Fail> {
    if let Some(svg) = &a.svg {
        refuse_inputs(svg, &[a.before.clone(), a.after.clone()], "--svg")?;
    }
    let before = load(&a.before)?;
    let after = load(&a.after)?;
    let b = by_key(&before);
    let aft = by_key(&after);
    let mut rows: Vec<(String, Figures, Figures)> = Vec::new();
    let mut at: HashMap<&(String, u32, String), usize> = HashMap::new();
    for (k, f) in &aft {
        at.insert(k, rows.len());
        rows.push((label(&k.0, k.1, &k.2), Figures::default(), *f));
    }
    for (k, f) in &b {
        match at.get(k) {
            Some(&i) => rows[i].1 = *f,
            None => rows.push((label(&k.0, k.1, &k.2), *f, Figures::default())),
        }
    }
    let delta = |x: &(String, Figures, Figures)| -> [i128; 3] {
        let d = |f: fn(&Figures) -> u64| i128::from(f(&x.2)) - i128::from(f(&x.1));
        let tt = d(|f| f.tottime_ns);
        let ct = d(|f| f.cumtime_ns);
        let nc = d(|f| f.ncalls);
        match a.by {
            DiffBy::Tottime => [tt, ct, nc],
            DiffBy::Cumtime => [ct, tt, nc],
            DiffBy::Ncalls => [nc, tt, ct],
        }
    };
    // Stable: ties keep the after-profile's order.
    rows.sort_by(|x, y| {
        let (dx, dy) = (delta(x), delta(y));
        dy.map(i128::abs).cmp(&dx.map(i128::abs))
    });
    let total = |p: &Profile| {
        let st = p.stats();
        (st.total_calls(), st.total_time_ns())
    };
    let (nb, tb) = total(&before);
    let (na, ta) = total(&after);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "before: {}: {nb} function calls in {:.3} seconds",
        a.before.display(),
        secs(tb)
    );
    let _ = writeln!(
        text,
        "after:  {}: {na} function calls in {:.3} seconds ({:+.3} seconds, {})",
        a.after.display(),
        secs(ta),
        signed_secs(i128::from(ta) - i128::from(tb)),
        percent(tb, ta)
    );
    let by = match a.by {
        DiffBy::Tottime => "change in tottime",
        DiffBy::Cumtime => "change in cumtime",
        DiffBy::Ncalls => "change in ncalls",
    };
    let _ = writeln!(text, "\n   Ordered by: {by}, largest first\n");
    let groups = format!("{:^39}{:^31}{:^23}", "tottime", "cumtime", "ncalls");
    let _ = writeln!(text, "{}", groups.trim_end());
    let _ = writeln!(
        text,
        "{:>10}{:>10}{:>10}{:>9}{:>11}{:>10}{:>10}{:>12}{:>11}  function",
        "before", "after", "change", "%", "before", "after", "change", "before", "after"
    );
    let n = a.limit.unwrap_or(rows.len()).min(rows.len());
    for (name, fb, fa) in &rows[..n] {
        let dt = i128::from(fa.tottime_ns) - i128::from(fb.tottime_ns);
        let dc = i128::from(fa.cumtime_ns) - i128::from(fb.cumtime_ns);
        let _ = writeln!(
            text,
            "{:>10.3}{:>10.3}{:>+10.3}{:>9}{:>11.3}{:>10.3}{:>+10.3}{:>12}{:>11}  {name}",
            secs(fb.tottime_ns),
            secs(fa.tottime_ns),
            signed_secs(dt),
            percent(fb.tottime_ns, fa.tottime_ns),
            secs(fb.cumtime_ns),
            secs(fa.cumtime_ns),
            signed_secs(dc),
            fb.ncalls,
            fa.ncalls,
        );
    }
    if n < rows.len() {
        let _ = writeln!(text, "   ({} more functions; see --limit)", rows.len() - n);
    }
    if let Some(svg) = &a.svg {
        write_output(svg, |w| flamegraph::write_differential(&before, &after, w))?;
    }
    print_out(&text)
}

/// The change from `before` to `after` in percent, `new` or `gone`.
fn percent(before: u64, after: u64) -> String {
    match (before, after) {
        (0, 0) => "0%".to_owned(),
        (0, _) => "new".to_owned(),
        (_, 0) => "gone".to_owned(),
        (b, a) => format!("{:+.0}%", (a as f64 - b as f64) / b as f64 * 100.0),
    }
}
