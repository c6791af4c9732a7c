//! The bench for `rovn trace` differentials: upstream ovn-northd on two
//! upstream ovsdb-servers (NB, SB), topologies built with ovn-nbctl, and
//! both tracers run on the same SB with the same arguments. What they
//! print must agree:
//!
//! - the whole text, byte for byte, but for the [`KNOWN`] divergences
//!   (upstream's mistakes, each explained) and for equal-priority flow
//!   choices ([`TIES`]); [`TextStats`] counts which;
//! - and, reduced, to say what went wrong when it does not: the packet
//!   line (`# icmp,reg14=0x1,...`, ovs-ofctl's flow syntax); the path:
//!   every table the packet hit, as (table, stage, priority), in order
//!   (from the detailed form); the outcome: every delivery with the
//!   packet fields rewritten on the way (from the minimal form), and the
//!   controller actions met.
//!
//! `TRACE_DUMP=DIR` keeps, for each comparison, the arguments, both
//! outputs and a copy of the SB database in DIR (for working on a
//! divergence without rebuilding the lab).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::lab::{on_path, require, run, run_ok, wait_for, Lab};
use super::{Ran, ROVN};

const NB_SCHEMA: &str = "/usr/share/ovn/ovn-nb.ovsschema";
const SB_SCHEMA: &str = "/usr/share/ovn/ovn-sb.ovsschema";

/// NB and SB servers with northd on them.
pub struct TraceLab {
    pub lab: Lab,
    pub nb: String,
    pub sb: String,
    /// How the whole texts compared so far.
    pub text: std::cell::RefCell<TextStats>,
}

/// Starts the servers and northd, or skips (None) when upstream OVN is
/// missing (a failure under CI=true).
pub fn start(name: &str) -> Option<TraceLab> {
    let tools = ["ovsdb-server", "ovsdb-tool", "ovn-northd", "ovn-nbctl", "ovn-sbctl", "ovn-trace", "ovn-appctl"];
    let have = tools.iter().all(|t| on_path(t)) && Path::new(NB_SCHEMA).exists();
    if !require(have, "upstream OVN 23.03 (ovn-central, ovn-common) and OVS for the trace differential") {
        return None;
    }
    let mut lab = Lab::new(name);
    let mut remotes = Vec::new();
    for (name, schema) in [("nb", NB_SCHEMA), ("sb", SB_SCHEMA)] {
        let db = lab.path(&format!("{name}.db")).display().to_string();
        run_ok("ovsdb-tool", &["create", &db, schema]);
        let sock = lab.path(&format!("{name}.sock"));
        let remote = format!("--remote=punix:{}", sock.display());
        let ctl = format!("--unixctl={}", lab.path(&format!("{name}.ctl")).display());
        lab.daemon(name, None, &[], "ovsdb-server", &[&db, &remote, &ctl]);
        wait_for(&format!("{name} socket"), Duration::from_secs(10), || sock.exists().then_some(()));
        remotes.push(format!("unix:{}", sock.display()));
    }
    let (nb, sb) = (remotes[0].clone(), remotes[1].clone());
    let ctl = format!("--unixctl={}", lab.path("northd.ctl").display());
    lab.daemon("northd", None, &[], "ovn-northd", &[&format!("--ovnnb-db={nb}"), &format!("--ovnsb-db={sb}"), &ctl]);
    Some(TraceLab { lab, nb, sb, text: Default::default() })
}

impl TraceLab {
    pub fn nbctl(&self, args: &[&str]) -> String {
        let db = format!("--db={}", self.nb);
        let mut all = vec![db.as_str(), "--timeout=30"];
        all.extend_from_slice(args);
        run_ok("ovn-nbctl", &all).trim().to_string()
    }

    pub fn sbctl(&self, args: &[&str]) -> String {
        let db = format!("--db={}", self.sb);
        let mut all = vec![db.as_str(), "--timeout=30"];
        all.extend_from_slice(args);
        run_ok("ovn-sbctl", &all).trim().to_string()
    }

    /// Runs ovn-nbctl commands, each one string with its arguments
    /// separated by ` ++ ` (so that arguments may hold spaces).
    pub fn nb_script(&self, cmds: &[&str]) {
        for cmd in cmds {
            let args: Vec<&str> = cmd.split(" ++ ").collect();
            self.nbctl(&args);
        }
    }

    /// Waits until northd has brought the SB up to date.
    pub fn sync(&self) {
        self.nbctl(&["--wait=sb", "sync"]);
    }

    /// The SB Datapath_Binding UUID of logical switch or router `name`.
    pub fn sb_datapath(&self, name: &str) -> String {
        self.sbctl(&["--bare", "--columns=_uuid", "find", "Datapath_Binding", &format!("external_ids:name={name}")])
    }

    /// Stops northd from rewriting the SB (`ovn-appctl pause`), so that
    /// hand-written Logical_Flow rows stay.
    pub fn pause_northd(&self) {
        let ctl = self.lab.path("northd.ctl").display().to_string();
        run_ok("ovn-appctl", &["-t", &ctl, "pause"]);
    }

    /// Adds a hand-written logical flow to datapath `dp` (an SB UUID).
    #[allow(clippy::too_many_arguments)]
    pub fn add_flow(&self, dp: &str, pipeline: &str, table: u32, priority: u32, m: &str, actions: &str, stage: &str) {
        self.sbctl(&[
            "create",
            "Logical_Flow",
            &format!("logical_datapath={dp}"),
            &format!("pipeline={pipeline}"),
            &format!("table_id={table}"),
            &format!("priority={priority}"),
            &format!("match={}", serde_json::Value::String(m.into())),
            &format!("actions={}", serde_json::Value::String(actions.into())),
            &format!("external_ids:stage-name={stage}"),
        ]);
    }

    pub fn upstream(&self, args: &[&str]) -> Ran {
        let db = format!("--db={}", self.sb);
        let mut all = vec![db.as_str()];
        all.extend_from_slice(args);
        run("ovn-trace", &all)
    }

    pub fn rovn(&self, args: &[&str]) -> Ran {
        let db = format!("--db={}", self.sb);
        let mut all = vec!["trace", db.as_str()];
        all.extend_from_slice(args);
        run(ROVN, &all)
    }

    /// Traces with both tools (`--all`); records a failure unless both
    /// succeed and agree on the packet line, the path and the outcome.
    /// Returns rovn's trace when they agree.
    pub fn compare(&self, what: &str, opts: &[&str], flow: &str, failures: &mut Vec<String>) -> Option<Trace> {
        let mut args: Vec<&str> = opts.to_vec();
        args.push("--all");
        args.push(flow);
        let theirs = self.upstream(&args);
        let ours = self.rovn(&args);
        if let Ok(d) = std::env::var("TRACE_DUMP") {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let n = N.fetch_add(1, Ordering::SeqCst);
            let _ = std::fs::create_dir_all(&d);
            let _ = std::fs::write(format!("{d}/{n:03}.args"), format!("{what}\n{args:?}\n"));
            let _ = std::fs::write(format!("{d}/{n:03}.ours"), &ours.out);
            let _ = std::fs::write(format!("{d}/{n:03}.theirs"), &theirs.out);
            let _ = std::fs::copy(self.lab.path("sb.db"), format!("{d}/{n:03}.db"));
        }
        if ours.code != 0 || ours.err.contains("panicked") {
            failures.push(format!("{what}: rovn trace failed ({}): {}", ours.code, ours.err));
            return None;
        }
        if theirs.code != 0 {
            failures.push(format!("{what}: upstream ovn-trace failed ({}): {}", theirs.code, theirs.err));
            return None;
        }
        let text_diff = self.compare_text(&ours.out, &theirs.out, (&ours.out, &theirs.out));
        let (o, t) = (Trace::parse(&ours.out), Trace::parse(&theirs.out));
        let mut diffs = Vec::new();
        if o.packet != t.packet {
            diffs.push(format!("packet line\n  rovn:     {}\n  upstream: {}", o.packet, t.packet));
        }
        if o.path != t.path {
            let at = o.path.iter().zip(&t.path).take_while(|(a, b)| a == b).count();
            diffs.push(format!(
                "path differs after {at} tables\n  rovn:     {:?}\n  upstream: {:?}",
                &o.path[at..],
                &t.path[at..]
            ));
        }
        if o.outcome != t.outcome {
            diffs.push(format!("outcome\n  rovn:     {:?}\n  upstream: {:?}", o.outcome, t.outcome));
        }
        diffs.extend(text_diff);
        if diffs.is_empty() {
            return Some(o);
        }
        failures.push(format!(
            "{what}: {opts:?} {flow}\n{}\n--- rovn ---\n{}--- upstream ---\n{}",
            diffs.join("\n"),
            ours.out,
            theirs.out
        ));
        None
    }

    /// For a microflow on which upstream ovn-trace 23.03 crashes (an
    /// assertion in its own code): checks that it still does, so that the
    /// divergence stays recorded, and returns rovn's trace.
    pub fn upstream_crashes(&self, opts: &[&str], flow: &str, assertion: &str) -> Trace {
        let mut args: Vec<&str> = opts.to_vec();
        args.push("--all");
        args.push(flow);
        let theirs = self.upstream(&args);
        assert!(
            theirs.code != 0 && theirs.err.contains(assertion),
            "upstream no longer crashes on {flow} ({}): {}{}",
            theirs.code,
            theirs.out,
            theirs.err
        );
        let ours = self.rovn(&args);
        assert_eq!(ours.code, 0, "rovn on {flow}: {}", ours.err);
        Trace::parse(&ours.out)
    }
}

impl TraceLab {
    /// Compares two whole outputs of the same command: byte for byte, or
    /// else equal once [`KNOWN`] divergences are taken out, or else
    /// different only where the two tools hit different flows of equal
    /// priority ([`TIES`]; `detailed` is the pair of detailed traces of
    /// the same microflow to tell). Counts in `self.text`; returns what
    /// differs otherwise.
    pub fn compare_text(&self, ours: &str, theirs: &str, detailed: (&str, &str)) -> Option<String> {
        let mut stats = self.text.borrow_mut();
        stats.compared += 1;
        if ours == theirs {
            stats.identical += 1;
            return None;
        }
        let (o, t) = (without_known(ours), without_known(theirs));
        if o == t {
            for k in KNOWN {
                if (k.apply)(theirs) != theirs || (k.apply)(ours) != ours {
                    *stats.known.entry(k.name).or_default() += 1;
                }
            }
            return None;
        }
        if ties_explain(detailed.0, detailed.1) {
            *stats.known.entry(TIES).or_default() += 1;
            return None;
        }
        stats.failed += 1;
        Some(first_difference(&o, &t))
    }

    /// Traces `flow` with `--all --no-friendly-names`, then `--summary`
    /// and `--minimal` alone (no section headers): records a failure
    /// unless both tools print the same text ([`TraceLab::compare`] does
    /// `--all`).
    pub fn compare_forms(&self, what: &str, opts: &[&str], flow: &str, failures: &mut Vec<String>) {
        let mut detailed = (String::new(), String::new());
        for form in [&["--all", "--no-friendly-names"][..], &["--summary"], &["--minimal"]] {
            let mut args: Vec<&str> = opts.to_vec();
            args.extend_from_slice(form);
            args.push(flow);
            let (ours, theirs) = (self.rovn(&args), self.upstream(&args));
            if ours.code != 0 || theirs.code != 0 {
                failures.push(format!(
                    "{what} {form:?}: rovn exit {} ({}), upstream exit {} ({})",
                    ours.code, ours.err, theirs.code, theirs.err
                ));
                continue;
            }
            if form[0] == "--all" {
                detailed = (ours.out.clone(), theirs.out.clone());
            }
            if let Some(d) = self.compare_text(&ours.out, &theirs.out, (&detailed.0, &detailed.1)) {
                failures.push(format!("{what}: {args:?}\n{d}"));
            }
        }
    }
}

/// How the whole texts of the two tools compared.
#[derive(Debug, Default)]
pub struct TextStats {
    /// Outputs compared.
    pub compared: usize,
    /// Byte-identical ones.
    pub identical: usize,
    /// Equal but for known divergences: how many outputs each one
    /// touched.
    pub known: BTreeMap<&'static str, usize>,
    /// Different otherwise (each one a test failure).
    pub failed: usize,
}

impl std::fmt::Display for TextStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} outputs compared as text: {} byte-identical, {} equal but for known divergences {:?}, {} different",
            self.compared,
            self.identical,
            self.compared - self.identical - self.failed,
            self.known,
            self.failed
        )
    }
}

/// A known, explained difference between rovn's trace text and
/// ovn-trace 23.03's, and how to take it out of either text.
pub struct Known {
    pub name: &'static str,
    pub why: &'static str,
    pub apply: fn(&str) -> String,
}

/// Every known divergence of the trace text. Upstream is wrong in each
/// (PEERS.md: rovn stays right, the test records the difference).
pub const KNOWN: &[Known] = &[
    Known {
        name: "ct_snatin_czone",
        why: "ovn-trace names the blocks of ct_snat_in_czone / ct_dnat_in_czone \
              `ct_snatin_czone` / `ct_dnatin_czone` (and underlines them so); \
              rovn prints the action's name",
        apply: czone_names,
    },
    Known {
        name: "lookup_arp found",
        why: "for a lookup_arp that finds a binding, ovn-trace says `MAC binding to \
              <the packet's eth.dst> found.`; rovn names the binding's MAC",
        apply: |t| mask_between(t, "/* MAC binding to ", " found. */"),
    },
    Known {
        name: "lookup_fdb found",
        why: "for a lookup_fdb hit, ovn-trace says `MAC lookup for <the packet's \
              eth.dst> found in FDB.`; rovn names the MAC looked up",
        apply: |t| mask_between(t, "/* MAC lookup for ", " found in FDB. */"),
    },
    Known {
        name: "pop value",
        why: "ovn-trace's minimal trace shows `pop(F) <- V` with V read from \
              uninitialized memory; rovn shows the value popped",
        apply: |t| mask_between(t, "pop(", ";"),
    },
    Known {
        name: "put_dhcpv6_opts comment",
        why: "ovn-trace comments put_dhcpv6_opts with its DHCPv4 sentence (`We assume \
              that this packet is DHCPDISCOVER or DHCPREQUEST.`); rovn says DHCPv6",
        apply: |t| {
            t.replace(
                "We assume that this packet is DHCPv6 request packet.",
                "We assume that this packet is DHCPDISCOVER or DHCPREQUEST.",
            )
        },
    },
];

/// The last resort of [`TraceLab::compare_text`]: among overlapping flows
/// of equal priority in a table, which one ovn-trace hits depends on its
/// hash tables (and the flows' random UUIDs), so it changes from run to
/// run; rovn takes the highest UUID. The texts may then name different
/// flows, with different actions, though the tables, stages and
/// priorities are the same all along (the path and outcome comparisons of
/// [`TraceLab::compare`] still apply).
const TIES: &str = "equal-priority flow choice";

fn without_known(t: &str) -> String {
    KNOWN.iter().fold(t.to_string(), |t, k| (k.apply)(&t))
}

fn czone_names(t: &str) -> String {
    let mut out = Vec::new();
    let mut fix_underline = false;
    for l in t.split('\n') {
        if fix_underline && !l.is_empty() && l.trim_start_matches(' ').chars().all(|c| c == '-') {
            let prev: &String = out.last().expect("a header before its underline");
            let indent = prev.len() - prev.trim_start().len();
            out.push(format!("{}{}", " ".repeat(indent), "-".repeat(prev.len() - indent)));
            fix_underline = false;
            continue;
        }
        let fixed = l.replace("ct_snatin_czone", "ct_snat_in_czone").replace("ct_dnatin_czone", "ct_dnat_in_czone");
        fix_underline = fixed != l;
        out.push(fixed);
    }
    out.join("\n")
}

/// Replaces what lies between `start` and `end` on a line with `*`.
fn mask_between(t: &str, start: &str, end: &str) -> String {
    t.split('\n')
        .map(|l| match l.find(start) {
            Some(i) if l[i..].contains(end) => {
                let j = i + start.len();
                let k = j + l[j..].find(end).unwrap_or(0);
                format!("{}*{}", &l[..j], &l[k..])
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether two detailed traces hit tables with the same number, stage
/// and priority all along, some with different flows.
fn ties_explain(ours: &str, theirs: &str) -> bool {
    let tables = |t: &str| -> Vec<(String, String)> {
        t.lines()
            .filter_map(|l| {
                let (n, rest) = l.trim_start().split_once(". ")?;
                n.parse::<u32>().ok()?;
                let (head, _) = rest.rsplit_once(", uuid ")?;
                let (_, prio) = head.rsplit_once(", priority ")?;
                let stage = rest.split([' ', ':']).next().unwrap_or("");
                Some((format!("{n} {stage} {prio}"), l.to_string()))
            })
            .collect()
    };
    let (o, t) = (tables(ours), tables(theirs));
    !o.is_empty()
        && o.len() == t.len()
        && o.iter().zip(&t).all(|(a, b)| a.0 == b.0)
        && o.iter().zip(&t).any(|(a, b)| a.1 != b.1)
}

/// The first line where two texts differ, with some context.
fn first_difference(ours: &str, theirs: &str) -> String {
    let (o, t): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    let at = o.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let from = at.saturating_sub(3);
    format!(
        "text differs at line {} (after known divergences)\n--- rovn ---\n{}\n--- upstream ---\n{}",
        at + 1,
        o[from..o.len().min(at + 4)].join("\n"),
        t[from..t.len().min(at + 4)].join("\n")
    )
}

/// A delivery in a minimal trace: the port, the packet fields changed on
/// the way, and how many times the TTL was decremented.
#[derive(Debug, Default, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delivery {
    pub port: String,
    pub fields: BTreeMap<String, String>,
    pub ttl_decrements: u32,
}

/// What a minimal trace says happened.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub deliveries: Vec<Delivery>,
    /// Controller actions (`put_dhcp_opts(...)` and friends).
    pub controller: Vec<String>,
}

impl Outcome {
    /// The fields of the delivery to `port` (panics if there is none).
    pub fn to(&self, port: &str) -> &Delivery {
        self.deliveries.iter().find(|d| d.port == port).unwrap_or_else(|| panic!("no delivery to {port} in {self:?}"))
    }
}

/// One `--all` trace, reduced.
#[derive(Debug, Default)]
pub struct Trace {
    /// The first line without `# `.
    pub packet: String,
    /// (table, stage, priority) of each table hit, in order. Not the flow
    /// UUID: among overlapping flows of equal priority, which one upstream
    /// picks depends on its hash tables.
    pub path: Vec<(u32, String)>,
    pub outcome: Outcome,
    /// The whole output.
    pub text: String,
}

impl Trace {
    pub fn parse(text: &str) -> Trace {
        let packet = text.lines().next().unwrap_or("").trim_start_matches("# ").to_string();
        let section = |name: &str| -> String {
            let start = text.find(&format!("# {name} trace.\n")).map(|i| i + name.len() + 10);
            match start {
                Some(s) => {
                    let rest = &text[s..];
                    let end = rest.find("\n# ").map_or(rest.len(), |i| i + 1);
                    rest[..end].to_string()
                }
                None => text.to_string(),
            }
        };
        Trace {
            packet,
            path: path(&section("Detailed")),
            outcome: outcome(&section("Minimal")),
            text: text.to_string(),
        }
    }
}

/// The tables hit in a detailed trace: `N. stage (...): ..., priority P,
/// uuid U` gives (N, "stage P").
pub fn path(text: &str) -> Vec<(u32, String)> {
    text.lines()
        .filter_map(|l| {
            let (n, rest) = l.trim_start().split_once(". ")?;
            let n: u32 = n.parse().ok()?;
            let (head, _uuid) = rest.rsplit_once(", uuid ")?;
            let (_, prio) = head.rsplit_once(", priority ")?;
            let stage = rest.split([' ', ':']).next().unwrap_or("");
            Some((n, format!("{stage} {prio}")))
        })
        .collect()
}

/// Normalizes a value: addresses and integers in any notation to hex.
fn value(v: &str) -> String {
    match lflow::lookup::parse_address(v.trim()) {
        Ok(c) => format!("{:#x}", c.value),
        Err(_) => v.trim().to_string(),
    }
}

/// Parses `--minimal` output (either tool's).
pub fn outcome(text: &str) -> Outcome {
    #[derive(Clone, Default)]
    struct Scope {
        fields: BTreeMap<String, String>,
        ttl: u32,
    }
    let mut out = Outcome::default();
    let mut stack = vec![Scope::default()];
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let top = stack.last().cloned().unwrap_or_default();
        if l == "};" {
            stack.pop();
            if stack.is_empty() {
                stack.push(Scope::default());
            }
        } else if let Some(header) = l.strip_suffix(" {") {
            let mut s = top;
            // NAT headers name the rewritten address: ct_dnat(ip4.dst=...).
            if let Some(args) = header.split_once('(').map(|x| x.1) {
                for kv in args.split(')').next().unwrap_or("").split(',') {
                    if let Some((k, v)) = kv.split_once('=') {
                        let k = k.trim();
                        if k.starts_with("ip4.") || k.starts_with("ip6.") {
                            s.fields.insert(k.to_string(), value(v));
                        }
                    }
                }
            }
            stack.push(s);
        } else if let Some(port) = l.strip_prefix("output(\"").and_then(|r| r.strip_suffix("\");")) {
            out.deliveries.push(Delivery {
                port: port.to_string(),
                fields: top.fields.clone(),
                ttl_decrements: top.ttl,
            });
        } else if l == "ip.ttl--;" {
            if let Some(s) = stack.last_mut() {
                s.ttl += 1;
            }
        } else if l.starts_with("put_") {
            out.controller.push(l.to_string());
        } else if let Some((k, v)) = l.strip_suffix(';').and_then(|s| s.split_once(" = ")) {
            let k = k.trim();
            let metadata = ["reg", "xreg", "xxreg", "flags", "ct_", "inport", "outport", "pkt.mark"];
            if !metadata.iter().any(|m| k.starts_with(m)) {
                if let Some(s) = stack.last_mut() {
                    s.fields.insert(k.to_string(), value(v));
                }
            }
        }
    }
    out.deliveries.sort();
    out
}

/// What [`TraceLab::check_every_flow`] saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Logical flows in the SB.
    pub flows: usize,
    /// Compilations: one per (logical flow, datapath it applies to), as
    /// each chassis compiles a flow once per datapath.
    pub compiled: usize,
    /// OpenFlow flows those need (`conj_id` flows included).
    pub openflow: usize,
    /// Conjunctive matches among them.
    pub conjunctions: usize,
    /// Compilations that match nothing (an unknown port, a port that is
    /// not resident).
    pub empty: usize,
    /// Action lists encoded to OpenFlow.
    pub encoded: usize,
    /// Action lists `lflow::encode` says it does not support yet, by the
    /// first word of the message.
    pub unsupported: BTreeMap<String, usize>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unsupported: usize = self.unsupported.values().sum();
        write!(
            f,
            "{} logical flows, {} compilations -> {} OpenFlow flows ({} conjunctions, {} empty); \
             actions: {} encoded, {} unsupported {:?}",
            self.flows,
            self.compiled,
            self.openflow,
            self.conjunctions,
            self.empty,
            self.encoded,
            unsupported,
            self.unsupported
        )
    }
}

/// The SB as a chassis compiling flows for datapath `key` sees it:
/// `@pg` is the datapath's own group `KEY_pg` when northd made one, and
/// multicast groups are ports of their datapath.
struct DpLookup<'a> {
    tables: &'a lflow::Tables,
    mcast: &'a BTreeMap<(u32, String), u32>,
    key: u32,
}

impl lflow::Lookup for DpLookup<'_> {
    fn address_set(&self, name: &str) -> Option<&[lflow::lexer::Constant]> {
        self.tables.address_set(name)
    }

    fn port_group(&self, name: &str) -> Option<&[String]> {
        self.tables.port_group(&format!("{}_{name}", self.key)).or_else(|| self.tables.port_group(name))
    }

    fn port_key(&self, name: &str) -> Option<u32> {
        self.tables.port_key(name).or_else(|| self.mcast.get(&(self.key, name.to_string())).copied())
    }

    /// Every port is resident: the chassis that has them all, so that
    /// gateway flows compile to something.
    fn is_chassis_resident(&self, _port: &str) -> bool {
        true
    }
}

/// One SB table's rows (`ovn-sbctl --format=json list`), as column -> value.
fn sb_rows(lab: &TraceLab, table: &str) -> Vec<BTreeMap<String, serde_json::Value>> {
    let text = lab.sbctl(&["--format=json", "list", table]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{table}: {e}: {text}"));
    let headings: Vec<String> = v["headings"]
        .as_array()
        .unwrap_or_else(|| panic!("{table}: no headings in {text}"))
        .iter()
        .map(|h| h.as_str().unwrap_or_default().to_string())
        .collect();
    v["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{table}: no data in {text}"))
        .iter()
        .map(|row| headings.iter().cloned().zip(row.as_array().cloned().unwrap_or_default()).collect())
        .collect()
}

/// The atoms of an OVSDB JSON set (a bare atom is a one-element set).
fn atoms(v: Option<&serde_json::Value>) -> Vec<serde_json::Value> {
    match v {
        None => Vec::new(),
        Some(v) => match v.as_array().map(Vec::as_slice) {
            Some([tag, serde_json::Value::Array(items)]) if tag == "set" => items.clone(),
            _ => vec![v.clone()],
        },
    }
}

fn uuid_atom(v: &serde_json::Value) -> Option<String> {
    match v.as_array().map(Vec::as_slice) {
        Some([tag, serde_json::Value::String(u)]) if tag == "uuid" => Some(u.clone()),
        _ => None,
    }
}

fn map_has(v: Option<&serde_json::Value>, key: &str) -> bool {
    match v.and_then(|v| v.as_array()).map(Vec::as_slice) {
        Some([tag, serde_json::Value::Array(pairs)]) if tag == "map" => pairs.iter().any(|p| p[0] == key),
        _ => false,
    }
}

fn map_value(v: Option<&serde_json::Value>, key: &str) -> Option<String> {
    match v.and_then(|v| v.as_array()).map(Vec::as_slice) {
        Some([tag, serde_json::Value::Array(pairs)]) if tag == "map" => {
            pairs.iter().find(|p| p[0] == key).and_then(|p| p[1].as_str()).map(str::to_string)
        }
        _ => None,
    }
}

impl TraceLab {
    /// Issue 5's proof on whatever topology northd has built: every
    /// `Logical_Flow` of the SB goes through lflow as a chassis would take
    /// it. The match parses, prints back to text that parses to the same
    /// tree, annotates against OVN 23.03's symbol table and compiles to
    /// OpenFlow for every datapath the flow applies to (address sets, port
    /// groups and port keys from the SB); the actions parse, print back to
    /// the same tree, pass the checks, and encode to OpenFlow or fail with
    /// `Unsupported` only. Panics listing every other failure (flow UUID,
    /// table, text, error); returns what it counted.
    pub fn check_every_flow(&self) -> Summary {
        let (summary, failures) = self.lflow_report();
        assert!(
            failures.is_empty(),
            "{} of {} logical flows fail in lflow:\n{}",
            failures.len(),
            summary.flows,
            failures.join("\n")
        );
        assert!(summary.flows > 0 && summary.compiled > 0, "northd wrote no flows: {summary}");
        summary
    }

    /// [`TraceLab::check_every_flow`]'s counts and failures, one line
    /// (or more) per failure, without asserting anything.
    pub fn lflow_report(&self) -> (Summary, Vec<String>) {
        use lflow::actions::{check_actions, parse_actions, print_actions, without_spans, CheckOptions};
        use lflow::encode::{encode, Encoder, Flow, Groups, Layout};

        let symtab = lflow::Symtab::ovn();
        let mut tables = lflow::Tables::new();
        for row in sb_rows(self, "Address_Set") {
            let name = row["name"].as_str().unwrap_or_default().to_string();
            let addrs: Vec<String> =
                atoms(row.get("addresses")).iter().filter_map(|a| a.as_str().map(str::to_string)).collect();
            let refs: Vec<&str> = addrs.iter().map(String::as_str).collect();
            tables.add_address_set(&name, &refs).unwrap_or_else(|e| panic!("address set {name} {addrs:?}: {e}"));
        }
        for row in sb_rows(self, "Port_Group") {
            let ports: Vec<String> =
                atoms(row.get("ports")).iter().filter_map(|a| a.as_str().map(str::to_string)).collect();
            let refs: Vec<&str> = ports.iter().map(String::as_str).collect();
            tables.add_port_group(row["name"].as_str().unwrap_or_default(), &refs);
        }
        for row in sb_rows(self, "Port_Binding") {
            let key = row["tunnel_key"].as_u64().and_then(|k| u32::try_from(k).ok());
            tables.add_port(row["logical_port"].as_str().unwrap_or_default(), key.expect("port tunnel key"));
        }
        // Datapath UUID -> (tunnel key, is a switch).
        let mut datapaths: BTreeMap<String, (u32, bool)> = BTreeMap::new();
        for row in sb_rows(self, "Datapath_Binding") {
            let uuid = uuid_atom(&row["_uuid"]).expect("datapath uuid");
            let key = row["tunnel_key"].as_u64().and_then(|k| u32::try_from(k).ok()).expect("datapath key");
            datapaths.insert(uuid, (key, !map_has(row.get("external_ids"), "logical-router")));
        }
        let mut mcast = BTreeMap::new();
        for row in sb_rows(self, "Multicast_Group") {
            let dp = uuid_atom(&row["datapath"]).and_then(|u| datapaths.get(&u)).map(|d| d.0);
            let key = row["tunnel_key"].as_u64().and_then(|k| u32::try_from(k).ok());
            if let (Some(dp), Some(key)) = (dp, key) {
                mcast.insert((dp, row["name"].as_str().unwrap_or_default().to_string()), key);
            }
        }
        let dp_groups: BTreeMap<String, Vec<String>> = sb_rows(self, "Logical_DP_Group")
            .iter()
            .filter_map(|row| {
                let members = atoms(row.get("datapaths")).iter().filter_map(uuid_atom).collect();
                Some((uuid_atom(&row["_uuid"])?, members))
            })
            .collect();

        let mut summary = Summary::default();
        let mut failures = Vec::new();
        let mut groups = Groups::default();
        for row in sb_rows(self, "Logical_Flow") {
            summary.flows += 1;
            let uuid = uuid_atom(&row["_uuid"]).unwrap_or_default();
            let pipeline_name = row["pipeline"].as_str().unwrap_or_default();
            let table = row["table_id"].as_u64().and_then(|t| u32::try_from(t).ok()).unwrap_or(u32::MAX);
            let stage = map_value(row.get("external_ids"), "stage-name").unwrap_or_default();
            let m = row["match"].as_str().unwrap_or_default();
            let a = row["actions"].as_str().unwrap_or_default();
            let mut fail = |what: &str, text: &str, err: String| {
                failures.push(format!("{uuid} {pipeline_name} table {table} ({stage}) {what} {text:?}:\n  {err}"))
            };
            let mut dps: Vec<String> = atoms(row.get("logical_datapath")).iter().filter_map(uuid_atom).collect();
            for g in atoms(row.get("logical_dp_group")).iter().filter_map(uuid_atom) {
                dps.extend(dp_groups.get(&g).cloned().unwrap_or_default());
            }
            let dps: Vec<(u32, bool)> = dps.iter().filter_map(|d| datapaths.get(d).copied()).collect();
            if dps.is_empty() {
                fail("flow", "", "applies to no datapath".into());
                continue;
            }

            // The match.
            match lflow::parse_expr(m) {
                Err(e) => fail("match", m, e.render(m)),
                Ok(e) => {
                    let printed = lflow::print::print(&e);
                    match lflow::parse_expr(&printed) {
                        Ok(back) if back.without_spans() == e.without_spans() => {}
                        other => fail("match", m, format!("prints as {printed:?}, which parses to {other:?}")),
                    }
                    match lflow::annotate(&e, symtab) {
                        Err(err) => fail("match", m, err.render(m)),
                        Ok(annotated) => {
                            for &(key, _) in &dps {
                                let lookup = DpLookup { tables: &tables, mcast: &mcast, key };
                                match lflow::compile(&annotated, symtab, &lookup, lflow::Limits::default()) {
                                    Ok(flows) => {
                                        summary.compiled += 1;
                                        summary.openflow += flows.flow_count();
                                        summary.conjunctions += flows.conjunctions.len();
                                        summary.empty += usize::from(flows.is_empty());
                                    }
                                    Err(err) => fail("match", m, format!("compiling for datapath {key}: {err}")),
                                }
                            }
                        }
                    }
                }
            }

            // The actions.
            let actions = match parse_actions(a) {
                Ok(actions) => actions,
                Err(e) => {
                    fail("actions", a, e.render(a));
                    continue;
                }
            };
            let printed = print_actions(&actions);
            match parse_actions(&printed) {
                Ok(back) if without_spans(&back) == without_spans(&actions) => {}
                other => fail("actions", a, format!("print as {printed:?}, which parse to {other:?}")),
            }
            if let Err(e) = check_actions(&actions, symtab, &CheckOptions::default()) {
                fail("actions", a, e.render(a));
                continue;
            }
            let pipeline = match pipeline_name {
                "ingress" => lflow::actions::ast::Pipeline::Ingress,
                "egress" => lflow::actions::ast::Pipeline::Egress,
                other => {
                    fail("flow", other, "unknown pipeline".into());
                    continue;
                }
            };
            let lookup = DpLookup { tables: &tables, mcast: &mcast, key: dps[0].0 };
            let mut enc = Encoder { symtab, layout: Layout::default(), lookup: &lookup, groups: &mut groups };
            match encode(&mut enc, Flow { pipeline, table, is_switch: dps[0].1 }, &actions) {
                Ok(_) => summary.encoded += 1,
                Err(lflow::Error::Unsupported { message }) => {
                    let what = message.split([' ', ':', '(']).next().unwrap_or_default().trim_matches('`').to_string();
                    *summary.unsupported.entry(what).or_default() += 1;
                }
                Err(e) => fail("actions", a, format!("encoding: {e}")),
            }
        }
        (summary, failures)
    }
}
