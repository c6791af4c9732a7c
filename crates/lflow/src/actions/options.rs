//! Option tables for `put_dhcp_opts`, `put_dhcpv6_opts` and `put_nd_ra_opts`.
//!
//! The DHCP tables are the rows ovn-northd 23.03 writes to the southbound
//! `DHCP_Options` and `DHCPv6_Options` tables (name, code, type); the
//! `tests/actions_upstream.rs` test compares them with what the real
//! northd writes. The router advertisement options are ovn-sb(5)'s
//! `put_nd_ra_opts` list.

/// How an option's value is written and encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptType {
    /// One or more IPv4 addresses.
    Ipv4,
    /// 0 or 1.
    Bool,
    /// An 8-bit integer.
    Uint8,
    /// A 16-bit integer.
    Uint16,
    /// A 32-bit integer.
    Uint32,
    /// A string.
    Str,
    /// A host name (string) or an IPv4 address.
    HostId,
    /// A comma-separated list of domain names, as one string.
    Domains,
    /// `{prefix, router, prefix, router, ...}` (RFC 3442).
    StaticRoutes,
    /// An Ethernet address.
    Mac,
    /// One or more IPv6 addresses.
    Ipv6,
    /// An IPv6 prefix (`aef0::/64`).
    Ipv6Prefix,
}

impl OptType {
    /// The name used in the southbound `type` column.
    pub fn as_str(self) -> &'static str {
        match self {
            OptType::Ipv4 => "ipv4",
            OptType::Bool => "bool",
            OptType::Uint8 => "uint8",
            OptType::Uint16 => "uint16",
            OptType::Uint32 => "uint32",
            OptType::Str => "str",
            OptType::HostId => "host_id",
            OptType::Domains => "domains",
            OptType::StaticRoutes => "static_routes",
            OptType::Mac => "mac",
            OptType::Ipv6 => "ipv6",
            OptType::Ipv6Prefix => "ipv6_prefix",
        }
    }
}

/// One option: name, wire code, type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OptDef {
    /// The name used in actions: `router`.
    pub name: &'static str,
    /// The option code on the wire (`offerip`'s 0 is OVN's own).
    pub code: u16,
    /// Value type.
    pub ty: OptType,
}

const fn d(name: &'static str, code: u16, ty: OptType) -> OptDef {
    OptDef { name, code, ty }
}

use OptType::*;

/// DHCPv4 options (SB `DHCP_Options`).
pub const DHCP4: &[OptDef] = &[
    d("offerip", 0, Ipv4),
    d("netmask", 1, Ipv4),
    d("router", 3, Ipv4),
    d("dns_server", 6, Ipv4),
    d("log_server", 7, Ipv4),
    d("lpr_server", 9, Ipv4),
    d("hostname", 12, Str),
    d("domain_name", 15, Str),
    d("swap_server", 16, Ipv4),
    d("ip_forward_enable", 19, Bool),
    d("policy_filter", 21, Ipv4),
    d("default_ttl", 23, Uint8),
    d("mtu", 26, Uint16),
    d("broadcast_address", 28, Ipv4),
    d("router_discovery", 31, Bool),
    d("router_solicitation", 32, Ipv4),
    d("arp_cache_timeout", 35, Uint32),
    d("ethernet_encap", 36, Bool),
    d("tcp_ttl", 37, Uint8),
    d("tcp_keepalive_interval", 38, Uint32),
    d("nis_server", 41, Ipv4),
    d("ntp_server", 42, Ipv4),
    d("netbios_name_server", 44, Ipv4),
    d("netbios_node_type", 46, Uint8),
    d("lease_time", 51, Uint32),
    d("server_id", 54, Ipv4),
    d("T1", 58, Uint32),
    d("T2", 59, Uint32),
    d("tftp_server", 66, HostId),
    d("bootfile_name", 67, Str),
    d("domain_search_list", 119, Domains),
    d("classless_static_route", 121, StaticRoutes),
    d("tftp_server_address", 150, Ipv4),
    d("path_prefix", 210, Str),
    d("ms_classless_static_route", 249, StaticRoutes),
    d("wpad", 252, Str),
    d("next_server", 253, Ipv4),
    d("bootfile_name_alt", 254, Str),
];

/// DHCPv6 options (SB `DHCPv6_Options`).
pub const DHCP6: &[OptDef] = &[
    d("server_id", 2, Mac),
    d("ia_addr", 5, Ipv6),
    d("dns_server", 23, Ipv6),
    d("domain_search", 24, Str),
];

/// IPv6 router advertisement options (ovn-sb(5), `put_nd_ra_opts`); the
/// codes are RFC 4861/4191/8106 option types (0 for the non-option fields).
pub const ND_RA: &[OptDef] = &[
    d("addr_mode", 0, Str),
    d("slla", 1, Mac),
    d("prefix", 3, Ipv6Prefix),
    d("mtu", 5, Uint32),
    d("router_preference", 0, Str),
    d("route_info", 24, Str),
    d("rdnss", 25, Ipv6),
    d("dnssl", 31, Str),
];

/// Looks an option up by name in `table`.
pub fn find(table: &[OptDef], name: &str) -> Option<OptDef> {
    table.iter().find(|o| o.name == name).copied()
}
