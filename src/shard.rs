//! `--shard K/N`: a deterministic split of one input across N scans.
//!
//! Every shard reads the whole input and screens every line (so ranks and
//! duplicate detection are those of a single run), then keeps the rows whose
//! `domain` cell hashes to it. The hash is 64-bit FNV-1a of the cell's bytes:
//! fixed, seedless and the same on every machine and build (unlike std's
//! `RandomState`). Because a duplicate carries the normalised domain of its
//! first occurrence, both land in the same shard; an invalid line hashes by the
//! line as read, so it too appears in exactly one shard.

use std::fmt;
use std::str::FromStr;

/// One part of a split input: `index` of `count`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// 1 ..= count.
    pub index: u32,
    /// Number of shards, at least 1.
    pub count: u32,
}

/// 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The 1-based shard of a row whose `domain` cell is `domain`, among `count`.
pub fn shard_of(domain: &str, count: u32) -> u32 {
    (fnv1a64(domain.as_bytes()) % u64::from(count.max(1))) as u32 + 1
}

impl Shard {
    /// Whether the row with this `domain` cell belongs to this shard.
    pub fn contains(&self, domain: &str) -> bool {
        shard_of(domain, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected K/N, e.g. 1/4"))?;
        let index: u32 = k
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: K is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: N is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("{s:?}: need 1 <= K <= N"));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn every_domain_is_in_exactly_one_shard() {
        for d in ["example.com", "a.b", "", "not a domain"] {
            let owners: Vec<u32> = (1..=5)
                .filter(|&k| Shard { index: k, count: 5 }.contains(d))
                .collect();
            assert_eq!(owners.len(), 1, "{d}: {owners:?}");
        }
    }

    #[test]
    fn shards_parse_one_based_and_refuse_nonsense() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "1", "a/b"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
