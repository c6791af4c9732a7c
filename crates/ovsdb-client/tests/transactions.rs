//! Transactions built against the replica, against the real ovsdb-server
//! and rovn's: optimistic concurrency (a verified read that changed makes
//! the transaction fail and retry, so no client overwrites another's change
//! silently), partial set/map updates, increments, inserts referring to
//! each other, deletes, and errors that are not worth retrying.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ovn_schema::nb;
use ovsdb_client::{Idl, Ref, Txn, TxnError};
use support::{have, repo_file, Kind, Server, TempDir};

const TABLES: &[&str] = &["NB_Global", "Address_Set", "Logical_Switch", "Logical_Switch_Port"];
const WAIT: Duration = Duration::from_secs(10);

/// Read-modify-write of NB_Global's counter, verifying what it read.
fn bump(g: Ref<nb::NbGlobal>) -> impl FnMut(&mut Txn<'_>) -> Result<i64, TxnError> {
    move |t| {
        let mut row = t.read(g).ok_or_else(|| TxnError::Invalid("NB_Global is gone".into()))?;
        t.verify(g, &["nb_cfg"])?;
        row.nb_cfg += 1;
        t.update(&row)?;
        Ok(row.nb_cfg)
    }
}

async fn nb_cfg_is(idl: &Idl, g: Ref<nb::NbGlobal>, v: i64) {
    let ok = idl.wait_until(WAIT, |r| r.get(g).map(|x| x.nb_cfg) == Some(v)).await;
    assert!(ok, "nb_cfg never became {v}; it is {:?}", idl.replica().get(g).map(|x| x.nb_cfg));
}

/// Each client adds its own addresses and increments the counter, reading
/// both and writing them back whole: without verification, lost updates.
async fn worker(idl: &Idl, g: Ref<nb::NbGlobal>, s: Ref<nb::AddressSet>, tag: &str, n: usize, auto: bool) -> usize {
    let mut attempts = 0;
    for i in 0..n {
        let (_, _, a) = idl
            .transact_with(|t| {
                t.auto_verify(auto);
                let mut gr = t.read(g).ok_or_else(|| TxnError::Invalid("no NB_Global".into()))?;
                let mut sr = t.read(s).ok_or_else(|| TxnError::Invalid("no Address_Set".into()))?;
                if !auto {
                    t.verify(g, &["nb_cfg"])?;
                    t.verify(s, &["addresses"])?;
                }
                gr.nb_cfg += 1;
                sr.addresses.insert(format!("{tag}{i}"));
                t.update(&gr)?;
                t.update(&sr)?;
                t.comment(&format!("{tag} step {i}"));
                Ok(())
            })
            .await
            .unwrap_or_else(|e| panic!("{tag} step {i}: {e}"));
        attempts += a;
    }
    attempts
}

async fn scenario(kind: Kind) {
    let dir = TempDir::new(&format!("txn-{kind:?}"));
    let server = Server::start(kind, &dir.0, &repo_file("schemas/ovn-nb.ovsschema")).await;
    let a = Idl::start(vec![server.target()], "OVN_Northbound", TABLES).await.unwrap();
    let b = Idl::start(vec![server.target()], "OVN_Northbound", TABLES).await.unwrap();

    // Inserts: placeholders become the server's UUIDs.
    let ((g, s), c, _) = a
        .transact_with(|t| {
            let g = t.insert(&nb::NbGlobal::default())?;
            let s = t.insert(&nb::AddressSet { name: "as1".into(), ..Default::default() })?;
            Ok((g, s))
        })
        .await
        .unwrap();
    let (g, s) = (c.real(g), c.real(s));
    assert_eq!(c.n_inserted(), 2);
    for idl in [&a, &b] {
        assert!(
            idl.wait_until(WAIT, |r| r.get(g).is_some() && r.get(s).is_some()).await,
            "inserted rows not replicated"
        );
    }

    // A conflict, deterministically: A reads, B writes, A's commit fails
    // and nothing of it is written; run again, A sees B's change.
    let (_, stale) = a.build(bump(g)).unwrap();
    assert_eq!(b.transact_with(bump(g)).await.unwrap().0, 1);
    assert_eq!(a.commit(&stale).await.unwrap_err(), TxnError::TryAgain);
    let (v, _, attempts) = a.transact_with(bump(g)).await.unwrap();
    assert_eq!((v, attempts >= 1), (2, true));
    nb_cfg_is(&a, g, 2).await;
    nb_cfg_is(&b, g, 2).await;

    // The control: the same race without verification loses B's update,
    // which is what the verification above prevents.
    let (_, unverified) = a
        .build(|t| {
            let mut row = t.read(g).unwrap();
            row.nb_cfg += 1;
            t.update(&row)
        })
        .unwrap();
    assert_eq!(b.transact_with(bump(g)).await.unwrap().0, 3);
    a.commit(&unverified).await.unwrap();
    nb_cfg_is(&a, g, 3).await;

    // Two clients at once, explicit verification on one, auto-verify on
    // the other: every increment and every address lands.
    let n = 25;
    let (ra, rb) = tokio::join!(worker(&a, g, s, "10.0.0.", n, false), worker(&b, g, s, "10.1.0.", n, true));
    eprintln!("{kind:?}: {n}+{n} concurrent read-modify-writes took {ra}+{rb} attempts");
    assert!(ra + rb > 2 * n, "the clients never conflicted ({ra}+{rb} attempts)");
    nb_cfg_is(&a, g, 3 + 2 * n as i64).await;
    let want: BTreeSet<String> = (0..n).flat_map(|i| [format!("10.0.0.{i}"), format!("10.1.0.{i}")]).collect();
    assert!(a.wait_until(WAIT, |r| r.get(s).map(|x| x.addresses) == Some(want.clone())).await);

    // Partial updates (mutate) keep concurrent additions without verifying.
    let add = |idl: &'static str, v: &'static str| {
        move |t: &mut Txn<'_>| {
            t.insert_into(s, "addresses", &BTreeSet::from([v.to_string()]))?;
            t.insert_into(g, "external_ids", &BTreeMap::from([(idl.to_string(), v.to_string())]))
        }
    };
    let (ra, rb) = tokio::join!(a.transact_with(add("a", "x")), b.transact_with(add("b", "y")));
    assert_eq!((ra.unwrap().2, rb.unwrap().2), (1, 1));
    a.transact_with(|t| t.delete_from(s, "addresses", &BTreeSet::from(["10.0.0.0".to_string()]))).await.unwrap();
    let ok = a
        .wait_until(WAIT, |r| {
            let (Some(sr), Some(gr)) = (r.get(s), r.get(g)) else { return false };
            sr.addresses.contains("x")
                && sr.addresses.contains("y")
                && !sr.addresses.contains("10.0.0.0")
                && gr.external_ids.get("a").map(String::as_str) == Some("x")
                && gr.external_ids.get("b").map(String::as_str) == Some("y")
        })
        .await;
    assert!(ok, "partial updates lost: {:?} {:?}", a.replica().get(s), a.replica().get(g));

    // Increments happen on the server: each gets its own value.
    let inc = |t: &mut Txn<'_>| t.increment(g, "nb_cfg");
    let mut seen = BTreeSet::new();
    for _ in 0..5 {
        let (x, y) = tokio::join!(a.transact_with(inc), b.transact_with(inc));
        seen.insert(x.unwrap().1.increment(0).unwrap());
        seen.insert(y.unwrap().1.increment(0).unwrap());
    }
    let base = 3 + 2 * n as i64;
    assert_eq!(seen, (base + 1..=base + 10).collect::<BTreeSet<i64>>());

    // Rows referring to rows inserted in the same transaction.
    let ((sw, p), c, _) = a
        .transact_with(|t| {
            let p = t.insert(&nb::LogicalSwitchPort { name: "lsp1".into(), ..Default::default() })?;
            let sw =
                t.insert(&nb::LogicalSwitch { name: "sw1".into(), ports: BTreeSet::from([p]), ..Default::default() })?;
            Ok((sw, p))
        })
        .await
        .unwrap();
    let (sw, p) = (c.real(sw), c.real(p));
    assert_ne!(sw.uuid(), p.uuid());
    assert!(b.wait_until(WAIT, |r| r.get(sw).map(|x| x.ports) == Some(BTreeSet::from([p]))).await);
    assert_eq!(nb::LogicalSwitchPort::by_name(&b.replica(), "lsp1").map(|x| x.uuid), Some(p));

    // A broken transaction fails for good (unique index on the port name).
    let err = a
        .transact_with(|t| {
            let p2 = t.insert(&nb::LogicalSwitchPort { name: "lsp1".into(), ..Default::default() })?;
            t.insert_into(sw, "ports", &BTreeSet::from([p2]))
        })
        .await
        .unwrap_err();
    assert!(matches!(&err, TxnError::Failed { error, .. } if error == "constraint violation"), "{err:?}");
    assert!(!err.is_retryable());

    // An update of a row another client deleted meanwhile fails (nothing
    // half-applied), and the retry sees that the row is gone.
    let rename = |t: &mut Txn<'_>| {
        let Some(mut x) = t.read(sw) else { return Ok(false) };
        x.name = "sw1-renamed".into();
        t.update(&x)?;
        t.insert_into(s, "addresses", &BTreeSet::from(["renamed".to_string()]))?;
        Ok(true)
    };
    let (_, stale) = a.build(rename).unwrap();
    b.transact_with(|t| {
        t.delete(sw);
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(a.commit(&stale).await.unwrap_err(), TxnError::TryAgain);
    let (renamed, _, _) = a.transact_with(rename).await.unwrap();
    assert!(!renamed);
    assert!(a.replica().get(s).is_some_and(|x| !x.addresses.contains("renamed")));
    // The port was only referenced by the switch: garbage-collected.
    assert!(a.wait_until(WAIT, |r| r.count::<nb::LogicalSwitchPort>() == 0).await);
}

#[tokio::test]
async fn optimistic_concurrency_upstream() {
    if !have("ovsdb-server") {
        return;
    }
    scenario(Kind::Upstream).await;
}

#[tokio::test]
async fn optimistic_concurrency_rovn() {
    if !have("ovsdb-tool") {
        return;
    }
    scenario(Kind::Rovn).await;
}
