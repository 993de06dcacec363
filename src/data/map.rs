//! A schemaless map's entries, with the one thing about the Java map Connect would hold them in
//! that shows: its iteration order. FileStreamSink and StringConverter print a map with Java's
//! `toString`, so `{a=1, b=2}` and `{b=2, a=1}` are different bytes, and which one Connect
//! prints depends on the map class the converter or transform built: JsonConverter and
//! HoistField a `new HashMap<>()`, Flatten a `LinkedHashMap`, Cast, InsertField, MaskField,
//! HeaderFrom and TimestampConverter a copy `new HashMap<>(map)` whose table is sized from the
//! map copied, ReplaceField and ValueToKey a `new HashMap<>(n)`. The class is a tag beside
//! the entries (no allocation, no bigger a value): the order is worked out where the map is
//! printed, and where a transform copies or walks it.

use std::ops::{Deref, DerefMut};

use super::java_string::{
    java_order_in_table, put_map_entries_capacity, sort_in_java_order, table_size_for,
};
use super::Value;

/// Which Java map holds the entries, as far as its iteration order goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JavaMap {
    /// A `HashMap` whose first table had `1 << n` buckets, the entries put in the order they
    /// are here: it iterates them by bucket, then in that order.
    Hash(u8),
    /// Iterates in the order the entries are here: a `LinkedHashMap`, or entries already put
    /// in their Java order (the Avro converter, Debezium's hstore).
    Linked,
}

impl JavaMap {
    /// `new HashMap<>()`: 16 buckets.
    pub const DEFAULT: JavaMap = JavaMap::Hash(4);

    /// `new HashMap<>(n)`: the first table is the power of two at or above `n` (1 for 0).
    pub fn with_capacity(n: usize) -> JavaMap {
        JavaMap::Hash(table_size_for(n).trailing_zeros() as u8)
    }
}

#[derive(Clone, Debug)]
pub struct Map {
    /// In the order they were put into the Java map (see [`JavaMap`]).
    pub entries: Vec<(Value, Value)>,
    pub java: JavaMap,
}

/// Two maps are equal when their entries are, in the same order: the Java class is only
/// about how Connect would print them.
impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.entries == other.entries
    }
}

impl Map {
    pub fn new(entries: Vec<(Value, Value)>, java: JavaMap) -> Map {
        Map { entries, java }
    }

    /// Entries in iteration order, as a `LinkedHashMap` holds them.
    pub fn linked(entries: Vec<(Value, Value)>) -> Map {
        Map::new(entries, JavaMap::Linked)
    }

    /// The order Java iterates the entries in (indexes into `entries`); `None` when it is the
    /// order they are in, or cannot be known (a key whose Java hash is not modelled).
    pub fn java_order(&self) -> Option<Vec<usize>> {
        match self.java {
            JavaMap::Linked => None,
            JavaMap::Hash(bits) => java_order_in_table(&self.entries, 1usize << bits),
        }
    }

    /// `new HashMap<>(this)`: the entries are put into the copy in this map's iteration order,
    /// and its table is sized for them (`putMapEntries`: 8 buckets for 3 to 5 entries, not
    /// 16). What Cast, InsertField, MaskField, HeaderFrom and TimestampConverter do before
    /// changing a schemaless map. Costs hashes of the keys, in those transforms' schemaless
    /// path only; a map of up to 8 entries is sorted in place without allocating.
    pub fn copied(mut self) -> Map {
        self.put_in_java_order();
        let capacity = put_map_entries_capacity(self.entries.len());
        self.java = JavaMap::Hash(capacity.trailing_zeros() as u8);
        self
    }

    /// Puts the entries in their Java iteration order, for a transform that builds a new map
    /// by iterating this one (Flatten, ReplaceField).
    pub fn put_in_java_order(&mut self) {
        if let JavaMap::Hash(bits) = self.java {
            sort_in_java_order(&mut self.entries, 1usize << bits);
        }
        self.java = JavaMap::Linked;
    }

    pub fn into_entries(self) -> Vec<(Value, Value)> {
        self.entries
    }
}

impl Deref for Map {
    type Target = Vec<(Value, Value)>;
    fn deref(&self) -> &Self::Target {
        &self.entries
    }
}

impl DerefMut for Map {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.entries
    }
}

/// Entries put into a `new HashMap<>()` in this order: what JsonConverter reads.
impl From<Vec<(Value, Value)>> for Map {
    fn from(entries: Vec<(Value, Value)>) -> Map {
        Map::new(entries, JavaMap::DEFAULT)
    }
}

impl FromIterator<(Value, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (Value, Value)>>(iter: I) -> Map {
        Map::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl IntoIterator for Map {
    type Item = (Value, Value);
    type IntoIter = std::vec::IntoIter<(Value, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = &'a (Value, Value);
    type IntoIter = std::slice::Iter<'a, (Value, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl<'a> IntoIterator for &'a mut Map {
    type Item = &'a mut (Value, Value);
    type IntoIter = std::slice::IterMut<'a, (Value, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::java_string::write_java_string;

    fn map(keys: &[&str]) -> Map {
        keys.iter()
            .map(|k| (Value::from(*k), Value::Int32(1)))
            .collect()
    }

    fn text(m: &Map) -> String {
        let mut out = Vec::new();
        write_java_string(None, &Value::Map(m.clone()), &mut out);
        String::from_utf8(out).unwrap().replace("=1", "")
    }

    /// Tables and orders as Java 17's HashMap has them (read by reflection from a JVM).
    #[test]
    fn copies_are_sized_from_the_map_copied() {
        let sizes = [
            (1, 2),
            (2, 4),
            (3, 8),
            (5, 8),
            (6, 16),
            (12, 32),
            (13, 32),
            (24, 64),
        ];
        for (size, table) in sizes {
            assert_eq!(put_map_entries_capacity(size), table, "{size}");
        }
        assert_eq!(JavaMap::with_capacity(0), JavaMap::Hash(0));
        assert_eq!(JavaMap::with_capacity(5), JavaMap::Hash(3));

        let m = map(&["id", "name", "flag", "score", "epoch"]);
        assert_eq!(text(&m), "{score, flag, name, epoch, id}");
        let mut copy = m.clone().copied();
        assert_eq!(copy.java, JavaMap::Hash(3));
        assert_eq!(text(&copy), "{name, score, epoch, flag, id}");
        // Two puts more: 7 entries outgrow the 8-table (threshold 6).
        copy.push(("topic".into(), Value::Int32(1)));
        copy.push(("offset".into(), Value::Int32(1)));
        assert_eq!(text(&copy), "{score, flag, offset, name, topic, epoch, id}");
    }

    /// The in-place sort of small maps and the general ordering agree.
    #[test]
    fn small_maps_sort_in_place_as_the_general_order_says() {
        let keys = [
            "id", "name", "flag", "score", "epoch", "Aa", "BB", "when", "tags", "x",
        ];
        for n in 2..=keys.len() {
            for initial in [1, 2, 8, 16] {
                let m = map(&keys[..n]);
                let want = java_order_in_table(&m, initial)
                    .map(|o| o.into_iter().map(|i| m[i].0.clone()).collect::<Vec<_>>());
                let mut sorted = m.entries.clone();
                sort_in_java_order(&mut sorted, initial);
                let got: Vec<Value> = sorted.into_iter().map(|(k, _)| k).collect();
                assert_eq!(Some(got), want, "{n} keys, table {initial}");
            }
        }
    }

    #[test]
    fn linked_maps_print_in_their_order() {
        let m = Map::linked(map(&["id", "name", "flag"]).into_entries());
        assert_eq!(text(&m), "{id, name, flag}");
        let mut m = map(&["id", "name", "flag"]);
        m.put_in_java_order();
        assert_eq!(text(&m), "{flag, name, id}");
        // Equality is about the entries only.
        assert_eq!(m, map(&["flag", "name", "id"]));
    }
}

#[cfg(test)]
mod size {
    /// The tag fits beside the entries without making a value any bigger than a decimal.
    #[test]
    fn a_map_is_no_bigger_than_the_largest_value() {
        assert!(std::mem::size_of::<super::Map>() <= std::mem::size_of::<crate::data::Decimal>());
    }
}
