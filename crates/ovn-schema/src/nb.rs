// @generated from schemas/ovn-nb.ovsschema by `cargo run -p ovn-schema --example regenerate`; do not edit.
//! Typed rows of the `OVN_Northbound` database, schema version 7.0.0.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb_client::ovsdb::{Atom, Datum};
use ovsdb_client::Replica;
use ovsdb_client::typed::Ref;

/// The schema's name.
pub const NAME: &str = "OVN_Northbound";
/// The schema's version.
pub const VERSION: &str = "7.0.0";
/// The tables.
pub const TABLES: &[&str] = &["ACL", "Address_Set", "BFD", "Chassis_Template_Var", "Connection", "Copp", "DHCP_Options", "DNS", "Forwarding_Group", "Gateway_Chassis", "HA_Chassis", "HA_Chassis_Group", "Load_Balancer", "Load_Balancer_Group", "Load_Balancer_Health_Check", "Logical_Router", "Logical_Router_Policy", "Logical_Router_Port", "Logical_Router_Static_Route", "Logical_Switch", "Logical_Switch_Port", "Meter", "Meter_Band", "Mirror", "NAT", "NB_Global", "Port_Group", "QoS", "SSL", "Static_MAC_Binding"];

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    AclAction {
        Allow = "allow",
        AllowRelated = "allow-related",
        AllowStateless = "allow-stateless",
        Drop = "drop",
        Reject = "reject",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    AclDirection {
        FromLport = "from-lport",
        ToLport = "to-lport",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    AclSeverity {
        Alert = "alert",
        Debug = "debug",
        Info = "info",
        Notice = "notice",
        Warning = "warning",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    BfdStatus {
        AdminDown = "admin_down",
        Down = "down",
        Init = "init",
        Up = "up",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    LoadBalancerProtocol {
        Sctp = "sctp",
        Tcp = "tcp",
        Udp = "udp",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    LoadBalancerSelectionFields {
        EthDst = "eth_dst",
        EthSrc = "eth_src",
        IpDst = "ip_dst",
        IpSrc = "ip_src",
        TpDst = "tp_dst",
        TpSrc = "tp_src",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    LogicalRouterPolicyAction {
        Allow = "allow",
        Drop = "drop",
        Reroute = "reroute",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    LogicalRouterStaticRoutePolicy {
        DstIp = "dst-ip",
        SrcIp = "src-ip",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    MeterUnit {
        Kbps = "kbps",
        Pktps = "pktps",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    MeterBandAction {
        Drop = "drop",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    MirrorFilter {
        FromLport = "from-lport",
        ToLport = "to-lport",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    MirrorType {
        Erspan = "erspan",
        Gre = "gre",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    NatType {
        Dnat = "dnat",
        DnatAndSnat = "dnat_and_snat",
        Snat = "snat",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    QoSAction {
        Dscp = "dscp",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    QoSBandwidth {
        Burst = "burst",
        Rate = "rate",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    QoSDirection {
        FromLport = "from-lport",
        ToLport = "to-lport",
    }
}

ovsdb_client::table! {
    /// A row of table `ACL`.
    Acl "ACL" {
        action "action": AclAction,
        direction "direction": AclDirection,
        external_ids "external_ids": BTreeMap<String, String>,
        label "label": i64,
        log "log": bool,
        match_ "match": String,
        meter "meter": Option<String>,
        name "name": Option<String>,
        options "options": BTreeMap<String, String>,
        priority "priority": i64,
        severity "severity": Option<AclSeverity>,
    }
}

ovsdb_client::table! {
    /// A row of table `Address_Set`.
    AddressSet "Address_Set" {
        addresses "addresses": BTreeSet<String>,
        external_ids "external_ids": BTreeMap<String, String>,
        name "name": String,
    }
}

ovsdb_client::table! {
    /// A row of table `BFD`.
    Bfd "BFD" {
        detect_mult "detect_mult": Option<i64>,
        dst_ip "dst_ip": String,
        external_ids "external_ids": BTreeMap<String, String>,
        logical_port "logical_port": String,
        min_rx "min_rx": Option<i64>,
        min_tx "min_tx": Option<i64>,
        options "options": BTreeMap<String, String>,
        status "status": Option<BfdStatus>,
    }
}

ovsdb_client::table! {
    /// A row of table `Chassis_Template_Var`.
    ChassisTemplateVar "Chassis_Template_Var" {
        chassis "chassis": String,
        external_ids "external_ids": BTreeMap<String, String>,
        variables "variables": BTreeMap<String, String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Connection`.
    Connection "Connection" {
        external_ids "external_ids": BTreeMap<String, String>,
        inactivity_probe "inactivity_probe": Option<i64>,
        is_connected "is_connected": bool,
        max_backoff "max_backoff": Option<i64>,
        other_config "other_config": BTreeMap<String, String>,
        status "status": BTreeMap<String, String>,
        target "target": String,
    }
}

ovsdb_client::table! {
    /// A row of table `Copp`.
    Copp "Copp" {
        external_ids "external_ids": BTreeMap<String, String>,
        meters "meters": BTreeMap<String, String>,
        name "name": String,
    }
}

ovsdb_client::table! {
    /// A row of table `DHCP_Options`.
    DhcpOptions "DHCP_Options" {
        cidr "cidr": String,
        external_ids "external_ids": BTreeMap<String, String>,
        options "options": BTreeMap<String, String>,
    }
}

ovsdb_client::table! {
    /// A row of table `DNS`.
    Dns "DNS" {
        external_ids "external_ids": BTreeMap<String, String>,
        records "records": BTreeMap<String, String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Forwarding_Group`.
    ForwardingGroup "Forwarding_Group" {
        child_port "child_port": BTreeSet<String>,
        external_ids "external_ids": BTreeMap<String, String>,
        liveness "liveness": bool,
        name "name": String,
        vip "vip": String,
        vmac "vmac": String,
    }
}

ovsdb_client::table! {
    /// A row of table `Gateway_Chassis`.
    GatewayChassis "Gateway_Chassis" {
        chassis_name "chassis_name": String,
        external_ids "external_ids": BTreeMap<String, String>,
        name "name": String,
        options "options": BTreeMap<String, String>,
        priority "priority": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `HA_Chassis`.
    HaChassis "HA_Chassis" {
        chassis_name "chassis_name": String,
        external_ids "external_ids": BTreeMap<String, String>,
        priority "priority": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `HA_Chassis_Group`.
    HaChassisGroup "HA_Chassis_Group" {
        external_ids "external_ids": BTreeMap<String, String>,
        ha_chassis "ha_chassis": BTreeSet<Ref<HaChassis>>,
        name "name": String,
    }
}

ovsdb_client::table! {
    /// A row of table `Load_Balancer`.
    LoadBalancer "Load_Balancer" {
        external_ids "external_ids": BTreeMap<String, String>,
        health_check "health_check": BTreeSet<Ref<LoadBalancerHealthCheck>>,
        ip_port_mappings "ip_port_mappings": BTreeMap<String, String>,
        name "name": String,
        options "options": BTreeMap<String, String>,
        protocol "protocol": Option<LoadBalancerProtocol>,
        selection_fields "selection_fields": BTreeSet<LoadBalancerSelectionFields>,
        vips "vips": BTreeMap<String, String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Load_Balancer_Group`.
    LoadBalancerGroup "Load_Balancer_Group" {
        load_balancer "load_balancer": BTreeSet<Ref<LoadBalancer>>,
        name "name": String,
    }
}

ovsdb_client::table! {
    /// A row of table `Load_Balancer_Health_Check`.
    LoadBalancerHealthCheck "Load_Balancer_Health_Check" {
        external_ids "external_ids": BTreeMap<String, String>,
        options "options": BTreeMap<String, String>,
        vip "vip": String,
    }
}

ovsdb_client::table! {
    /// A row of table `Logical_Router`.
    LogicalRouter "Logical_Router" {
        copp "copp": Option<Ref<Copp>>,
        enabled "enabled": Option<bool>,
        external_ids "external_ids": BTreeMap<String, String>,
        load_balancer "load_balancer": BTreeSet<Ref<LoadBalancer>>,
        load_balancer_group "load_balancer_group": BTreeSet<Ref<LoadBalancerGroup>>,
        name "name": String,
        nat "nat": BTreeSet<Ref<Nat>>,
        options "options": BTreeMap<String, String>,
        policies "policies": BTreeSet<Ref<LogicalRouterPolicy>>,
        ports "ports": BTreeSet<Ref<LogicalRouterPort>>,
        static_routes "static_routes": BTreeSet<Ref<LogicalRouterStaticRoute>>,
    }
}

ovsdb_client::table! {
    /// A row of table `Logical_Router_Policy`.
    LogicalRouterPolicy "Logical_Router_Policy" {
        action "action": LogicalRouterPolicyAction,
        external_ids "external_ids": BTreeMap<String, String>,
        match_ "match": String,
        nexthop "nexthop": Option<String>,
        nexthops "nexthops": BTreeSet<String>,
        options "options": BTreeMap<String, String>,
        priority "priority": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `Logical_Router_Port`.
    LogicalRouterPort "Logical_Router_Port" {
        enabled "enabled": Option<bool>,
        external_ids "external_ids": BTreeMap<String, String>,
        gateway_chassis "gateway_chassis": BTreeSet<Ref<GatewayChassis>>,
        ha_chassis_group "ha_chassis_group": Option<Ref<HaChassisGroup>>,
        ipv6_prefix "ipv6_prefix": BTreeSet<String>,
        ipv6_ra_configs "ipv6_ra_configs": BTreeMap<String, String>,
        mac "mac": String,
        name "name": String,
        networks "networks": BTreeSet<String>,
        options "options": BTreeMap<String, String>,
        peer "peer": Option<String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Logical_Router_Static_Route`.
    LogicalRouterStaticRoute "Logical_Router_Static_Route" {
        bfd "bfd": Option<Ref<Bfd>>,
        external_ids "external_ids": BTreeMap<String, String>,
        ip_prefix "ip_prefix": String,
        nexthop "nexthop": String,
        options "options": BTreeMap<String, String>,
        output_port "output_port": Option<String>,
        policy "policy": Option<LogicalRouterStaticRoutePolicy>,
        route_table "route_table": String,
    }
}

ovsdb_client::table! {
    /// A row of table `Logical_Switch`.
    LogicalSwitch "Logical_Switch" {
        acls "acls": BTreeSet<Ref<Acl>>,
        copp "copp": Option<Ref<Copp>>,
        dns_records "dns_records": BTreeSet<Ref<Dns>>,
        external_ids "external_ids": BTreeMap<String, String>,
        forwarding_groups "forwarding_groups": BTreeSet<Ref<ForwardingGroup>>,
        load_balancer "load_balancer": BTreeSet<Ref<LoadBalancer>>,
        load_balancer_group "load_balancer_group": BTreeSet<Ref<LoadBalancerGroup>>,
        name "name": String,
        other_config "other_config": BTreeMap<String, String>,
        ports "ports": BTreeSet<Ref<LogicalSwitchPort>>,
        qos_rules "qos_rules": BTreeSet<Ref<QoS>>,
    }
}

ovsdb_client::table! {
    /// A row of table `Logical_Switch_Port`.
    LogicalSwitchPort "Logical_Switch_Port" {
        addresses "addresses": BTreeSet<String>,
        dhcpv4_options "dhcpv4_options": Option<Ref<DhcpOptions>>,
        dhcpv6_options "dhcpv6_options": Option<Ref<DhcpOptions>>,
        dynamic_addresses "dynamic_addresses": Option<String>,
        enabled "enabled": Option<bool>,
        external_ids "external_ids": BTreeMap<String, String>,
        ha_chassis_group "ha_chassis_group": Option<Ref<HaChassisGroup>>,
        mirror_rules "mirror_rules": BTreeSet<Ref<Mirror>>,
        name "name": String,
        options "options": BTreeMap<String, String>,
        parent_name "parent_name": Option<String>,
        port_security "port_security": BTreeSet<String>,
        tag "tag": Option<i64>,
        tag_request "tag_request": Option<i64>,
        type_ "type": String,
        up "up": Option<bool>,
    }
}

ovsdb_client::table! {
    /// A row of table `Meter`.
    Meter "Meter" {
        bands "bands": BTreeSet<Ref<MeterBand>>,
        external_ids "external_ids": BTreeMap<String, String>,
        fair "fair": Option<bool>,
        name "name": String,
        unit "unit": MeterUnit,
    }
}

ovsdb_client::table! {
    /// A row of table `Meter_Band`.
    MeterBand "Meter_Band" {
        action "action": MeterBandAction,
        burst_size "burst_size": i64,
        external_ids "external_ids": BTreeMap<String, String>,
        rate "rate": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `Mirror`.
    Mirror "Mirror" {
        external_ids "external_ids": BTreeMap<String, String>,
        filter "filter": MirrorFilter,
        index "index": i64,
        name "name": String,
        sink "sink": String,
        type_ "type": MirrorType,
    }
}

ovsdb_client::table! {
    /// A row of table `NAT`.
    Nat "NAT" {
        allowed_ext_ips "allowed_ext_ips": Option<Ref<AddressSet>>,
        exempted_ext_ips "exempted_ext_ips": Option<Ref<AddressSet>>,
        external_ids "external_ids": BTreeMap<String, String>,
        external_ip "external_ip": String,
        external_mac "external_mac": Option<String>,
        external_port_range "external_port_range": String,
        gateway_port "gateway_port": Option<Ref<LogicalRouterPort>>,
        logical_ip "logical_ip": String,
        logical_port "logical_port": Option<String>,
        options "options": BTreeMap<String, String>,
        type_ "type": NatType,
    }
}

ovsdb_client::table! {
    /// A row of table `NB_Global`.
    NbGlobal "NB_Global" {
        connections "connections": BTreeSet<Ref<Connection>>,
        external_ids "external_ids": BTreeMap<String, String>,
        hv_cfg "hv_cfg": i64,
        hv_cfg_timestamp "hv_cfg_timestamp": i64,
        ipsec "ipsec": bool,
        name "name": String,
        nb_cfg "nb_cfg": i64,
        nb_cfg_timestamp "nb_cfg_timestamp": i64,
        options "options": BTreeMap<String, String>,
        sb_cfg "sb_cfg": i64,
        sb_cfg_timestamp "sb_cfg_timestamp": i64,
        ssl "ssl": Option<Ref<Ssl>>,
    }
}

ovsdb_client::table! {
    /// A row of table `Port_Group`.
    PortGroup "Port_Group" {
        acls "acls": BTreeSet<Ref<Acl>>,
        external_ids "external_ids": BTreeMap<String, String>,
        name "name": String,
        ports "ports": BTreeSet<Ref<LogicalSwitchPort>>,
    }
}

ovsdb_client::table! {
    /// A row of table `QoS`.
    QoS "QoS" {
        action "action": BTreeMap<QoSAction, i64>,
        bandwidth "bandwidth": BTreeMap<QoSBandwidth, i64>,
        direction "direction": QoSDirection,
        external_ids "external_ids": BTreeMap<String, String>,
        match_ "match": String,
        priority "priority": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `SSL`.
    Ssl "SSL" {
        bootstrap_ca_cert "bootstrap_ca_cert": bool,
        ca_cert "ca_cert": String,
        certificate "certificate": String,
        external_ids "external_ids": BTreeMap<String, String>,
        private_key "private_key": String,
        ssl_ciphers "ssl_ciphers": String,
        ssl_protocols "ssl_protocols": String,
    }
}

ovsdb_client::table! {
    /// A row of table `Static_MAC_Binding`.
    StaticMacBinding "Static_MAC_Binding" {
        ip "ip": String,
        logical_port "logical_port": String,
        mac "mac": String,
        override_dynamic_mac "override_dynamic_mac": bool,
    }
}

impl AddressSet {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl Bfd {
    /// The row with this `logical_port`, `dst_ip` (a unique index of the schema).
    pub fn by_logical_port_dst_ip(r: &Replica, logical_port: &str, dst_ip: &str) -> Option<Self> {
        r.lookup(&[("logical_port", Datum::scalar(Atom::string(logical_port))), ("dst_ip", Datum::scalar(Atom::string(dst_ip)))])
    }
}

impl ChassisTemplateVar {
    /// The row with this `chassis` (a unique index of the schema).
    pub fn by_chassis(r: &Replica, chassis: &str) -> Option<Self> {
        r.lookup(&[("chassis", Datum::scalar(Atom::string(chassis)))])
    }
}

impl Connection {
    /// The row with this `target` (a unique index of the schema).
    pub fn by_target(r: &Replica, target: &str) -> Option<Self> {
        r.lookup(&[("target", Datum::scalar(Atom::string(target)))])
    }
}

impl Copp {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl GatewayChassis {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl HaChassisGroup {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl LoadBalancerGroup {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl LogicalRouterPort {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl LogicalSwitchPort {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl Meter {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl Mirror {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl PortGroup {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl StaticMacBinding {
    /// The row with this `logical_port`, `ip` (a unique index of the schema).
    pub fn by_logical_port_ip(r: &Replica, logical_port: &str, ip: &str) -> Option<Self> {
        r.lookup(&[("logical_port", Datum::scalar(Atom::string(logical_port))), ("ip", Datum::scalar(Atom::string(ip)))])
    }
}
