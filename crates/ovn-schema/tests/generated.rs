//! The committed typed-row modules are what the generator makes of the
//! schema files, and typed rows read what the database holds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ovn_schema::{nb, sb, vswitch};
use ovsdb_client::ovsdb::monitor::{Monitor, Version};
use ovsdb_client::ovsdb::{Database, DatabaseSchema, Datum};
use ovsdb_client::typed::{Change, Ref, Table};
use ovsdb_client::Replica;
use serde_json::{json, Value};

#[test]
fn generated_code_is_fresh() {
    for (path, want) in ovn_schema::generate().unwrap() {
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: it is not what the generator makes of the schema; run `{}` and commit the result",
            path.display(),
            ovn_schema::REGENERATE
        );
    }
}

/// An in-memory database with a replica fed by a monitor, like a client's.
struct Fixture {
    db: Database,
    mon: Monitor,
    rep: Replica,
}

impl Fixture {
    fn new(schema_text: &str) -> Fixture {
        let schema = Arc::new(DatabaseSchema::from_str(schema_text).unwrap());
        let db = Database::new(schema.clone());
        let rep = Replica::new(schema.clone(), &[]).unwrap();
        let mon = Monitor::from_json(&schema, Version::V2, &rep.monitor_requests()).unwrap();
        let mut f = Fixture { db, mon, rep };
        let init = f.mon.initial(&f.db);
        f.rep.apply_update2(&init).unwrap();
        f
    }

    fn transact(&mut self, ops: Value) -> Vec<Value> {
        let (res, cs) = self.db.transact(ops.as_array().unwrap());
        assert!(res.iter().all(|r| r.get("error").is_none()), "{res:?}");
        if let Some(u) = cs.and_then(|cs| self.mon.update(self.db.schema(), &cs)) {
            self.rep.apply_update2(&u).unwrap();
        }
        res
    }
}

fn uuid_of(res: &Value) -> String {
    res["uuid"][1].as_str().unwrap().to_string()
}

#[test]
fn southbound_rows_indexes_and_changes() {
    let mut f = Fixture::new(ovn_schema::SB_SCHEMA);
    let res = f.transact(json!([
        {"op": "insert", "table": "Encap", "uuid-name": "e",
         "row": {"type": "geneve", "ip": "192.0.2.1", "chassis_name": "hv1", "options": ["map", [["csum", "true"]]]}},
        {"op": "insert", "table": "Chassis", "uuid-name": "c",
         "row": {"name": "hv1", "hostname": "host1", "encaps": ["named-uuid", "e"],
                 "other_config": ["map", [["ovn-cms-options", "x"]]]}},
        {"op": "insert", "table": "Datapath_Binding", "uuid-name": "d",
         "row": {"tunnel_key": 7, "external_ids": ["map", [["name", "sw0"]]]}},
        {"op": "insert", "table": "Port_Binding",
         "row": {"logical_port": "lsp1", "datapath": ["named-uuid", "d"], "tunnel_key": 3,
                 "chassis": ["named-uuid", "c"], "mac": ["set", ["00:00:00:00:00:01 10.0.0.1"]], "tag": 5}},
        {"op": "insert", "table": "Logical_Flow",
         "row": {"logical_datapath": ["named-uuid", "d"], "pipeline": "egress", "table_id": 2, "priority": 100,
                 "match": "ip4", "actions": "next;"}},
    ]));
    let (encap, chassis, dp, pb) = (uuid_of(&res[0]), uuid_of(&res[1]), uuid_of(&res[2]), uuid_of(&res[3]));

    let ch = sb::Chassis::by_name(&f.rep, "hv1").expect("chassis by name");
    assert_eq!(ch.uuid.to_string(), chassis);
    assert_eq!(ch.hostname, "host1");
    assert_eq!(ch.other_config.get("ovn-cms-options").map(String::as_str), Some("x"));
    let e: Vec<sb::Encap> = ch.encaps.iter().map(|r| f.rep.get(*r).unwrap()).collect();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].uuid.to_string(), encap);
    assert_eq!(e[0].type_, sb::EncapType::Geneve);
    assert_eq!(e[0].ip, "192.0.2.1");
    assert!(sb::Encap::by_type_ip(&f.rep, sb::EncapType::Geneve, "192.0.2.1").is_some());
    assert!(sb::Encap::by_type_ip(&f.rep, sb::EncapType::Vxlan, "192.0.2.1").is_none());

    let d = sb::DatapathBinding::by_tunnel_key(&f.rep, 7).expect("datapath by tunnel key");
    assert_eq!(d.uuid.to_string(), dp);
    let p = sb::PortBinding::by_logical_port(&f.rep, "lsp1").expect("port binding by name");
    assert_eq!(p.uuid.to_string(), pb);
    assert_eq!(p.datapath, d.uuid);
    assert_eq!(p.chassis, Some(ch.uuid));
    assert_eq!(p.tag, Some(5));
    assert_eq!(p.up, None);
    assert_eq!(p.mac, BTreeSet::from(["00:00:00:00:00:01 10.0.0.1".to_string()]));
    assert_eq!(sb::PortBinding::by_datapath_tunnel_key(&f.rep, d.uuid, 3).map(|p| p.uuid), Some(p.uuid));
    assert!(sb::PortBinding::by_logical_port(&f.rep, "nope").is_none());
    let lf: Vec<sb::LogicalFlow> = f.rep.rows().collect();
    assert_eq!(lf.len(), 1);
    assert_eq!(lf[0].pipeline, sb::LogicalFlowPipeline::Egress);
    assert_eq!((lf[0].table_id, lf[0].priority, lf[0].match_.as_str()), (2, 100, "ip4"));
    assert_eq!(lf[0].logical_datapath, Some(d.uuid));

    // Typed rows convert back to exactly the row's values.
    let raw = f.rep.raw(p.uuid).unwrap().clone();
    let (_, ts) = f.rep.schema().table("Port_Binding").unwrap();
    for (c, d) in sb::PortBinding::COLUMNS.iter().zip(p.to_datums()) {
        assert_eq!(raw.values[ts.column(c).unwrap()], d, "column {c}");
    }

    // Changes since the last look, typed.
    let ins = f.rep.changes_of::<sb::PortBinding>();
    assert!(matches!(&ins[..], [Change::Inserted(x)] if x.logical_port == "lsp1"));
    assert!(f.rep.changes_of::<sb::PortBinding>().is_empty());
    assert_eq!(f.rep.changes_of::<sb::LogicalFlow>().len(), 1);
    f.transact(json!([
        {"op": "update", "table": "Port_Binding", "where": [["logical_port", "==", "lsp1"]],
         "row": {"logical_port": "lsp2", "up": true}},
        {"op": "delete", "table": "Logical_Flow", "where": []},
    ]));
    let ch = f.rep.changes_of::<sb::PortBinding>();
    match &ch[..] {
        [Change::Modified { old, new }] => {
            assert_eq!((old.logical_port.as_str(), old.up), ("lsp1", None));
            assert_eq!((new.logical_port.as_str(), new.up), ("lsp2", Some(true)));
        }
        other => panic!("expected one modification, got {other:?}"),
    }
    // The index follows renames.
    assert!(sb::PortBinding::by_logical_port(&f.rep, "lsp1").is_none());
    assert_eq!(sb::PortBinding::by_logical_port(&f.rep, "lsp2").map(|p| p.uuid), Some(p.uuid));
    assert!(matches!(&f.rep.changes_of::<sb::LogicalFlow>()[..], [Change::Deleted(x)] if x.actions == "next;"));
    // A row that came and went between two looks is no change at all.
    f.rep.changes_of::<sb::AddressSet>();
    f.transact(json!([{"op": "insert", "table": "Address_Set", "row": {"name": "as9"}}]));
    f.transact(json!([{"op": "delete", "table": "Address_Set", "where": [["name", "==", "as9"]]}]));
    assert!(f.rep.changes_of::<sb::AddressSet>().is_empty());
}

#[test]
fn northbound_enums_and_unindexed_lookup() {
    let mut f = Fixture::new(ovn_schema::NB_SCHEMA);
    f.transact(json!([
        {"op": "insert", "table": "ACL", "uuid-name": "a",
         "row": {"direction": "to-lport", "action": "allow-related", "priority": 1001, "match": "ip4", "log": true,
                 "severity": "warning"}},
        {"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0", "acls": ["named-uuid", "a"]}},
    ]));
    // Logical_Switch has no index on name: lookup scans.
    let sw: nb::LogicalSwitch =
        f.rep.lookup(&[("name", Datum::scalar(ovsdb_client::ovsdb::Atom::string("sw0")))]).expect("switch by name");
    let acl = f.rep.get(*sw.acls.first().unwrap()).unwrap();
    assert_eq!(acl.action, nb::AclAction::AllowRelated);
    assert_eq!(acl.direction, nb::AclDirection::ToLport);
    assert_eq!(acl.severity, Some(nb::AclSeverity::Warning));
    assert_eq!(acl.action.to_string(), "allow-related");
    assert_eq!(nb::AclAction::parse("reject"), Some(nb::AclAction::Reject));
    assert_eq!(nb::AclAction::parse("bogus"), None);
    assert_eq!(f.rep.count::<nb::Acl>(), 1);
}

#[test]
fn vswitch_rows_and_an_older_server_schema() {
    // A server whose schema lacks a column: the typed field reads as its default.
    let mut schema: Value = serde_json::from_str(ovn_schema::VSWITCH_SCHEMA).unwrap();
    schema["tables"]["Bridge"]["columns"].as_object_mut().unwrap().remove("datapath_type");
    let mut f = Fixture::new(&schema.to_string());
    f.transact(json!([
        {"op": "insert", "table": "Interface", "uuid-name": "i", "row": {"name": "br-int", "type": "internal"}},
        {"op": "insert", "table": "Port", "uuid-name": "p", "row": {"name": "br-int", "interfaces": ["named-uuid", "i"]}},
        {"op": "insert", "table": "Bridge", "uuid-name": "b",
         "row": {"name": "br-int", "ports": ["named-uuid", "p"], "fail_mode": "secure", "protocols": ["set", ["OpenFlow13", "OpenFlow15"]]}},
        {"op": "insert", "table": "Open_vSwitch", "row": {"bridges": ["named-uuid", "b"],
         "external_ids": ["map", [["system-id", "hv1"], ["ovn-remote", "unix:/x"]]]}},
    ]));
    let ovs: Vec<vswitch::OpenVSwitch> = f.rep.rows().collect();
    assert_eq!(
        ovs[0].external_ids,
        BTreeMap::from([("ovn-remote".into(), "unix:/x".into()), ("system-id".into(), "hv1".into())])
    );
    let br = vswitch::Bridge::by_name(&f.rep, "br-int").unwrap();
    assert_eq!(ovs[0].bridges, BTreeSet::from([br.uuid]));
    assert_eq!(br.datapath_type, "");
    assert_eq!(br.fail_mode, Some(vswitch::BridgeFailMode::Secure));
    assert_eq!(
        br.protocols,
        BTreeSet::from([vswitch::BridgeProtocols::OpenFlow13, vswitch::BridgeProtocols::OpenFlow15])
    );
    let port: vswitch::Port = f.rep.get(*br.ports.first().unwrap()).unwrap();
    let iface = f.rep.get(*port.interfaces.first().unwrap()).unwrap();
    assert_eq!((iface.name.as_str(), iface.type_.as_str()), ("br-int", "internal"));
    assert!(vswitch::Interface::by_name(&f.rep, "br-int").is_some());
    let missing: Ref<vswitch::Bridge> = Ref::new(ovsdb_client::ovsdb::Uuid::random());
    assert!(f.rep.get(missing).is_none());
}
