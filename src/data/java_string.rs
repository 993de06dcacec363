//! A value's Java `toString` form (`String.valueOf(value)`), which is what Connect's
//! FileStreamSink prints. Maps print in `java.util.HashMap` iteration order, since Connect's
//! converters and transforms build their maps as `HashMap`s: reproducing that order needs Java's
//! `hashCode` of the keys and HashMap's table size, both modelled exactly below.

use super::schema::{DATE_NAME, TIMESTAMP_NAME, TIME_NAME};
use super::{java_double_string, java_float_string, Schema, Value};

/// Appends `String.valueOf(v)` for a Connect value to `out`. The schema tells logical values
/// apart: a Timestamp, Date or Time is a `java.util.Date` in Connect, printed by
/// `Date.toString` (`Tue Nov 14 22:13:20 UTC 2023`) in UTC (the JVM's default time zone where
/// the reference worker ran; a worker in another zone prints its local time).
pub fn write_java_string(schema: Option<&Schema>, v: &Value, out: &mut Vec<u8>) {
    let logical = schema.and_then(|s| s.name.as_deref());
    match v {
        Value::Int64(ms) if logical == Some(TIMESTAMP_NAME) || logical == Some(TIME_NAME) => {
            out.extend_from_slice(java_date_string(*ms).as_bytes())
        }
        Value::Int32(n) if logical == Some(TIME_NAME) => {
            out.extend_from_slice(java_date_string(*n as i64).as_bytes())
        }
        Value::Int32(days) if logical == Some(DATE_NAME) => {
            out.extend_from_slice(java_date_string(*days as i64 * 86_400_000).as_bytes())
        }
        Value::Int64(ms) if logical == Some(DATE_NAME) => {
            out.extend_from_slice(java_date_string(*ms).as_bytes())
        }
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::JavaDate(ms) => out.extend_from_slice(java_date_string(*ms).as_bytes()),
        Value::Struct(st) => {
            out.extend_from_slice(b"Struct{");
            let mut first = true;
            for (name, value) in st.fields() {
                if value.is_null() {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(name.as_bytes());
                out.push(b'=');
                let field = st.schema.field(name).map(|f| &*f.schema);
                write_java_string(field, value, out);
            }
            out.push(b'}');
        }
        Value::Map(entries) => {
            out.push(b'{');
            let mut write_entry = |i: usize, (k, v): &(Value, Value)| {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_java_string(schema.and_then(|s| s.key_schema.as_deref()), k, out);
                out.push(b'=');
                write_java_string(schema.and_then(|s| s.value_schema.as_deref()), v, out);
            };
            match entries.java_order() {
                Some(order) => {
                    for (i, &e) in order.iter().enumerate() {
                        write_entry(i, &entries[e]);
                    }
                }
                None => {
                    for (i, e) in entries.iter().enumerate() {
                        write_entry(i, e);
                    }
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_java_string(schema.and_then(|s| s.value_schema.as_deref()), v, out);
            }
            out.push(b']');
        }
        Value::Float32(v) => out.extend_from_slice(java_float_string(*v).as_bytes()),
        Value::Float64(v) => out.extend_from_slice(java_double_string(*v).as_bytes()),
        other => out.extend_from_slice(other.to_display_string().as_bytes()),
    }
}

/// `java.util.Date.toString()` in UTC: `EEE MMM dd HH:mm:ss zzz yyyy`.
pub fn java_date_string(epoch_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = epoch_ms.div_euclid(86_400_000);
    let secs = epoch_ms.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        y
    )
}

/// `Values.convertToString` of a `java.util.Date` without a schema (SimpleHeaderConverter's
/// text): `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` in UTC.
pub fn iso_timestamp_string(epoch_ms: i64) -> String {
    let (y, m, d) = civil_from_days(epoch_ms.div_euclid(86_400_000));
    let ms = epoch_ms.rem_euclid(86_400_000);
    let secs = ms / 1000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms % 1000
    )
}

/// Year, month (1-12) and day of a day count since 1970-01-01: Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Java's `hashCode` of a map key, where Java's is determined by the value (not for byte
/// arrays, whose hash is their identity, nor for decimals and structs, which kconnect does not
/// model): `None` then.
pub fn java_hash_code(v: &Value) -> Option<i32> {
    Some(match v {
        Value::Null => 0,
        Value::Boolean(b) => {
            if *b {
                1231
            } else {
                1237
            }
        }
        Value::Int8(x) => i32::from(*x),
        Value::Int16(x) => i32::from(*x),
        Value::Int32(x) => *x,
        // Date.hashCode is its milliseconds' Long.hashCode.
        Value::Int64(x) | Value::JavaDate(x) => long_hash(*x as u64),
        // floatToIntBits / doubleToLongBits: every NaN hashes as the canonical one.
        Value::Float32(x) => {
            if x.is_nan() {
                0x7fc0_0000
            } else {
                x.to_bits() as i32
            }
        }
        Value::Float64(x) => long_hash(if x.is_nan() {
            0x7ff8_0000_0000_0000
        } else {
            x.to_bits()
        }),
        Value::String(s) => string_hash(s),
        // List.hashCode.
        Value::Array(items) => {
            let mut h: i32 = 1;
            for item in items {
                h = h.wrapping_mul(31).wrapping_add(java_hash_code(item)?);
            }
            h
        }
        // Map.hashCode: the sum of each entry's key hash XOR value hash.
        Value::Map(entries) => {
            let mut h: i32 = 0;
            for (k, v) in entries {
                h = h.wrapping_add(java_hash_code(k)? ^ java_hash_code(v)?);
            }
            h
        }
        Value::Bytes(_) | Value::Decimal(_) | Value::Struct(_) => return None,
    })
}

/// `Long.hashCode`.
fn long_hash(bits: u64) -> i32 {
    (bits ^ (bits >> 32)) as i32
}

/// `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, wrapping.
pub fn string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// HashMap's default capacity and the bin length at which it treeifies (or, below
/// `MIN_TREEIFY_CAPACITY`, resizes instead).
const INITIAL_CAPACITY: usize = 16;
const TREEIFY_THRESHOLD: u32 = 8;
const MIN_TREEIFY_CAPACITY: usize = 64;

/// The order a `new HashMap<>()` that had `entries` put into it in this order iterates them:
/// by bucket (the spread hash masked by the table size), and within a bucket in insertion
/// order (a resize splits a bucket keeping relative order). The table doubles when the size
/// exceeds 3/4 of it, and when a bucket reaches 9 entries while the table is under 64.
/// `None` when the order cannot be known (a key without a modelled hash) or does not matter.
/// Not modelled: a bucket of 9 or more colliding keys in a table of 64 or more becomes a tree,
/// whose later insertions iterate in tree order; insertion order is kept there.
pub fn hash_map_order(entries: &[(Value, Value)]) -> Option<Vec<usize>> {
    java_order_in_table(entries, INITIAL_CAPACITY)
}

/// The order of a `new HashMap<>(n)` for the `n` entries put into it (how Confluent's AvroData
/// builds the map it reads): its first table is the power of two at or above `n`.
pub fn sized_hash_map_order(entries: &[(Value, Value)]) -> Option<Vec<usize>> {
    java_order_in_table(entries, table_size_for(entries.len()))
}

/// `HashMap.tableSizeFor`: the power of two at or above `n`, 1 for 0: the first table of a
/// `new HashMap<>(n)`.
pub fn table_size_for(n: usize) -> usize {
    n.max(1).next_power_of_two()
}

/// The first table of `new HashMap<>(map)` for a map of `size` entries (`putMapEntries`:
/// `tableSizeFor((int) (size / 0.75f + 1))`; the default 16 for an empty one).
pub fn put_map_entries_capacity(size: usize) -> usize {
    if size == 0 {
        return INITIAL_CAPACITY;
    }
    table_size_for((size as f32 / 0.75f32 + 1.0f32) as usize)
}

/// `entries` moved into `order` (from one of the functions above); as they are for `None`.
pub fn in_order(entries: Vec<(Value, Value)>, order: Option<Vec<usize>>) -> Vec<(Value, Value)> {
    let Some(order) = order else {
        return entries;
    };
    let mut slots: Vec<Option<(Value, Value)>> = entries.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Puts `entries` in the order a HashMap whose first table had `initial` buckets iterates them,
/// having had them put in this order; left as they are when a key's hash is not modelled.
/// Up to 8 entries (no bucket can reach the 9 that resize a small table early) this is a stable
/// sort in place, allocating nothing: the common size of a record's map.
pub fn sort_in_java_order(entries: &mut Vec<(Value, Value)>, initial: usize) {
    if entries.len() < 2 {
        return;
    }
    if entries.len() > TREEIFY_THRESHOLD as usize {
        if let Some(order) = java_order_in_table(entries, initial) {
            *entries = in_order(std::mem::take(entries), Some(order));
        }
        return;
    }
    if entries.iter().any(|(k, _)| java_hash_code(k).is_none()) {
        return;
    }
    let mut capacity = initial;
    while entries.len() > capacity * 3 / 4 {
        capacity *= 2;
    }
    let mask = (capacity - 1) as u32;
    entries.sort_by_key(|(k, _)| spread(java_hash_code(k).unwrap_or(0)) & mask);
}

/// `HashMap.hash`: the high half folded into the low half.
fn spread(h: i32) -> u32 {
    (h ^ ((h as u32) >> 16) as i32) as u32
}

/// The order of a HashMap whose first table had `initial` buckets (a power of two) and that had
/// `entries` put into it in this order.
pub fn java_order_in_table(entries: &[(Value, Value)], initial: usize) -> Option<Vec<usize>> {
    if entries.len() < 2 {
        return None;
    }
    let mut hashes = Vec::with_capacity(entries.len());
    for (k, _) in entries {
        hashes.push(spread(java_hash_code(k)?));
    }
    let capacity = table_size(&hashes, initial);
    let mask = (capacity - 1) as u32;
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| hashes[i] & mask);
    Some(order)
}

/// The table size after inserting `hashes` one by one into a new HashMap, following
/// `putVal`: a bin that reaches 9 nodes calls `treeifyBin`, which resizes a table under 64;
/// then the size is checked against the threshold.
fn table_size(hashes: &[u32], initial: usize) -> usize {
    let mut capacity = initial;
    // The final size settles the threshold resizes; only collisions can add more.
    while hashes.len() > capacity * 3 / 4 {
        capacity *= 2;
    }
    if capacity >= MIN_TREEIFY_CAPACITY {
        return capacity;
    }
    // Small tables: replay the insertions in case a bin of 9 forces an early resize.
    let mut capacity = initial;
    let mut bins = vec![0u32; MIN_TREEIFY_CAPACITY];
    for (n, &h) in hashes.iter().enumerate() {
        let bin = (h as usize) & (capacity - 1);
        bins[bin] += 1;
        if bins[bin] > TREEIFY_THRESHOLD && capacity < MIN_TREEIFY_CAPACITY {
            capacity *= 2;
            recount(&mut bins, &hashes[..=n], capacity);
        }
        if n + 1 > capacity * 3 / 4 {
            capacity *= 2;
            recount(&mut bins, &hashes[..=n], capacity);
        }
        if capacity >= MIN_TREEIFY_CAPACITY {
            // Fewer than 25 entries never grow a 64-table further.
            break;
        }
    }
    capacity
}

fn recount(bins: &mut [u32], hashes: &[u32], capacity: usize) {
    bins.fill(0);
    for &h in hashes {
        bins[(h as usize) & (capacity - 1)] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_dates_print_as_java_util_date() {
        assert_eq!(
            java_date_string(1_700_000_000_123),
            "Tue Nov 14 22:13:20 UTC 2023"
        );
        assert_eq!(java_date_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date_string(-1000), "Wed Dec 31 23:59:59 UTC 1969");
        assert_eq!(
            java_date_string(951_825_600_000),
            "Tue Feb 29 12:00:00 UTC 2000"
        );
        let date = crate::data::Schema::builder(crate::data::SchemaType::Int32)
            .name(DATE_NAME)
            .build();
        let mut out = Vec::new();
        write_java_string(Some(&date), &Value::Int32(19675), &mut out);
        assert_eq!(out, b"Tue Nov 14 00:00:00 UTC 2023");
        out.clear();
        write_java_string(None, &Value::Int32(19675), &mut out);
        assert_eq!(out, b"19675");
    }

    fn map(keys: &[&str]) -> Value {
        Value::Map(
            keys.iter()
                .map(|k| (Value::from(*k), Value::Int32(1)))
                .collect(),
        )
    }

    fn keys_in_order(v: &Value) -> String {
        let mut out = Vec::new();
        write_java_string(None, v, &mut out);
        String::from_utf8(out).unwrap().replace("=1", "")
    }

    #[test]
    fn string_hash_codes_are_java_s() {
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("a"), 97);
        assert_eq!(string_hash("Aa"), string_hash("BB"));
        assert_eq!(string_hash("hello"), 99162322);
        // Outside the BMP: two UTF-16 units.
        assert_eq!(string_hash("\u{1F600}"), 0xD83D * 31 + 0xDE00);
        assert_eq!(java_hash_code(&Value::Int64(-1)), Some(0));
        assert_eq!(java_hash_code(&Value::Boolean(true)), Some(1231));
    }

    #[test]
    fn hash_map_order_is_the_reference_avro_converters() {
        let e: Vec<(Value, Value)> = ["one", "two", "three", "zzz", "Aa", "BB"]
            .iter()
            .map(|k| (Value::from(*k), Value::Null))
            .collect();
        let names: Vec<&str> = hash_map_order(&e)
            .unwrap()
            .into_iter()
            .map(|i| e[i].0.as_str().unwrap())
            .collect();
        // As Confluent's converter wrote them (tests/fixtures/avro/goldens.jsonl, "nested").
        assert_eq!(names, ["Aa", "BB", "one", "zzz", "two", "three"]);
    }

    #[test]
    fn maps_print_in_hash_map_order() {
        // Seen from the real worker (tests/fixtures/reference/same-bytes): `label`, `id` and
        // `tags_x` share a bucket, so their order is the insertion order.
        assert_eq!(
            keys_in_order(&map(&[
                "tags_x", "id", "t", "src", "price", "tags_y", "label"
            ])),
            "{t, src, price, tags_y, tags_x, id, label}"
        );
        assert_eq!(
            keys_in_order(&map(&[
                "t", "src", "price", "tags_y", "label", "id", "tags_x"
            ])),
            "{t, src, price, tags_y, label, id, tags_x}"
        );
        // Colliding keys keep insertion order within their bucket.
        assert_eq!(keys_in_order(&map(&["BB", "Aa"])), "{BB, Aa}");
        assert_eq!(keys_in_order(&map(&["Aa", "BB"])), "{Aa, BB}");
    }

    #[test]
    fn the_table_grows_past_three_quarters() {
        let spread = |n: usize| -> Vec<u32> { (0..n as u32).collect() };
        assert_eq!(table_size(&spread(12), INITIAL_CAPACITY), 16);
        assert_eq!(table_size(&spread(13), INITIAL_CAPACITY), 32);
        assert_eq!(table_size(&spread(24), INITIAL_CAPACITY), 32);
        assert_eq!(table_size(&spread(25), INITIAL_CAPACITY), 64);
        // Nine keys in one bin of a 16-table: treeifyBin resizes instead.
        let same_bin: Vec<u32> = (0..9).map(|i| i * 16 * 4).collect();
        assert_eq!(table_size(&same_bin, INITIAL_CAPACITY), 32);
    }
}
