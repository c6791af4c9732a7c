"""Keeps a replica of an OVSDB database with the python ovs.db.idl client
and prints it as one JSON line ({table: {uuid: {column: datum}}}) every
time it changes. Exits when its stdin closes.

usage: idl_replica.py REMOTE SCHEMA-FILE [--last-id]

With --last-id, each line also has the IDL's last transaction id (the one
it would resume from) as "_last_id", and a line is printed when it changes.
"""
import json
import os
import sys

import ovs.db.idl
import ovs.poller


def dump(idl):
    out = {}
    for tname, table in idl.tables.items():
        rows = {}
        for uuid, row in table.rows.items():
            rows[str(uuid)] = {c: row._data[c].to_json() for c in table.columns if c in row._data}
        out[tname] = rows
    return out


def main():
    remote, schema = sys.argv[1], sys.argv[2]
    helper = ovs.db.idl.SchemaHelper(schema)
    helper.register_all()
    with_last_id = sys.argv[3:] == ["--last-id"]
    idl = ovs.db.idl.Idl(remote, helper)
    seen = None
    os.set_blocking(0, False)
    while True:
        idl.run()
        now = (idl.change_seqno, idl.last_id if with_last_id else None)
        if now != seen:
            seen = now
            out = dump(idl)
            if with_last_id:
                out["_last_id"] = str(idl.last_id)
            print(json.dumps(out), flush=True)
        try:
            if os.read(0, 4096) == b"":
                return
        except BlockingIOError:
            pass
        poller = ovs.poller.Poller()
        idl.wait(poller)
        poller.fd_wait(0, ovs.poller.POLLIN)
        poller.block()


if __name__ == "__main__":
    main()
