"""Keeps a replica of an OVSDB database with the python ovs.db.idl client
and prints it as one JSON line ({table: {uuid: {column: datum}}}) every
time it changes. Exits when its stdin closes.

usage: idl_replica.py REMOTE SCHEMA-FILE
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
    idl = ovs.db.idl.Idl(remote, helper)
    seqno = None
    os.set_blocking(0, False)
    while True:
        idl.run()
        if idl.change_seqno != seqno:
            seqno = idl.change_seqno
            print(json.dumps(dump(idl)), flush=True)
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
