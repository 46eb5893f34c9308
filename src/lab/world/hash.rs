//! A stable hash of (seed, name): the world's only source of variety.
//!
//! FNV-1a (64-bit) over the seed's little-endian bytes and the name, then a
//! SplitMix64 stream for independent draws. Both are fixed algorithms with fixed
//! constants, so a world is the same on every platform, Rust version and run —
//! unlike `std`'s `RandomState`, which is keyed randomly per process.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a of the seed's 8 little-endian bytes followed by `name`.
pub fn name_hash(seed: u64, name: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    for b in seed.to_le_bytes().iter().chain(name) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// SplitMix64's finaliser: spreads FNV's weak low bits over the whole word.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic stream of 64-bit draws (SplitMix64) started from a name hash.
#[derive(Debug, Clone, Copy)]
pub struct Draws {
    state: u64,
}

impl Draws {
    pub fn new(seed: u64, name: &[u8]) -> Draws {
        Draws {
            state: name_hash(seed, name),
        }
    }

    /// The next draw.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }

    /// A draw in `0..n` (n > 0), by multiply-shift (no modulo bias worth noting at these sizes).
    pub fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }

    /// Picks a value by integer weights (a zero weight is never picked).
    pub fn pick<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let total: u32 = table.iter().map(|(_, w)| w).sum();
        let mut r = self.below(total);
        for (v, w) in table {
            if r < *w {
                return *v;
            }
            r -= w;
        }
        table[table.len() - 1].0
    }

    /// Picks uniformly among `values`.
    pub fn uniform<T: Copy>(&mut self, values: &[T]) -> T {
        values[self.below(values.len() as u32) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_depend_on_seed_and_name_only() {
        let first = Draws::new(1, b"example.com").next_u64();
        assert_eq!(first, Draws::new(1, b"example.com").next_u64());
        assert_ne!(first, Draws::new(2, b"example.com").next_u64());
        assert_ne!(first, Draws::new(1, b"example.org").next_u64());
    }

    #[test]
    fn pick_respects_zero_weights_and_reaches_every_positive_one() {
        let mut d = Draws::new(7, b"x");
        let mut seen = [0u32; 3];
        for _ in 0..3000 {
            seen[d.pick(&[(0usize, 1), (1, 0), (2, 2)])] += 1;
        }
        assert_eq!(seen[1], 0);
        assert!(seen[0] > 800 && seen[2] > 1600, "{seen:?}");
    }
}
