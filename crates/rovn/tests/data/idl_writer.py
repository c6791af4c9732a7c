"""Inserts Logical_Switch rows PREFIX-0, PREFIX-1, ... one transaction at a
time with the python ovs.db.idl client, printing each number once its
transaction is acknowledged. Keeps going across server restarts (a
transaction the connection loss interrupted is tried again) until its stdin
closes.

usage: idl_writer.py REMOTE SCHEMA-FILE PREFIX
"""
import os
import sys

import ovs.db.idl
import ovs.poller

Txn = ovs.db.idl.Transaction


def main():
    remote, schema, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
    helper = ovs.db.idl.SchemaHelper(schema)
    helper.register_columns("Logical_Switch", ["name"])
    idl = ovs.db.idl.Idl(remote, helper)
    os.set_blocking(0, False)
    n = 0
    txn = None
    while True:
        try:
            if os.read(0, 4096) == b"":
                return
        except BlockingIOError:
            pass
        idl.run()
        if txn is None and idl.has_ever_connected():
            txn = Txn(idl)
            row = txn.insert(idl.tables["Logical_Switch"])
            row.name = "%s-%d" % (prefix, n)
        if txn is not None:
            status = txn.commit()
            if status == Txn.SUCCESS:
                print(n, flush=True)
                n += 1
                txn = None
            elif status != Txn.INCOMPLETE:
                if status != Txn.TRY_AGAIN:
                    print("txn %d: %s %s" % (n, status, txn.get_error()), file=sys.stderr, flush=True)
                txn = None
        poller = ovs.poller.Poller()
        idl.wait(poller)
        poller.fd_wait(0, ovs.poller.POLLIN)
        poller.timer_wait(50)
        poller.block()


if __name__ == "__main__":
    main()
