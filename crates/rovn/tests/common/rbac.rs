//! The RBAC rows the RBAC tests load into an OVN_Southbound database.

/// The RBAC_Role and RBAC_Permission rows ovn-northd 23.03 creates for
/// ovn-controller (those the tests exercise).
pub fn rows() -> String {
    serde_json::json!(["OVN_Southbound",
        {"op": "insert", "table": "RBAC_Permission", "uuid-name": "chassis", "row": {
            "table": "Chassis", "authorization": ["set", ["name"]], "insert_delete": true,
            "update": ["set", ["nb_cfg", "external_ids", "encaps", "vtep_logical_switches", "other_config", "transport_zones"]]}},
        {"op": "insert", "table": "RBAC_Permission", "uuid-name": "chassis_private", "row": {
            "table": "Chassis_Private", "authorization": ["set", ["name"]], "insert_delete": true,
            "update": ["set", ["nb_cfg", "nb_cfg_timestamp", "chassis", "external_ids"]]}},
        {"op": "insert", "table": "RBAC_Permission", "uuid-name": "encap", "row": {
            "table": "Encap", "authorization": ["set", ["chassis_name"]], "insert_delete": true,
            "update": ["set", ["type", "options", "ip"]]}},
        {"op": "insert", "table": "RBAC_Permission", "uuid-name": "port_binding", "row": {
            "table": "Port_Binding", "authorization": ["set", [""]], "insert_delete": false,
            "update": ["set", ["chassis", "additional_chassis", "encap", "additional_encap", "up", "virtual_parent", "options"]]}},
        {"op": "insert", "table": "RBAC_Permission", "uuid-name": "mac_binding", "row": {
            "table": "MAC_Binding", "authorization": ["set", [""]], "insert_delete": true,
            "update": ["set", ["logical_port", "ip", "mac", "datapath", "timestamp"]]}},
        {"op": "insert", "table": "RBAC_Role", "row": {"name": "ovn-controller", "permissions": ["map", [
            ["Chassis", ["named-uuid", "chassis"]], ["Chassis_Private", ["named-uuid", "chassis_private"]],
            ["Encap", ["named-uuid", "encap"]], ["Port_Binding", ["named-uuid", "port_binding"]],
            ["MAC_Binding", ["named-uuid", "mac_binding"]]]]}}
    ])
    .to_string()
}
