// @generated from schemas/ovn-sb.ovsschema by `cargo run -p ovn-schema --example regenerate`; do not edit.
//! Typed rows of the `OVN_Southbound` database, schema version 20.27.0.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb_client::ovsdb::{Atom, Datum};
use ovsdb_client::typed::ColumnValue;
use ovsdb_client::Replica;
use ovsdb_client::ovsdb::Uuid;
use ovsdb_client::typed::Ref;

/// The schema's name.
pub const NAME: &str = "OVN_Southbound";
/// The schema's version.
pub const VERSION: &str = "20.27.0";
/// The tables.
pub const TABLES: &[&str] = &["Address_Set", "BFD", "Chassis", "Chassis_Private", "Chassis_Template_Var", "Connection", "Controller_Event", "DHCP_Options", "DHCPv6_Options", "DNS", "Datapath_Binding", "Encap", "FDB", "Gateway_Chassis", "HA_Chassis", "HA_Chassis_Group", "IGMP_Group", "IP_Multicast", "Load_Balancer", "Logical_DP_Group", "Logical_Flow", "MAC_Binding", "Meter", "Meter_Band", "Mirror", "Multicast_Group", "Port_Binding", "Port_Group", "RBAC_Permission", "RBAC_Role", "SB_Global", "SSL", "Service_Monitor", "Static_MAC_Binding"];

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
    ControllerEventEventType {
        EmptyLbBackends = "empty_lb_backends",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    DhcpOptionsType {
        Bool = "bool",
        Domains = "domains",
        HostId = "host_id",
        Ipv4 = "ipv4",
        StaticRoutes = "static_routes",
        Str = "str",
        Uint16 = "uint16",
        Uint32 = "uint32",
        Uint8 = "uint8",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    DHCPv6OptionsType {
        Ipv6 = "ipv6",
        Mac = "mac",
        Str = "str",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    EncapType {
        Geneve = "geneve",
        Stt = "stt",
        Vxlan = "vxlan",
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
    LogicalFlowPipeline {
        Egress = "egress",
        Ingress = "ingress",
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
    ServiceMonitorProtocol {
        Tcp = "tcp",
        Udp = "udp",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    ServiceMonitorStatus {
        Error = "error",
        Offline = "offline",
        Online = "online",
    }
}

ovsdb_client::table! {
    /// A row of table `Address_Set`.
    AddressSet "Address_Set" {
        addresses "addresses": BTreeSet<String>,
        name "name": String,
    }
}

ovsdb_client::table! {
    /// A row of table `BFD`.
    Bfd "BFD" {
        detect_mult "detect_mult": i64,
        disc "disc": i64,
        dst_ip "dst_ip": String,
        external_ids "external_ids": BTreeMap<String, String>,
        logical_port "logical_port": String,
        min_rx "min_rx": i64,
        min_tx "min_tx": i64,
        options "options": BTreeMap<String, String>,
        src_port "src_port": i64,
        status "status": BfdStatus,
    }
}

ovsdb_client::table! {
    /// A row of table `Chassis`.
    Chassis "Chassis" {
        encaps "encaps": BTreeSet<Ref<Encap>>,
        external_ids "external_ids": BTreeMap<String, String>,
        hostname "hostname": String,
        name "name": String,
        nb_cfg "nb_cfg": i64,
        other_config "other_config": BTreeMap<String, String>,
        transport_zones "transport_zones": BTreeSet<String>,
        vtep_logical_switches "vtep_logical_switches": BTreeSet<String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Chassis_Private`.
    ChassisPrivate "Chassis_Private" {
        chassis "chassis": Option<Ref<Chassis>>,
        external_ids "external_ids": BTreeMap<String, String>,
        name "name": String,
        nb_cfg "nb_cfg": i64,
        nb_cfg_timestamp "nb_cfg_timestamp": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `Chassis_Template_Var`.
    ChassisTemplateVar "Chassis_Template_Var" {
        chassis "chassis": String,
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
        read_only "read_only": bool,
        role "role": String,
        status "status": BTreeMap<String, String>,
        target "target": String,
    }
}

ovsdb_client::table! {
    /// A row of table `Controller_Event`.
    ControllerEvent "Controller_Event" {
        chassis "chassis": Option<Ref<Chassis>>,
        event_info "event_info": BTreeMap<String, String>,
        event_type "event_type": ControllerEventEventType,
        seq_num "seq_num": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `DHCP_Options`.
    DhcpOptions "DHCP_Options" {
        code "code": i64,
        name "name": String,
        type_ "type": DhcpOptionsType,
    }
}

ovsdb_client::table! {
    /// A row of table `DHCPv6_Options`.
    DHCPv6Options "DHCPv6_Options" {
        code "code": i64,
        name "name": String,
        type_ "type": DHCPv6OptionsType,
    }
}

ovsdb_client::table! {
    /// A row of table `DNS`.
    Dns "DNS" {
        datapaths "datapaths": BTreeSet<Ref<DatapathBinding>>,
        external_ids "external_ids": BTreeMap<String, String>,
        records "records": BTreeMap<String, String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Datapath_Binding`.
    DatapathBinding "Datapath_Binding" {
        external_ids "external_ids": BTreeMap<String, String>,
        load_balancers "load_balancers": BTreeSet<Uuid>,
        tunnel_key "tunnel_key": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `Encap`.
    Encap "Encap" {
        chassis_name "chassis_name": String,
        ip "ip": String,
        options "options": BTreeMap<String, String>,
        type_ "type": EncapType,
    }
}

ovsdb_client::table! {
    /// A row of table `FDB`.
    Fdb "FDB" {
        dp_key "dp_key": i64,
        mac "mac": String,
        port_key "port_key": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `Gateway_Chassis`.
    GatewayChassis "Gateway_Chassis" {
        chassis "chassis": Option<Ref<Chassis>>,
        external_ids "external_ids": BTreeMap<String, String>,
        name "name": String,
        options "options": BTreeMap<String, String>,
        priority "priority": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `HA_Chassis`.
    HaChassis "HA_Chassis" {
        chassis "chassis": Option<Ref<Chassis>>,
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
        ref_chassis "ref_chassis": BTreeSet<Ref<Chassis>>,
    }
}

ovsdb_client::table! {
    /// A row of table `IGMP_Group`.
    IgmpGroup "IGMP_Group" {
        address "address": String,
        chassis "chassis": Option<Ref<Chassis>>,
        datapath "datapath": Option<Ref<DatapathBinding>>,
        ports "ports": BTreeSet<Ref<PortBinding>>,
    }
}

ovsdb_client::table! {
    /// A row of table `IP_Multicast`.
    IpMulticast "IP_Multicast" {
        datapath "datapath": Ref<DatapathBinding>,
        enabled "enabled": Option<bool>,
        eth_src "eth_src": String,
        idle_timeout "idle_timeout": Option<i64>,
        ip4_src "ip4_src": String,
        ip6_src "ip6_src": String,
        querier "querier": Option<bool>,
        query_interval "query_interval": Option<i64>,
        query_max_resp "query_max_resp": Option<i64>,
        seq_no "seq_no": i64,
        table_size "table_size": Option<i64>,
    }
}

ovsdb_client::table! {
    /// A row of table `Load_Balancer`.
    LoadBalancer "Load_Balancer" {
        datapath_group "datapath_group": Option<Ref<LogicalDpGroup>>,
        datapaths "datapaths": BTreeSet<Ref<DatapathBinding>>,
        external_ids "external_ids": BTreeMap<String, String>,
        name "name": String,
        options "options": BTreeMap<String, String>,
        protocol "protocol": Option<LoadBalancerProtocol>,
        vips "vips": BTreeMap<String, String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Logical_DP_Group`.
    LogicalDpGroup "Logical_DP_Group" {
        datapaths "datapaths": BTreeSet<Ref<DatapathBinding>>,
    }
}

ovsdb_client::table! {
    /// A row of table `Logical_Flow`.
    LogicalFlow "Logical_Flow" {
        actions "actions": String,
        controller_meter "controller_meter": Option<String>,
        external_ids "external_ids": BTreeMap<String, String>,
        logical_datapath "logical_datapath": Option<Ref<DatapathBinding>>,
        logical_dp_group "logical_dp_group": Option<Ref<LogicalDpGroup>>,
        match_ "match": String,
        pipeline "pipeline": LogicalFlowPipeline,
        priority "priority": i64,
        table_id "table_id": i64,
        tags "tags": BTreeMap<String, String>,
    }
}

ovsdb_client::table! {
    /// A row of table `MAC_Binding`.
    MacBinding "MAC_Binding" {
        datapath "datapath": Ref<DatapathBinding>,
        ip "ip": String,
        logical_port "logical_port": String,
        mac "mac": String,
        timestamp "timestamp": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `Meter`.
    Meter "Meter" {
        bands "bands": BTreeSet<Ref<MeterBand>>,
        name "name": String,
        unit "unit": MeterUnit,
    }
}

ovsdb_client::table! {
    /// A row of table `Meter_Band`.
    MeterBand "Meter_Band" {
        action "action": MeterBandAction,
        burst_size "burst_size": i64,
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
    /// A row of table `Multicast_Group`.
    MulticastGroup "Multicast_Group" {
        datapath "datapath": Ref<DatapathBinding>,
        name "name": String,
        ports "ports": BTreeSet<Ref<PortBinding>>,
        tunnel_key "tunnel_key": i64,
    }
}

ovsdb_client::table! {
    /// A row of table `Port_Binding`.
    PortBinding "Port_Binding" {
        additional_chassis "additional_chassis": BTreeSet<Ref<Chassis>>,
        additional_encap "additional_encap": BTreeSet<Ref<Encap>>,
        chassis "chassis": Option<Ref<Chassis>>,
        datapath "datapath": Ref<DatapathBinding>,
        encap "encap": Option<Ref<Encap>>,
        external_ids "external_ids": BTreeMap<String, String>,
        gateway_chassis "gateway_chassis": BTreeSet<Ref<GatewayChassis>>,
        ha_chassis_group "ha_chassis_group": Option<Ref<HaChassisGroup>>,
        logical_port "logical_port": String,
        mac "mac": BTreeSet<String>,
        mirror_rules "mirror_rules": BTreeSet<Ref<Mirror>>,
        nat_addresses "nat_addresses": BTreeSet<String>,
        options "options": BTreeMap<String, String>,
        parent_port "parent_port": Option<String>,
        port_security "port_security": BTreeSet<String>,
        requested_additional_chassis "requested_additional_chassis": BTreeSet<Ref<Chassis>>,
        requested_chassis "requested_chassis": Option<Ref<Chassis>>,
        tag "tag": Option<i64>,
        tunnel_key "tunnel_key": i64,
        type_ "type": String,
        up "up": Option<bool>,
        virtual_parent "virtual_parent": Option<String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Port_Group`.
    PortGroup "Port_Group" {
        name "name": String,
        ports "ports": BTreeSet<String>,
    }
}

ovsdb_client::table! {
    /// A row of table `RBAC_Permission`.
    RbacPermission "RBAC_Permission" {
        authorization "authorization": BTreeSet<String>,
        insert_delete "insert_delete": bool,
        table "table": String,
        update "update": BTreeSet<String>,
    }
}

ovsdb_client::table! {
    /// A row of table `RBAC_Role`.
    RbacRole "RBAC_Role" {
        name "name": String,
        permissions "permissions": BTreeMap<String, Ref<RbacPermission>>,
    }
}

ovsdb_client::table! {
    /// A row of table `SB_Global`.
    SbGlobal "SB_Global" {
        connections "connections": BTreeSet<Ref<Connection>>,
        external_ids "external_ids": BTreeMap<String, String>,
        ipsec "ipsec": bool,
        nb_cfg "nb_cfg": i64,
        options "options": BTreeMap<String, String>,
        ssl "ssl": Option<Ref<Ssl>>,
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
    /// A row of table `Service_Monitor`.
    ServiceMonitor "Service_Monitor" {
        external_ids "external_ids": BTreeMap<String, String>,
        ip "ip": String,
        logical_port "logical_port": String,
        options "options": BTreeMap<String, String>,
        port "port": i64,
        protocol "protocol": Option<ServiceMonitorProtocol>,
        src_ip "src_ip": String,
        src_mac "src_mac": String,
        status "status": Option<ServiceMonitorStatus>,
    }
}

ovsdb_client::table! {
    /// A row of table `Static_MAC_Binding`.
    StaticMacBinding "Static_MAC_Binding" {
        datapath "datapath": Ref<DatapathBinding>,
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
    /// The row with this `logical_port`, `dst_ip`, `src_port`, `disc` (a unique index of the schema).
    pub fn by_logical_port_dst_ip_src_port_disc(r: &Replica, logical_port: &str, dst_ip: &str, src_port: i64, disc: i64) -> Option<Self> {
        r.lookup(&[("logical_port", Datum::scalar(Atom::string(logical_port))), ("dst_ip", Datum::scalar(Atom::string(dst_ip))), ("src_port", ColumnValue::to_datum(&src_port)), ("disc", ColumnValue::to_datum(&disc))])
    }
}

impl Chassis {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl ChassisPrivate {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
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

impl DatapathBinding {
    /// The row with this `tunnel_key` (a unique index of the schema).
    pub fn by_tunnel_key(r: &Replica, tunnel_key: i64) -> Option<Self> {
        r.lookup(&[("tunnel_key", ColumnValue::to_datum(&tunnel_key))])
    }
}

impl Encap {
    /// The row with this `type`, `ip` (a unique index of the schema).
    pub fn by_type_ip(r: &Replica, type_: EncapType, ip: &str) -> Option<Self> {
        r.lookup(&[("type", ColumnValue::to_datum(&type_)), ("ip", Datum::scalar(Atom::string(ip)))])
    }
}

impl Fdb {
    /// The row with this `mac`, `dp_key` (a unique index of the schema).
    pub fn by_mac_dp_key(r: &Replica, mac: &str, dp_key: i64) -> Option<Self> {
        r.lookup(&[("mac", Datum::scalar(Atom::string(mac))), ("dp_key", ColumnValue::to_datum(&dp_key))])
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

impl IgmpGroup {
    /// The row with this `address`, `datapath`, `chassis` (a unique index of the schema).
    pub fn by_address_datapath_chassis(r: &Replica, address: &str, datapath: &Option<Ref<DatapathBinding>>, chassis: &Option<Ref<Chassis>>) -> Option<Self> {
        r.lookup(&[("address", Datum::scalar(Atom::string(address))), ("datapath", ColumnValue::to_datum(datapath)), ("chassis", ColumnValue::to_datum(chassis))])
    }
}

impl IpMulticast {
    /// The row with this `datapath` (a unique index of the schema).
    pub fn by_datapath(r: &Replica, datapath: Ref<DatapathBinding>) -> Option<Self> {
        r.lookup(&[("datapath", ColumnValue::to_datum(&datapath))])
    }
}

impl MacBinding {
    /// The row with this `logical_port`, `ip` (a unique index of the schema).
    pub fn by_logical_port_ip(r: &Replica, logical_port: &str, ip: &str) -> Option<Self> {
        r.lookup(&[("logical_port", Datum::scalar(Atom::string(logical_port))), ("ip", Datum::scalar(Atom::string(ip)))])
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

impl MulticastGroup {
    /// The row with this `datapath`, `tunnel_key` (a unique index of the schema).
    pub fn by_datapath_tunnel_key(r: &Replica, datapath: Ref<DatapathBinding>, tunnel_key: i64) -> Option<Self> {
        r.lookup(&[("datapath", ColumnValue::to_datum(&datapath)), ("tunnel_key", ColumnValue::to_datum(&tunnel_key))])
    }

    /// The row with this `datapath`, `name` (a unique index of the schema).
    pub fn by_datapath_name(r: &Replica, datapath: Ref<DatapathBinding>, name: &str) -> Option<Self> {
        r.lookup(&[("datapath", ColumnValue::to_datum(&datapath)), ("name", Datum::scalar(Atom::string(name)))])
    }
}

impl PortBinding {
    /// The row with this `datapath`, `tunnel_key` (a unique index of the schema).
    pub fn by_datapath_tunnel_key(r: &Replica, datapath: Ref<DatapathBinding>, tunnel_key: i64) -> Option<Self> {
        r.lookup(&[("datapath", ColumnValue::to_datum(&datapath)), ("tunnel_key", ColumnValue::to_datum(&tunnel_key))])
    }

    /// The row with this `logical_port` (a unique index of the schema).
    pub fn by_logical_port(r: &Replica, logical_port: &str) -> Option<Self> {
        r.lookup(&[("logical_port", Datum::scalar(Atom::string(logical_port)))])
    }
}

impl PortGroup {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl ServiceMonitor {
    /// The row with this `logical_port`, `ip`, `port`, `protocol` (a unique index of the schema).
    pub fn by_logical_port_ip_port_protocol(r: &Replica, logical_port: &str, ip: &str, port: i64, protocol: &Option<ServiceMonitorProtocol>) -> Option<Self> {
        r.lookup(&[("logical_port", Datum::scalar(Atom::string(logical_port))), ("ip", Datum::scalar(Atom::string(ip))), ("port", ColumnValue::to_datum(&port)), ("protocol", ColumnValue::to_datum(protocol))])
    }
}

impl StaticMacBinding {
    /// The row with this `logical_port`, `ip` (a unique index of the schema).
    pub fn by_logical_port_ip(r: &Replica, logical_port: &str, ip: &str) -> Option<Self> {
        r.lookup(&[("logical_port", Datum::scalar(Atom::string(logical_port))), ("ip", Datum::scalar(Atom::string(ip)))])
    }
}
