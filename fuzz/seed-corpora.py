#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets into fuzz/corpus/<target>/,
from the repository's test fixtures (the northd 23.03 flow dump, the action
candidates, the schemas) and a few hand-written OVSDB messages. Idempotent:
file names are hashes of the contents."""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "corpus")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def j(v):
    return json.dumps(v, separators=(",", ":"))


# lflow: every match and action of the northd fixture, the action candidates.
matches, actions = set(), set()
with open(os.path.join(ROOT, "crates/lflow/tests/data/northd-23.03-flows.jsonl")) as f:
    for line in f:
        flow = json.loads(line)
        matches.add(flow["match"])
        actions.add(flow["actions"])
with open(os.path.join(ROOT, "crates/lflow/tests/data/action-candidates.txt")) as f:
    for line in f:
        if line.strip() and not line.startswith("#"):
            actions.add(line.rstrip("\n"))
extra = [
    "ip4 && tcp.dst == {80, 443} && inport == @pg && ip4.src == $as4",
    "ip6.src == $as6 || eth.src == $asmac || outport == \"lp2\"",
    "is_chassis_resident(\"lp1\") && reg0[0..3] == 5 && 1 <= tcp.src <= 1000",
    "inport == \"lp1\" && eth.src == 00:00:00:00:00:01 && ip4.src == 10.0.0.1 && ip4.dst == 10.0.0.2 && tcp.dst == 80",
    "!(ip4.src == 10.0.0.0/8 && (udp || tcp)) && ct.est",
    "xxreg0 == 0x1/0x1 && ct_label.blocked == 1 && flags.loopback == 0",
]
for m in sorted(matches) + extra:
    for t in ("lflow_lexer", "lflow_expr", "lflow_microflow", "lflow_compile"):
        put(t, m)
for a in sorted(actions):
    put("lflow_actions", a)
    put("lflow_lexer", a)

# ovsdb schemas.
schemas = [os.path.join(ROOT, "schemas", n) for n in sorted(os.listdir(os.path.join(ROOT, "schemas")))]
data_dir = os.path.join(ROOT, "crates/ovsdb/tests/data")
schemas += [os.path.join(data_dir, n) for n in sorted(os.listdir(data_dir)) if n.endswith(".ovsschema")]
for p in schemas:
    with open(p, "rb") as f:
        put("ovsdb_schema", f.read())

# JSON-RPC messages (for the framer and the server core).
requests = [
    {"method": "list_dbs", "params": [], "id": 1},
    {"method": "get_schema", "params": ["Everything"], "id": 2},
    {"method": "echo", "params": ["x"], "id": "e"},
    {"method": "transact", "params": ["Everything", {"op": "insert", "table": "Root", "row": {"name": "n", "sset": "a"}}], "id": 3},
    {"method": "transact", "params": ["Everything", {"op": "wait", "table": "Small", "where": [], "columns": ["v"], "until": "==", "rows": [{"v": 5}], "timeout": 100}], "id": 4},
    {"method": "cancel", "params": [4], "id": None},
    {"method": "monitor", "params": ["Everything", "m1", {"Root": {"columns": ["name", "i"]}}], "id": 5},
    {"method": "monitor_cond", "params": ["Everything", "m2", {"Root": [{"where": [["i", ">", 3]], "columns": ["i"]}]}], "id": 6},
    {"method": "monitor_cond_since", "params": ["Everything", "m3", {"Weak": [{}]}, "00000000-0000-0000-0000-000000000000"], "id": 7},
    {"method": "monitor_cond_change", "params": ["m2", "m2b", {"Root": [{"where": [["name", "==", "r2"]]}]}], "id": 8},
    {"method": "monitor_cancel", "params": ["m1"], "id": 9},
    {"method": "lock", "params": ["L"], "id": 10},
    {"method": "steal", "params": ["L"], "id": 11},
    {"method": "unlock", "params": ["L"], "id": 12},
    {"method": "set_db_change_aware", "params": [True], "id": 13},
    {"method": "get_server_id", "params": [], "id": 14},
    {"method": "monitor_cond", "params": ["_Server", ["s"], {"Database": [{"columns": ["name", "schema"]}]}], "id": 15},
    {"result": [], "error": None, "id": "echo"},
    {"error": "oops", "id": 99},
]
stream = "".join(j(r) for r in requests)
put("ovsdb_framer", b"\x40\x07" + stream.encode())
put("ovsdb_framer", b"\x00\x01" + stream.encode())
put("ovsdb_framer", b"\xff\x33" + b" \n".join(j(r).encode() for r in requests[:5]))
put("ovsdb_framer", b"\x02\x02" + b'{"a": "}]\\"", "b": [[[]]]} [1, 2]')
for r in requests:
    put("ovsdb_json", j(r))
put("ovsdb_json", '{"b":1,"a":[-0,1e3,18446744073709551616,"\\u00e9\\ud83d\\ude00\\n"],"b":null}')
lines = [("a " if i % 2 == 0 else "b ") + j(r) for i, r in enumerate(requests)]
put("server_core", "\n".join(lines))
put("server_core", "\n".join([
    "a " + j(requests[11]), "b " + j(requests[11]), "a " + j(requests[4]),
    "b " + j(requests[3]), "t 50", "A", "b " + j(requests[12]), "t 200",
]))
put("server_core", "\n".join(["a " + j(requests[7]), "b " + j(requests[3]), "a " + j(requests[9]), "b " + j(requests[3]), "A"]))

# Transactions on the test schema (ovsdb_txn: an array of transactions).
txns = [
    [{"op": "insert", "table": "Root", "row": {"name": "a", "i": 1, "kids": ["named-uuid", "n0"]}, "uuid-name": "n1"},
     {"op": "insert", "table": "Child", "row": {"n": 1, "w": ["named-uuid", "n2"]}, "uuid-name": "n0"},
     {"op": "insert", "table": "Weak", "row": {"k": 9}, "uuid-name": "n2"}],
    [{"op": "update", "table": "Root", "where": [["i", "<", 5]], "row": {"smap": ["map", [["k", "v"]]]}}],
    [{"op": "mutate", "table": "Root", "where": [["e", "includes", "red"]], "mutations": [["iset", "insert", 3], ["i", "+=", 2], ["smap", "delete", ["set", ["k"]]]]}],
    [{"op": "delete", "table": "Weak", "where": [["k", ">=", 0]]}],
    [{"op": "select", "table": "Root", "where": [["_uuid", "!=", ["uuid", "00000000-0000-0000-0000-000000000000"]]], "columns": ["name"]}],
    [{"op": "wait", "table": "Root", "where": [], "columns": ["i"], "until": "!=", "rows": [{"i": 1}], "timeout": 0}],
    [{"op": "delete", "table": "Root", "where": []}, {"op": "commit", "durable": False}, {"op": "comment", "comment": "c"}],
    [{"op": "assert", "lock": "ab"}, {"op": "insert", "table": "Small", "row": {"v": 2}}, {"op": "abort"}],
    [{"op": "insert", "table": "Small", "row": {"v": 3}}, {"op": "insert", "table": "Small", "row": {"v": 4}}],
    [{"op": "update", "table": "Root", "where": [["name", "==", "r1"]], "row": {"name": "r2"}}],
    [{"op": "mutate", "table": "Child", "where": [], "mutations": [["n", "*=", -1], ["n", "/=", 0]]}],
]
put("ovsdb_txn", j(txns))
for t in txns:
    put("ovsdb_txn", j([t]))

# Datums: [column number, datum...]; columns are numbered across the tables
# of the test schema in name order, `_uuid` and `_version` included.
datums = [
    [2, 5, ["set", [1, 2]], ["set", []]],
    [5, "red", ["set", ["red", "blue"]], ["set", ["green"]]],
    [9, ["map", [["a", "b"], ["c", "d"]]], ["map", []], ["map", [["a", "x"]]]],
    [10, ["map", [[1, 2.5], [3, -1e10]]], ["map", [[9, 0.0]]]],
    [12, ["uuid", "01234567-89ab-cdef-0123-456789abcdef"], ["named-uuid", "n"], ["set", [["named-uuid", "ab"], ["uuid", "00000000-0000-0000-0000-000000000001"]]]],
    [4, 1.5, 100.5, -100],
    [7, "ab", "", "abcde"],
]
for d in datums:
    put("ovsdb_datum", j(d))

# Monitor requests: [version, requests, condition change].
monitors = [
    [0, {"Root": {"columns": ["name", "i", "kids"]}, "Weak": {"select": {"initial": False, "modify": True}}}],
    [1, {"Root": [{"where": [["i", ">", 3], ["name", "!=", "x"]], "columns": ["i", "smap"]}], "Child": [{}]},
     {"Root": [{"where": [["name", "==", "r3"]]}], "Child": [{"where": [False]}]}],
    [2, {"Small": [{"where": [True]}], "Weak": [{"where": [["k", "==", 2]], "select": {"delete": False}}]},
     {"Weak": [{"where": []}]}],
]
for m in monitors:
    put("ovsdb_monitor", j(m))

# Log files: mode 1 = the test schema's record, then one record per line.
with open(os.path.join(data_dir, "everything.ovsschema")) as f:
    schema = json.load(f)
u1, u2, u3 = ("00000000-0000-0000-0000-00000000000%d" % i for i in (1, 2, 3))
recs = [
    {"Weak": {u1: {"k": 1}}, "Child": {u2: {"n": 1, "w": ["uuid", u1]}}, "Root": {u3: {"name": "r", "sset": "s", "kids": ["uuid", u2]}}, "_date": 1},
    {"Root": {u3: {"iset": ["set", [1, 2]], "smap": ["map", [["a", "b"]]]}}, "_is_diff": True, "_comment": "c"},
    {"Root": {u3: {"iset": ["set", [2, 3]]}}, "_is_diff": True},
    {"Weak": {u1: None}},
    {"Root": {u3: None}},
]
put("ovsdb_log", b"\x01" + "\n".join(j(r) for r in recs).encode())
put("ovsdb_log", b"\x02" + "\n".join(j(r) for r in [schema] + recs[:2]).encode() + b"\nOVSDB JSON 5 0\n{}")
put("ovsdb_log", b"\x00OVSDB JSON 2 1234\n{}\n")
print("corpora written to", OUT, file=sys.stderr)
