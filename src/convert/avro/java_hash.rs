//! The order a `java.util.HashMap<String, _>` iterates in. AvroData copies a map with string
//! keys into a fresh HashMap before Avro writes it, so the entries reach the topic in hash
//! order, not in the order the connector produced them; kconnect writes them in that order too.

use crate::data::Value;

/// `String.hashCode()`: over UTF-16 code units.
pub fn java_string_hash(s: &str) -> i32 {
    let mut h: i32 = 0;
    let mut units = [0u16; 2];
    for c in s.chars() {
        for u in c.encode_utf16(&mut units).iter() {
            h = h.wrapping_mul(31).wrapping_add(*u as i32);
        }
    }
    h
}

/// Indices of `entries` in the iteration order of a default `new HashMap<>()` the entries were
/// put into in order: by bucket of the final table, entries of one bucket in insertion order.
/// (A bucket of eight or more colliding keys, which Java turns into a tree, is not modelled.)
pub fn hash_map_order(entries: &[(Value, Value)]) -> Vec<usize> {
    order(entries, 16).unwrap_or_else(|| (0..entries.len()).collect())
}

/// The order of `new HashMap<>(n)` filled with `entries` (how AvroData builds the Connect map
/// it reads), when every key is of a type whose Java hash kconnect knows; else None.
pub fn sized_hash_map_order(entries: &[(Value, Value)]) -> Option<Vec<usize>> {
    order(entries, entries.len().max(1).next_power_of_two())
}

/// `Object.hashCode()` of the Java object Connect holds for this value, where simple.
fn java_hash(v: &Value) -> Option<i32> {
    Some(match v {
        Value::String(s) => java_string_hash(s),
        Value::Int8(i) => *i as i32,
        Value::Int16(i) => *i as i32,
        Value::Int32(i) => *i,
        Value::Int64(i) => (*i ^ ((*i as u64) >> 32) as i64) as i32,
        Value::Boolean(b) => {
            if *b {
                1231
            } else {
                1237
            }
        }
        _ => return None,
    })
}

fn order(entries: &[(Value, Value)], initial: usize) -> Option<Vec<usize>> {
    let mut cap = initial;
    while entries.len() > cap * 3 / 4 {
        cap *= 2;
    }
    let mut idx = Vec::with_capacity(entries.len());
    for (i, (k, _)) in entries.iter().enumerate() {
        let h = java_hash(k)? as u32;
        let spread = h ^ (h >> 16);
        idx.push(((spread as usize) & (cap - 1), i));
    }
    idx.sort_by_key(|&(bucket, i)| (bucket, i));
    Some(idx.into_iter().map(|(_, i)| i).collect())
}

/// Puts map entries read from Avro in the order the JVM converter's Connect map has them.
pub fn reorder_as_read(entries: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    match sized_hash_map_order(&entries) {
        Some(order) if order.iter().enumerate().any(|(i, o)| i != *o) => {
            let mut slots: Vec<Option<(Value, Value)>> = entries.into_iter().map(Some).collect();
            order
                .into_iter()
                .map(|i| slots[i].take().expect("each once"))
                .collect()
        }
        _ => entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java() {
        assert_eq!(java_string_hash("Aa"), java_string_hash("BB"));
        assert_eq!(java_string_hash("hello"), 99162322);
        let e: Vec<(Value, Value)> = ["one", "two", "three", "zzz", "Aa", "BB"]
            .iter()
            .map(|k| (Value::from(*k), Value::Null))
            .collect();
        let names: Vec<&str> = hash_map_order(&e)
            .into_iter()
            .map(|i| e[i].0.as_str().unwrap())
            .collect();
        // As the reference converter wrote them (tests/fixtures/avro/goldens.jsonl, "nested").
        assert_eq!(names, ["Aa", "BB", "one", "zzz", "two", "three"]);
    }
}
