//! FNV-1a hashing: the feature-hashing function of the model (it must never change for a shipped
//! model, so it is written out here rather than borrowed from a crate) and a fast hasher for the
//! lexicon's in-process maps, whose keys no untrusted party chooses.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0100_0000_01b3;

/// An incremental FNV-1a state, started in a namespace so equal strings of different feature
/// families (a word and a character n-gram) land in different buckets.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Fnv {
    pub fn new(namespace: u8) -> Fnv {
        Fnv((OFFSET ^ u64::from(namespace)).wrapping_mul(PRIME))
    }

    pub fn bytes(mut self, bytes: &[u8]) -> Fnv {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(PRIME);
        }
        self
    }

    pub fn char(self, c: char) -> Fnv {
        let mut buf = [0; 4];
        self.bytes(c.encode_utf8(&mut buf).as_bytes())
    }

    /// The bucket of `2^bits`: FNV's low bits are weak, so mix before taking the high bits.
    pub fn bucket(self, bits: u32) -> u32 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        (h >> (64 - bits)) as u32
    }

    pub fn value(self) -> u64 {
        self.0
    }
}

/// FNV as a [`std::hash::Hasher`] for short string keys.
#[derive(Default, Clone, Copy)]
pub struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let start = if self.0 == 0 { OFFSET } else { self.0 };
        self.0 = Fnv(start).bytes(bytes).0;
    }
}

pub type FastHash = std::hash::BuildHasherDefault<FnvHasher>;
