//! Where a source record without a key (and without a partition of its own) goes: to one
//! partition until about a Java producer batch of bytes went there, then to another picked at
//! random, as the Java producer's built-in sticky partitioner (KIP-480, KIP-794) does for
//! Connect. librdkafka's own stickiness is by time (`sticky.partitioning.linger.ms`) and, while
//! a partition's leader is not yet connected, picks a new partition for every record, so a
//! small batch ended up spread over every partition, in another order than Connect's.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::client::{Client, ClientContext};
use rdkafka::config::ClientConfig;

/// The Java producer's default `batch.size`: the bytes after which its partitioner moves on.
pub const JAVA_BATCH_SIZE: u64 = 16384;
/// How long a topic's partition count is trusted (the Java producer's `metadata.max.age.ms`).
/// How soon a topic whose partitions were unknown is looked up again.
const UNKNOWN_RETRY: Duration = Duration::from_secs(1);
const METADATA_MAX_AGE: Duration = Duration::from_secs(300);
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the producer settings leave null-key placement to a sticky partitioner (the default
/// `murmur2_random`, or another `*_random` one); `partitioner=random` (what kconnect maps
/// `partitioner.ignore.keys` and round-robin classes to) and the key-only ones keep their own.
pub fn wants_sticky(config: &ClientConfig) -> bool {
    let partitioner = config.get("partitioner").unwrap_or("consistent_random");
    let linger_off = config.get("sticky.partitioning.linger.ms") == Some("0");
    !linger_off
        && matches!(
            partitioner,
            "murmur2_random" | "consistent_random" | "fnv1a_random"
        )
}

struct TopicState {
    partitions: i32,
    checked: Instant,
    current: i32,
    bytes: u64,
}

/// Per-topic sticky partition choice for records without a key.
pub struct StickyPartitioner {
    topics: Vec<(String, TopicState)>,
    /// Where each topic is in `topics`; the last one used is tried first, without a hash:
    /// a task's records mostly go to the topic of the record before.
    index: HashMap<String, usize>,
    last: usize,
    batch_size: u64,
    rng: u64,
}

impl StickyPartitioner {
    pub fn new(batch_size: u64) -> StickyPartitioner {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        StickyPartitioner {
            topics: Vec::new(),
            index: HashMap::new(),
            last: 0,
            batch_size: batch_size.max(1),
            rng: seed | 1,
        }
    }

    /// The partition for a keyless record of `bytes` bytes to `topic`, or `None` when the
    /// topic's partitions are unknown (librdkafka then places it). The partition count is
    /// looked up when the topic is first seen and again, once stale, at a partition switch.
    pub fn partition<C: ClientContext>(
        &mut self,
        client: &Client<C>,
        topic: &str,
        bytes: usize,
    ) -> Option<i32> {
        let found = match self.topics.get(self.last) {
            Some((name, _)) if name == topic => Some(self.last),
            _ => self.index.get(topic).copied(),
        };
        let look_up = match found.map(|i| &self.topics[i].1) {
            // A topic the broker did not know yet (auto-created by this very record) is asked
            // about again a second later, not left to librdkafka for good.
            Some(s) if s.partitions == 0 => s.checked.elapsed() > UNKNOWN_RETRY,
            Some(s) => s.bytes >= self.batch_size && s.checked.elapsed() > METADATA_MAX_AGE,
            None => true,
        };
        if look_up {
            // 0 when unknown: remembered too, so a failing look-up is not repeated per record.
            let partitions = partition_count(client, topic).unwrap_or(0);
            let state = TopicState {
                partitions,
                checked: Instant::now(),
                current: next_random(&mut self.rng, partitions),
                bytes: 0,
            };
            match found {
                Some(i) => self.topics[i].1 = state,
                None => {
                    self.index.insert(topic.to_string(), self.topics.len());
                    self.topics.push((topic.to_string(), state));
                }
            }
        }
        let i = found.unwrap_or(self.topics.len() - 1);
        self.last = i;
        let state = &mut self.topics[i].1;
        if state.partitions == 0 {
            return None;
        }
        Some(place(state, &mut self.rng, self.batch_size, bytes))
    }
}

/// The partition of the next record of `bytes` bytes: the current one until `batch_size`
/// bytes went to it, then a new random one.
fn place(state: &mut TopicState, rng: &mut u64, batch_size: u64, bytes: usize) -> i32 {
    if state.bytes >= batch_size {
        state.current = next_random(rng, state.partitions);
        state.bytes = 0;
    }
    state.bytes += bytes as u64;
    state.current
}

/// xorshift64*: placement needs spread, not secrecy.
fn next_random(state: &mut u64, partitions: i32) -> i32 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % partitions.max(1) as u64) as i32
}

fn partition_count<C: ClientContext>(client: &Client<C>, topic: &str) -> Option<i32> {
    let md = client.fetch_metadata(Some(topic), METADATA_TIMEOUT).ok()?;
    let t = md.topics().iter().find(|t| t.name() == topic)?;
    if t.error().is_some() || t.partitions().is_empty() {
        return None;
    }
    Some(t.partitions().len() as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sticky_partitioners_are_replaced() {
        let mut c = ClientConfig::new();
        assert!(wants_sticky(&c));
        c.set("partitioner", "murmur2_random");
        assert!(wants_sticky(&c));
        c.set("partitioner", "random");
        assert!(!wants_sticky(&c));
        c.set("partitioner", "murmur2");
        assert!(!wants_sticky(&c));
        c.set("partitioner", "murmur2_random");
        c.set("sticky.partitioning.linger.ms", "0");
        assert!(!wants_sticky(&c));
    }

    #[test]
    fn a_partition_takes_a_batch_of_bytes_before_the_next_is_picked() {
        let mut state = TopicState {
            partitions: 4,
            checked: Instant::now(),
            current: 2,
            bytes: 0,
        };
        let mut rng = 7u64;
        // Ten records of 10 bytes fill a 100-byte batch: all in the first partition.
        let first: Vec<i32> = (0..10)
            .map(|_| place(&mut state, &mut rng, 100, 10))
            .collect();
        assert_eq!(first, [2; 10]);
        // Then a new pick per batch: over many batches, more than one partition.
        let later: std::collections::BTreeSet<i32> = (0..1000)
            .map(|_| place(&mut state, &mut rng, 100, 10))
            .collect();
        assert!(later.len() > 1, "{later:?}");
        assert!(later.iter().all(|p| (0..4).contains(p)));
    }

    #[test]
    fn random_partitions_stay_in_range_and_vary() {
        let mut rng = 12345u64;
        let picks: std::collections::BTreeSet<i32> =
            (0..200).map(|_| next_random(&mut rng, 4)).collect();
        assert_eq!(picks, (0..4).collect());
    }
}
