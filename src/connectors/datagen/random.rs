//! `java.util.Random`, the generator Confluent's Datagen draws from: its 48-bit state is what
//! the connector stores as `random.seed` after each record, so an offset written by either
//! implementation resumes the other's sequence where it stopped.

use std::convert::Infallible;

const MULTIPLIER: i64 = 0x5DEE_CE66D;
const ADDEND: i64 = 0xB;
const MASK: i64 = (1 << 48) - 1;

#[derive(Clone, Debug)]
pub struct JavaRandom {
    seed: i64,
}

impl JavaRandom {
    pub fn new(seed: i64) -> JavaRandom {
        let mut r = JavaRandom { seed: 0 };
        r.set_seed(seed);
        r
    }

    /// For a connector without `random.seed`: Java's `new Random()` is seeded from the clock.
    pub fn from_clock() -> JavaRandom {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        JavaRandom::new(nanos ^ 0x5DEE_CE66D ^ i64::from(std::process::id()).rotate_left(32))
    }

    pub fn set_seed(&mut self, seed: i64) {
        self.seed = (seed ^ MULTIPLIER) & MASK;
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = self.seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND) & MASK;
        (self.seed >> (48 - bits)) as i32
    }

    pub fn next_int(&mut self) -> i32 {
        self.next(32)
    }

    /// `nextInt(bound)`: uniform in `[0, bound)`, rejecting the values that would bias it.
    pub fn next_int_bounded(&mut self, bound: i32) -> i32 {
        assert!(bound > 0, "bound must be positive");
        if bound & bound.wrapping_neg() == bound {
            return ((i64::from(bound) * i64::from(self.next(31))) >> 31) as i32;
        }
        loop {
            let bits = self.next(31);
            let val = bits % bound;
            if bits.wrapping_sub(val).wrapping_add(bound - 1) >= 0 {
                return val;
            }
        }
    }

    pub fn next_long(&mut self) -> i64 {
        (i64::from(self.next(32)) << 32).wrapping_add(i64::from(self.next(32)))
    }

    pub fn next_boolean(&mut self) -> bool {
        self.next(1) != 0
    }

    pub fn next_float(&mut self) -> f32 {
        self.next(24) as f32 / (1 << 24) as f32
    }

    pub fn next_double(&mut self) -> f64 {
        let hi = i64::from(self.next(26)) << 27;
        (hi + i64::from(self.next(27))) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn next_bytes(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(4) {
            let mut rnd = self.next_int();
            for b in chunk {
                *b = rnd as u8;
                rnd >>= 8;
            }
        }
    }
}

/// So that `rand_regex` can draw the characters of a `regex` string from the same sequence.
impl rand_core::TryRng for JavaRandom {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.next_int() as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_long() as u64)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.next_bytes(dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by Java 17's `new Random(42)` and `new Random(-7)`.
    #[test]
    fn draws_what_java_util_random_draws() {
        let mut r = JavaRandom::new(42);
        assert_eq!(r.next_int(), -1170105035);
        assert_eq!(r.next_int_bounded(10), 3);
        assert_eq!(r.next_long(), -5843495416241995736);
        assert_eq!(r.next_double(), 0.30871945533265976);
        assert!(!r.next_boolean());
        assert_eq!(r.next_float(), 0.70771056);
        assert_eq!(r.next_int_bounded(1 << 20), 697878);
        let mut r = JavaRandom::new(-7);
        let mut b = [0u8; 7];
        r.next_bytes(&mut b);
        assert_eq!(b, [0x8c, 0x2a, 0xe5, 0x44, 0x83, 0x8b, 0xc8]);
    }
}
