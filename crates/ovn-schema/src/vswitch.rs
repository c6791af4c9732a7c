// @generated from schemas/vswitch.ovsschema by `cargo run -p ovn-schema --example regenerate`; do not edit.
//! Typed rows of the `Open_vSwitch` database, schema version 8.3.1.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb_client::ovsdb::{Atom, Datum};
use ovsdb_client::typed::ColumnValue;
use ovsdb_client::Replica;
use ovsdb_client::typed::Ref;

/// The schema's name.
pub const NAME: &str = "Open_vSwitch";
/// The schema's version.
pub const VERSION: &str = "8.3.1";
/// The tables.
pub const TABLES: &[&str] = &["AutoAttach", "Bridge", "CT_Timeout_Policy", "CT_Zone", "Controller", "Datapath", "Flow_Sample_Collector_Set", "Flow_Table", "IPFIX", "Interface", "Manager", "Mirror", "NetFlow", "Open_vSwitch", "Port", "QoS", "Queue", "SSL", "sFlow"];

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    BridgeFailMode {
        Secure = "secure",
        Standalone = "standalone",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    BridgeProtocols {
        OpenFlow10 = "OpenFlow10",
        OpenFlow11 = "OpenFlow11",
        OpenFlow12 = "OpenFlow12",
        OpenFlow13 = "OpenFlow13",
        OpenFlow14 = "OpenFlow14",
        OpenFlow15 = "OpenFlow15",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    CtTimeoutPolicyTimeouts {
        IcmpFirst = "icmp_first",
        IcmpReply = "icmp_reply",
        TcpClose = "tcp_close",
        TcpCloseWait = "tcp_close_wait",
        TcpEstablished = "tcp_established",
        TcpFinWait = "tcp_fin_wait",
        TcpLastAck = "tcp_last_ack",
        TcpRetransmit = "tcp_retransmit",
        TcpSynRecv = "tcp_syn_recv",
        TcpSynSent = "tcp_syn_sent",
        TcpSynSent2 = "tcp_syn_sent2",
        TcpTimeWait = "tcp_time_wait",
        TcpUnack = "tcp_unack",
        UdpFirst = "udp_first",
        UdpMultiple = "udp_multiple",
        UdpSingle = "udp_single",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    ControllerConnectionMode {
        InBand = "in-band",
        OutOfBand = "out-of-band",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    ControllerRole {
        Master = "master",
        Other = "other",
        Slave = "slave",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    ControllerType {
        Primary = "primary",
        Service = "service",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    FlowTableOverflowPolicy {
        Evict = "evict",
        Refuse = "refuse",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    InterfaceAdminState {
        Down = "down",
        Up = "up",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    InterfaceCfmRemoteOpstate {
        Down = "down",
        Up = "up",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    InterfaceDuplex {
        Full = "full",
        Half = "half",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    InterfaceLinkState {
        Down = "down",
        Up = "up",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    ManagerConnectionMode {
        InBand = "in-band",
        OutOfBand = "out-of-band",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    PortBondMode {
        ActiveBackup = "active-backup",
        BalanceSlb = "balance-slb",
        BalanceTcp = "balance-tcp",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    PortLacp {
        Active = "active",
        Off = "off",
        Passive = "passive",
    }
}

ovsdb_client::enumeration! {
    /// Allowed values of a column.
    PortVlanMode {
        Access = "access",
        Dot1qTunnel = "dot1q-tunnel",
        NativeTagged = "native-tagged",
        NativeUntagged = "native-untagged",
        Trunk = "trunk",
    }
}

ovsdb_client::table! {
    /// A row of table `AutoAttach`.
    AutoAttach "AutoAttach" {
        mappings "mappings": BTreeMap<i64, i64>,
        system_description "system_description": String,
        system_name "system_name": String,
    }
}

ovsdb_client::table! {
    /// A row of table `Bridge`.
    Bridge "Bridge" {
        auto_attach "auto_attach": Option<Ref<AutoAttach>>,
        controller "controller": BTreeSet<Ref<Controller>>,
        datapath_id "datapath_id": Option<String>,
        datapath_type "datapath_type": String,
        datapath_version "datapath_version": String,
        external_ids "external_ids": BTreeMap<String, String>,
        fail_mode "fail_mode": Option<BridgeFailMode>,
        flood_vlans "flood_vlans": BTreeSet<i64>,
        flow_tables "flow_tables": BTreeMap<i64, Ref<FlowTable>>,
        ipfix "ipfix": Option<Ref<Ipfix>>,
        mcast_snooping_enable "mcast_snooping_enable": bool,
        mirrors "mirrors": BTreeSet<Ref<Mirror>>,
        name "name": String,
        netflow "netflow": Option<Ref<NetFlow>>,
        other_config "other_config": BTreeMap<String, String>,
        ports "ports": BTreeSet<Ref<Port>>,
        protocols "protocols": BTreeSet<BridgeProtocols>,
        rstp_enable "rstp_enable": bool,
        rstp_status "rstp_status": BTreeMap<String, String>,
        sflow "sflow": Option<Ref<SFlow>>,
        status "status": BTreeMap<String, String>,
        stp_enable "stp_enable": bool,
    }
}

ovsdb_client::table! {
    /// A row of table `CT_Timeout_Policy`.
    CtTimeoutPolicy "CT_Timeout_Policy" {
        external_ids "external_ids": BTreeMap<String, String>,
        timeouts "timeouts": BTreeMap<CtTimeoutPolicyTimeouts, i64>,
    }
}

ovsdb_client::table! {
    /// A row of table `CT_Zone`.
    CtZone "CT_Zone" {
        external_ids "external_ids": BTreeMap<String, String>,
        timeout_policy "timeout_policy": Option<Ref<CtTimeoutPolicy>>,
    }
}

ovsdb_client::table! {
    /// A row of table `Controller`.
    Controller "Controller" {
        connection_mode "connection_mode": Option<ControllerConnectionMode>,
        controller_burst_limit "controller_burst_limit": Option<i64>,
        controller_queue_size "controller_queue_size": Option<i64>,
        controller_rate_limit "controller_rate_limit": Option<i64>,
        enable_async_messages "enable_async_messages": Option<bool>,
        external_ids "external_ids": BTreeMap<String, String>,
        inactivity_probe "inactivity_probe": Option<i64>,
        is_connected "is_connected": bool,
        local_gateway "local_gateway": Option<String>,
        local_ip "local_ip": Option<String>,
        local_netmask "local_netmask": Option<String>,
        max_backoff "max_backoff": Option<i64>,
        other_config "other_config": BTreeMap<String, String>,
        role "role": Option<ControllerRole>,
        status "status": BTreeMap<String, String>,
        target "target": String,
        type_ "type": Option<ControllerType>,
    }
}

ovsdb_client::table! {
    /// A row of table `Datapath`.
    Datapath "Datapath" {
        capabilities "capabilities": BTreeMap<String, String>,
        ct_zones "ct_zones": BTreeMap<i64, Ref<CtZone>>,
        datapath_version "datapath_version": String,
        external_ids "external_ids": BTreeMap<String, String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Flow_Sample_Collector_Set`.
    FlowSampleCollectorSet "Flow_Sample_Collector_Set" {
        bridge "bridge": Ref<Bridge>,
        external_ids "external_ids": BTreeMap<String, String>,
        id "id": i64,
        ipfix "ipfix": Option<Ref<Ipfix>>,
    }
}

ovsdb_client::table! {
    /// A row of table `Flow_Table`.
    FlowTable "Flow_Table" {
        external_ids "external_ids": BTreeMap<String, String>,
        flow_limit "flow_limit": Option<i64>,
        groups "groups": BTreeSet<String>,
        name "name": Option<String>,
        overflow_policy "overflow_policy": Option<FlowTableOverflowPolicy>,
        prefixes "prefixes": BTreeSet<String>,
    }
}

ovsdb_client::table! {
    /// A row of table `IPFIX`.
    Ipfix "IPFIX" {
        cache_active_timeout "cache_active_timeout": Option<i64>,
        cache_max_flows "cache_max_flows": Option<i64>,
        external_ids "external_ids": BTreeMap<String, String>,
        obs_domain_id "obs_domain_id": Option<i64>,
        obs_point_id "obs_point_id": Option<i64>,
        other_config "other_config": BTreeMap<String, String>,
        sampling "sampling": Option<i64>,
        targets "targets": BTreeSet<String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Interface`.
    Interface "Interface" {
        admin_state "admin_state": Option<InterfaceAdminState>,
        bfd "bfd": BTreeMap<String, String>,
        bfd_status "bfd_status": BTreeMap<String, String>,
        cfm_fault "cfm_fault": Option<bool>,
        cfm_fault_status "cfm_fault_status": BTreeSet<String>,
        cfm_flap_count "cfm_flap_count": Option<i64>,
        cfm_health "cfm_health": Option<i64>,
        cfm_mpid "cfm_mpid": Option<i64>,
        cfm_remote_mpids "cfm_remote_mpids": BTreeSet<i64>,
        cfm_remote_opstate "cfm_remote_opstate": Option<InterfaceCfmRemoteOpstate>,
        duplex "duplex": Option<InterfaceDuplex>,
        error "error": Option<String>,
        external_ids "external_ids": BTreeMap<String, String>,
        ifindex "ifindex": Option<i64>,
        ingress_policing_burst "ingress_policing_burst": i64,
        ingress_policing_kpkts_burst "ingress_policing_kpkts_burst": i64,
        ingress_policing_kpkts_rate "ingress_policing_kpkts_rate": i64,
        ingress_policing_rate "ingress_policing_rate": i64,
        lacp_current "lacp_current": Option<bool>,
        link_resets "link_resets": Option<i64>,
        link_speed "link_speed": Option<i64>,
        link_state "link_state": Option<InterfaceLinkState>,
        lldp "lldp": BTreeMap<String, String>,
        mac "mac": Option<String>,
        mac_in_use "mac_in_use": Option<String>,
        mtu "mtu": Option<i64>,
        mtu_request "mtu_request": Option<i64>,
        name "name": String,
        ofport "ofport": Option<i64>,
        ofport_request "ofport_request": Option<i64>,
        options "options": BTreeMap<String, String>,
        other_config "other_config": BTreeMap<String, String>,
        statistics "statistics": BTreeMap<String, i64>,
        status "status": BTreeMap<String, String>,
        type_ "type": String,
    }
}

ovsdb_client::table! {
    /// A row of table `Manager`.
    Manager "Manager" {
        connection_mode "connection_mode": Option<ManagerConnectionMode>,
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
    /// A row of table `Mirror`.
    Mirror "Mirror" {
        external_ids "external_ids": BTreeMap<String, String>,
        name "name": String,
        output_port "output_port": Option<Ref<Port>>,
        output_vlan "output_vlan": Option<i64>,
        select_all "select_all": bool,
        select_dst_port "select_dst_port": BTreeSet<Ref<Port>>,
        select_src_port "select_src_port": BTreeSet<Ref<Port>>,
        select_vlan "select_vlan": BTreeSet<i64>,
        snaplen "snaplen": Option<i64>,
        statistics "statistics": BTreeMap<String, i64>,
    }
}

ovsdb_client::table! {
    /// A row of table `NetFlow`.
    NetFlow "NetFlow" {
        active_timeout "active_timeout": i64,
        add_id_to_interface "add_id_to_interface": bool,
        engine_id "engine_id": Option<i64>,
        engine_type "engine_type": Option<i64>,
        external_ids "external_ids": BTreeMap<String, String>,
        targets "targets": BTreeSet<String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Open_vSwitch`.
    OpenVSwitch "Open_vSwitch" {
        bridges "bridges": BTreeSet<Ref<Bridge>>,
        cur_cfg "cur_cfg": i64,
        datapath_types "datapath_types": BTreeSet<String>,
        datapaths "datapaths": BTreeMap<String, Ref<Datapath>>,
        db_version "db_version": Option<String>,
        dpdk_initialized "dpdk_initialized": bool,
        dpdk_version "dpdk_version": Option<String>,
        external_ids "external_ids": BTreeMap<String, String>,
        iface_types "iface_types": BTreeSet<String>,
        manager_options "manager_options": BTreeSet<Ref<Manager>>,
        next_cfg "next_cfg": i64,
        other_config "other_config": BTreeMap<String, String>,
        ovs_version "ovs_version": Option<String>,
        ssl "ssl": Option<Ref<Ssl>>,
        statistics "statistics": BTreeMap<String, String>,
        system_type "system_type": Option<String>,
        system_version "system_version": Option<String>,
    }
}

ovsdb_client::table! {
    /// A row of table `Port`.
    Port "Port" {
        bond_active_slave "bond_active_slave": Option<String>,
        bond_downdelay "bond_downdelay": i64,
        bond_fake_iface "bond_fake_iface": bool,
        bond_mode "bond_mode": Option<PortBondMode>,
        bond_updelay "bond_updelay": i64,
        cvlans "cvlans": BTreeSet<i64>,
        external_ids "external_ids": BTreeMap<String, String>,
        fake_bridge "fake_bridge": bool,
        interfaces "interfaces": BTreeSet<Ref<Interface>>,
        lacp "lacp": Option<PortLacp>,
        mac "mac": Option<String>,
        name "name": String,
        other_config "other_config": BTreeMap<String, String>,
        protected "protected": bool,
        qos "qos": Option<Ref<QoS>>,
        rstp_statistics "rstp_statistics": BTreeMap<String, i64>,
        rstp_status "rstp_status": BTreeMap<String, String>,
        statistics "statistics": BTreeMap<String, i64>,
        status "status": BTreeMap<String, String>,
        tag "tag": Option<i64>,
        trunks "trunks": BTreeSet<i64>,
        vlan_mode "vlan_mode": Option<PortVlanMode>,
    }
}

ovsdb_client::table! {
    /// A row of table `QoS`.
    QoS "QoS" {
        external_ids "external_ids": BTreeMap<String, String>,
        other_config "other_config": BTreeMap<String, String>,
        queues "queues": BTreeMap<i64, Ref<Queue>>,
        type_ "type": String,
    }
}

ovsdb_client::table! {
    /// A row of table `Queue`.
    Queue "Queue" {
        dscp "dscp": Option<i64>,
        external_ids "external_ids": BTreeMap<String, String>,
        other_config "other_config": BTreeMap<String, String>,
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
    }
}

ovsdb_client::table! {
    /// A row of table `sFlow`.
    SFlow "sFlow" {
        agent "agent": Option<String>,
        external_ids "external_ids": BTreeMap<String, String>,
        header "header": Option<i64>,
        polling "polling": Option<i64>,
        sampling "sampling": Option<i64>,
        targets "targets": BTreeSet<String>,
    }
}

impl Bridge {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl FlowSampleCollectorSet {
    /// The row with this `id`, `bridge` (a unique index of the schema).
    pub fn by_id_bridge(r: &Replica, id: i64, bridge: Ref<Bridge>) -> Option<Self> {
        r.lookup(&[("id", ColumnValue::to_datum(&id)), ("bridge", ColumnValue::to_datum(&bridge))])
    }
}

impl Interface {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}

impl Manager {
    /// The row with this `target` (a unique index of the schema).
    pub fn by_target(r: &Replica, target: &str) -> Option<Self> {
        r.lookup(&[("target", Datum::scalar(Atom::string(target)))])
    }
}

impl Port {
    /// The row with this `name` (a unique index of the schema).
    pub fn by_name(r: &Replica, name: &str) -> Option<Self> {
        r.lookup(&[("name", Datum::scalar(Atom::string(name)))])
    }
}
