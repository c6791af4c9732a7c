//! The `rovn` command: one binary, one subcommand per component. The
//! subcommands are thin shells over the library crates.

mod daemon;
mod json;
mod logging;
mod ovsdb_client;
mod ovsdb_server;
mod ovsdb_tool;
mod table;
mod trace;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Subcommands and a one-line description of each.
const SUBCOMMANDS: &[(&str, &str)] = &[
    ("ovsdb-server", "serve OVSDB databases (like ovsdb-server(1); standalone, no SSL yet)"),
    ("ovsdb-tool", "manage OVSDB database files (like ovsdb-tool(1))"),
    ("ovsdb-client", "query, dump and monitor OVSDB servers (like ovsdb-client(1))"),
    ("trace", "simulate a packet through the logical network (like ovn-trace(8))"),
];

fn usage() -> String {
    let mut s = format!("rovn {VERSION}: Open Virtual Network in Rust\nusage: rovn COMMAND [ARG...]\n\nCommands:\n");
    for (name, what) in SUBCOMMANDS {
        s.push_str(&format!("  {name:<14} {what}\n"));
    }
    s.push_str("  help           show this help\n\nOptions:\n  -h, --help     show this help\n  -V, --version  show the version\n\nRun `rovn COMMAND --help` for a command's own options.\n");
    s
}

/// mimalloc (v3) instead of glibc's malloc: the servers allocate and free
/// small objects by the million (JSON trees, datums), and glibc spends a
/// third of their CPU on it (see the README's benchmark section).
#[global_allocator]
static GLOBAL: ::ovsdb_server::alloc::Allocator = ::ovsdb_server::alloc::Allocator;

extern "C" {
    /// mimalloc's option setter (the library is linked by libmimalloc-sys).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (libmimalloc-sys
/// 0.1.49; its Rust bindings name only some options).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
/// `mi_option_allow_thp` (same enum).
const MI_OPTION_ALLOW_THP: std::ffi::c_int = 43;

/// Sets mimalloc's options before anything allocates: `main` is too late,
/// since Rust's runtime allocates before calling it, and that first
/// allocation maps mimalloc's arena (asking for huge pages on it, as the
/// options were then). A function listed in `.init_array` runs before the
/// runtime starts, and allocates nothing (the environment is read with
/// getenv).
#[used]
#[link_section = ".init_array"]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

extern "C" fn tune_allocator() {
    // SAFETY: getenv reads the environment, which nothing writes yet.
    let unset = |name: &std::ffi::CStr| unsafe { libc::getenv(name.as_ptr()).is_null() };
    // Freed pages go back to the system at once rather than after 10 ms:
    // after a bulk load that is 14 MiB less RSS, for no measurable CPU.
    // MIMALLOC_PURGE_DELAY in the environment still decides, if set.
    if unset(c"MIMALLOC_PURGE_DELAY") {
        // SAFETY: sets a plain integer option.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
    // No transparent huge pages: a 2 MiB page is resident as soon as one
    // byte of it is touched, so a server whose heap grows a little at a
    // time (a thousand idle clients) holds three times the memory it uses,
    // memory is freed back only in 2 MiB pieces, and an idle server holds
    // a whole huge page for the runtime's first few allocations (3.1 MiB
    // more RSS at start). MIMALLOC_ALLOW_THP in the environment still
    // decides, if set.
    if unset(c"MIMALLOC_ALLOW_THP") {
        // SAFETY: sets a plain integer option, and a flag of this process.
        unsafe {
            mi_option_set(MI_OPTION_ALLOW_THP, 0);
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
}

fn main() {
    let mut args = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.into_string() {
            Ok(s) => args.push(s),
            Err(a) => {
                eprintln!("rovn: argument {a:?} is not valid UTF-8");
                std::process::exit(1);
            }
        }
    }
    let status = match args.first().map(String::as_str) {
        None => {
            eprint!("{}", usage());
            1
        }
        Some("-h" | "--help" | "help") => {
            print!("{}", usage());
            0
        }
        Some("-V" | "--version") => {
            println!("rovn {VERSION}");
            0
        }
        Some("ovsdb-server") => ovsdb_server::main(&args[1..]),
        Some("ovsdb-tool") => ovsdb_tool::main(&args[1..]),
        Some("ovsdb-client") => ovsdb_client::main(&args[1..]),
        Some("trace") => trace::main(&args[1..]),
        Some(other) => {
            eprintln!("rovn: unknown command '{other}'; use --help for help");
            1
        }
    };
    std::process::exit(status);
}
