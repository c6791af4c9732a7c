//! 128-bit UUIDs, ordered as OVSDB orders them (which is the order of their
//! canonical text).

use std::fmt;

/// A UUID. Ordering is that of the canonical 36-character text form.
///
/// Kept as two halves, the high one first (so that the derived order is the
/// number's, which is the text's), not as a `u128`: that type's 16-byte
/// alignment would make every [`crate::Atom`] 32 bytes instead of 24, and
/// pad every (UUID, value) entry of the row maps.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Uuid {
    hi: u64,
    lo: u64,
}

impl std::hash::Hash for Uuid {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u128(self.as_u128());
    }
}

impl Uuid {
    /// The UUID whose 128 bits, read as a big-endian number, are `v`.
    pub const fn from_u128(v: u128) -> Uuid {
        Uuid { hi: (v >> 64) as u64, lo: v as u64 }
    }

    /// The 128 bits as a number (the text form is its hex digits).
    pub const fn as_u128(self) -> u128 {
        ((self.hi as u128) << 64) | self.lo as u128
    }

    /// The all-zero UUID.
    pub const fn nil() -> Uuid {
        Uuid::from_u128(0)
    }

    /// A random (version 4) UUID.
    ///
    /// Drawn from a per-thread xoshiro256** generator seeded once from the
    /// OS: a system call per row would dominate bulk inserts, and row UUIDs
    /// need to be unique, not secret.
    pub fn random() -> Uuid {
        let hi = next_random() as u128;
        let lo = next_random() as u128;
        let v = (hi << 64) | lo;
        // Version 4, RFC 4122 variant.
        let v = (v & !(0xf << 76)) | (0x4 << 76);
        let v = (v & !(0x3 << 62)) | (0x2 << 62);
        Uuid::from_u128(v)
    }

    /// Parses the canonical `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` form
    /// (hex digits of either case); nothing else is accepted.
    pub fn parse(s: &str) -> Option<Uuid> {
        let b = s.as_bytes();
        if b.len() != 36 {
            return None;
        }
        let mut v: u128 = 0;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return None;
                }
                continue;
            }
            let d = (c as char).to_digit(16)?;
            v = (v << 4) | d as u128;
        }
        Some(Uuid::from_u128(v))
    }

    /// True if `s` looks like a UUID (used to tell row names from UUIDs).
    pub fn is_uuid_text(s: &str) -> bool {
        Self::parse(s).is_some()
    }
}

impl Uuid {
    /// The canonical 36-character text form, as bytes.
    pub fn text(&self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut v = self.as_u128();
        // From the last digit back, skipping the dashes.
        let mut i = 36;
        while i > 0 {
            i -= 1;
            if matches!(i, 8 | 13 | 18 | 23) {
                continue;
            }
            out[i] = HEX[(v & 0xf) as usize];
            v >>= 4;
        }
        out
    }

    /// Appends the canonical 36-character text form to `out`.
    pub fn write_text(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.text());
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        // Hex digits and dashes: always ASCII.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

thread_local! {
    static RNG: std::cell::Cell<[u64; 4]> = std::cell::Cell::new(seed());
}

fn seed() -> [u64; 4] {
    let a = uuid::Uuid::new_v4().as_u128();
    let b = uuid::Uuid::new_v4().as_u128();
    let s = [a as u64, (a >> 64) as u64, b as u64, (b >> 64) as u64];
    if s == [0; 4] {
        [1, 2, 3, 4]
    } else {
        s
    }
}

fn next_random() -> u64 {
    RNG.with(|c| {
        let mut s = c.get();
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        c.set(s);
        result
    })
}

/// A hasher for UUID keys: UUIDs are random, so their low bits are already a hash.
#[derive(Default, Clone, Copy)]
pub struct UuidHasher(u64);

impl std::hash::Hasher for UuidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    fn write_u128(&mut self, i: u128) {
        // Fold both halves: UUIDs given by clients need not be random.
        let x = (i as u64) ^ ((i >> 64) as u64).rotate_left(29);
        self.0 = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.0;
    }
}

/// A `HashMap` keyed by UUID with the cheap hasher.
pub type UuidMap<V> = std::collections::HashMap<Uuid, V, std::hash::BuildHasherDefault<UuidHasher>>;
/// A `HashMap` for other keys (names, index keys made of client data):
/// foldhash, seeded per process, instead of SipHash, which cost a tenth of
/// a bulk load's instructions.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// A `HashSet` with the hasher of [`FastMap`].
pub type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
/// A `HashSet` of UUIDs with the cheap hasher.
pub type UuidSet = std::collections::HashSet<Uuid, std::hash::BuildHasherDefault<UuidHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_order() {
        let a = Uuid::parse("0123abcd-4567-89ab-cdef-0123456789ab").unwrap();
        assert_eq!(a.to_string(), "0123abcd-4567-89ab-cdef-0123456789ab");
        let b = Uuid::parse("0123ABCD-4567-89AB-CDEF-0123456789AC").unwrap();
        assert!(a < b);
        assert!(Uuid::parse("0123abcd-4567-89ab-cdef-0123456789a").is_none());
        assert!(Uuid::parse("0123abcd+4567-89ab-cdef-0123456789ab").is_none());
        assert!(Uuid::parse("0123abcg-4567-89ab-cdef-0123456789ab").is_none());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let r = Uuid::random();
            assert_eq!(Uuid::parse(&r.to_string()), Some(r));
            let mut text = Vec::new();
            r.write_text(&mut text);
            assert_eq!(text, r.to_string().as_bytes());
            assert_eq!(&r.to_string()[14..15], "4");
            assert!(seen.insert(r));
        }
    }

    #[test]
    fn order_is_the_text_order_across_the_two_halves() {
        // The halves differ in opposite directions: the high one decides.
        let a = Uuid::parse("00000000-0000-0001-0000-000000000000").unwrap();
        let b = Uuid::parse("00000000-0000-0000-ffff-ffffffffffff").unwrap();
        assert!(b < a);
        assert!(b.to_string() < a.to_string());
        assert_eq!(a.as_u128(), 1 << 64);
        assert_eq!(Uuid::from_u128(a.as_u128()), a);
        let mut v: Vec<Uuid> = (0..1000).map(|_| Uuid::random()).collect();
        v.sort();
        assert!(v.windows(2).all(|w| w[0].to_string() < w[1].to_string()));
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn atoms_and_datums_are_24_bytes() {
        // What the tables' memory is made of (see `Uuid` and `Datum`).
        assert_eq!(std::mem::size_of::<Uuid>(), 16);
        assert_eq!(std::mem::align_of::<Uuid>(), 8);
        assert_eq!(std::mem::size_of::<crate::Atom>(), 24);
        assert_eq!(std::mem::size_of::<crate::Datum>(), 24);
    }
}
