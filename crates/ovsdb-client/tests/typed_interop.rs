//! Typed rows against upstream's own tools on the real ovsdb-server: what
//! ovn-nbctl and ovn-sbctl write reads back typed, and what the typed
//! transactions write is what ovn-sbctl shows and changes.

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use ovn_schema::{nb, sb};
use ovsdb_client::{Change, Idl};
use support::{have, repo_file, Kind, Server, TempDir};

const WAIT: Duration = Duration::from_secs(10);

async fn ctl(prog: &'static str, server: &Server, args: &[&str]) -> String {
    let mut cmd = Command::new(prog);
    cmd.arg(format!("--db={}", server.target())).args(args);
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    assert!(o.status.success(), "{prog} {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn southbound_with_ovn_sbctl() {
    if !have("ovsdb-server") || !have("ovn-sbctl") {
        return;
    }
    let dir = TempDir::new("typed-sb");
    let server = Server::start(Kind::Upstream, &dir.0, &repo_file("schemas/ovn-sb.ovsschema")).await;
    let idl = Idl::start(vec![server.target()], "OVN_Southbound", &[]).await.unwrap();

    ctl("ovn-sbctl", &server, &["chassis-add", "hv1", "geneve", "192.0.2.1"]).await;
    assert!(idl.wait_until(WAIT, |r| sb::Chassis::by_name(r, "hv1").is_some()).await);
    let ch = sb::Chassis::by_name(&idl.replica(), "hv1").unwrap();
    let encaps: Vec<sb::Encap> = ch.encaps.iter().filter_map(|e| idl.replica().get(*e)).collect();
    assert_eq!(encaps.len(), 1);
    assert_eq!(
        (encaps[0].type_, encaps[0].ip.as_str(), encaps[0].chassis_name.as_str()),
        (sb::EncapType::Geneve, "192.0.2.1", "hv1")
    );
    idl.replica().changes_of::<sb::PortBinding>();

    // A datapath and a port written typed; ovn-sbctl binds the port.
    let (_, c, _) = idl
        .transact_with(|t| {
            let dp = t.insert(&sb::DatapathBinding { tunnel_key: 5, ..Default::default() })?;
            t.insert(&sb::PortBinding {
                logical_port: "lsp1".into(),
                datapath: dp,
                tunnel_key: 2,
                mac: BTreeSet::from(["00:00:00:00:00:01 10.0.0.1".to_string()]),
                ..Default::default()
            })?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(c.n_inserted(), 2);
    ctl("ovn-sbctl", &server, &["lsp-bind", "lsp1", "hv1"]).await;
    assert!(
        idl.wait_until(WAIT, |r| sb::PortBinding::by_logical_port(r, "lsp1").is_some_and(|p| p.chassis.is_some()))
            .await
    );
    let changes = idl.replica().changes_of::<sb::PortBinding>();
    // Inserted and then bound between two looks: one insertion, bound.
    match &changes[..] {
        [Change::Inserted(p)] => {
            assert_eq!(p.chassis, Some(ch.uuid));
            assert_eq!(idl.replica().get(p.datapath).map(|d| d.tunnel_key), Some(5));
        }
        other => panic!("expected one inserted port binding, got {other:?}"),
    }
    let show = ctl("ovn-sbctl", &server, &["show"]).await;
    assert!(show.contains("Chassis hv1") && show.contains("Port_Binding lsp1"), "{show}");

    // Unbinding shows as a typed modification.
    ctl("ovn-sbctl", &server, &["lsp-unbind", "lsp1"]).await;
    assert!(
        idl.wait_until(WAIT, |r| sb::PortBinding::by_logical_port(r, "lsp1").is_some_and(|p| p.chassis.is_none()))
            .await
    );
    let changes = idl.replica().changes_of::<sb::PortBinding>();
    match &changes[..] {
        [Change::Modified { old, new }] => assert_eq!((old.chassis, new.chassis), (Some(ch.uuid), None)),
        other => panic!("expected one modification, got {other:?}"),
    }
}

#[tokio::test]
async fn northbound_with_ovn_nbctl() {
    if !have("ovsdb-server") || !have("ovn-nbctl") {
        return;
    }
    let dir = TempDir::new("typed-nb");
    let server = Server::start(Kind::Upstream, &dir.0, &repo_file("schemas/ovn-nb.ovsschema")).await;
    let idl = Idl::start(vec![server.target()], "OVN_Northbound", &[]).await.unwrap();
    ctl("ovn-nbctl", &server, &["ls-add", "sw0"]).await;
    ctl(
        "ovn-nbctl",
        &server,
        &["lsp-add", "sw0", "sw0-p1", "--", "lsp-set-addresses", "sw0-p1", "00:00:00:00:00:01 10.0.0.1"],
    )
    .await;
    ctl("ovn-nbctl", &server, &["acl-add", "sw0", "to-lport", "1001", "ip4.src == 10.0.0.0/24", "allow-related"]).await;
    assert!(idl.wait_until(WAIT, |r| r.count::<nb::Acl>() == 1 && r.count::<nb::LogicalSwitchPort>() == 1).await);
    let port = {
        let rep = idl.replica();
        let sw = rep.rows::<nb::LogicalSwitch>().find(|s| s.name == "sw0").unwrap();
        let acl = rep.get(*sw.acls.first().unwrap()).unwrap();
        assert_eq!(
            (acl.direction, acl.action, acl.priority),
            (nb::AclDirection::ToLport, nb::AclAction::AllowRelated, 1001)
        );
        assert_eq!(acl.match_, "ip4.src == 10.0.0.0/24");
        let port = nb::LogicalSwitchPort::by_name(&rep, "sw0-p1").unwrap();
        assert_eq!(sw.ports, BTreeSet::from([port.uuid]));
        assert_eq!(port.addresses, BTreeSet::from(["00:00:00:00:00:01 10.0.0.1".to_string()]));
        port
    };

    // A typed partial update, seen by ovn-nbctl.
    idl.transact_with(|t| t.insert_into(port.uuid, "addresses", &BTreeSet::from(["router".to_string()])))
        .await
        .unwrap();
    let out = ctl("ovn-nbctl", &server, &["lsp-get-addresses", "sw0-p1"]).await;
    assert_eq!(out.lines().collect::<BTreeSet<_>>(), BTreeSet::from(["00:00:00:00:00:01 10.0.0.1", "router"]));
}
