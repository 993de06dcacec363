//! Protobuf's wire format: varints, zigzag, tags, and Confluent's message indexes.

use crate::data::DataError;

pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn tag(out: &mut Vec<u8>, number: i32, wire_type: u8) {
    varint(out, ((number as u64) << 3) | wire_type as u64);
}

pub fn zigzag32(v: i32) -> u64 {
    ((v << 1) ^ (v >> 31)) as u32 as u64
}

pub fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub fn len_delimited(out: &mut Vec<u8>, number: i32, body: &[u8]) {
    tag(out, number, 2);
    varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// Confluent's `MessageIndexes.toByteArray`: `[0]` (the first message) is the single byte 0,
/// anything else the count and the indexes, each a zigzag varint.
pub fn write_indexes(out: &mut Vec<u8>, indexes: &[i32]) {
    if indexes == [0] {
        out.push(0);
        return;
    }
    varint(out, zigzag32(indexes.len() as i32));
    for i in indexes {
        varint(out, zigzag32(*i));
    }
}

pub struct Reader<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

fn truncated() -> DataError {
    DataError::new("Protobuf data is truncated or corrupt")
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn varint(&mut self) -> Result<u64, DataError> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or_else(truncated)?;
            self.pos += 1;
            if shift < 64 {
                v |= ((b & 0x7f) as u64) << shift;
            }
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(DataError::new("Protobuf data has a malformed varint"))
    }

    pub fn fixed32(&mut self) -> Result<u32, DataError> {
        let b = self.bytes_n(4)?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    pub fn fixed64(&mut self) -> Result<u64, DataError> {
        let b = self.bytes_n(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn bytes_n(&mut self, n: usize) -> Result<&'a [u8], DataError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(truncated)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn len_delimited(&mut self) -> Result<&'a [u8], DataError> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| truncated())?;
        self.bytes_n(n)
    }

    /// Passes over the message indexes after the schema id, returning their bytes: a reader
    /// compares them with the last record's before parsing them.
    pub fn index_bytes(&mut self) -> Result<&'a [u8], DataError> {
        let start = self.pos;
        let n = unzigzag(self.varint()?);
        if !(0..=1024).contains(&n) {
            return Err(DataError::new(format!("Invalid message indexes count {n}")));
        }
        for _ in 0..n {
            self.varint()?;
        }
        Ok(&self.buf[start..self.pos])
    }

    /// Confluent's message indexes after the schema id.
    pub fn indexes(&mut self) -> Result<Vec<i32>, DataError> {
        let n = unzigzag(self.varint()?);
        if n == 0 {
            return Ok(vec![0]);
        }
        if !(0..=1024).contains(&n) {
            return Err(DataError::new(format!("Invalid message indexes count {n}")));
        }
        (0..n)
            .map(|_| Ok(unzigzag(self.varint()?) as i32))
            .collect()
    }

    /// Skips a value of the wire type (groups are not supported).
    pub fn skip(&mut self, wire_type: u8) -> Result<(), DataError> {
        match wire_type {
            0 => self.varint().map(|_| ()),
            1 => self.bytes_n(8).map(|_| ()),
            2 => self.len_delimited().map(|_| ()),
            5 => self.bytes_n(4).map(|_| ()),
            w => Err(DataError::new(format!(
                "Protobuf wire type {w} is not supported"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_round_trip() {
        for idx in [vec![0], vec![7], vec![0, 0], vec![1, 2, 3]] {
            let mut out = Vec::new();
            write_indexes(&mut out, &idx);
            assert_eq!(Reader::new(&out).indexes().unwrap(), idx);
        }
        let mut out = Vec::new();
        write_indexes(&mut out, &[7]);
        assert_eq!(out, [2, 14]);
        assert!(Reader::new(&[0x80]).varint().is_err());
        assert_eq!(unzigzag(zigzag64(-3)), -3);
        assert_eq!(zigzag32(-2), 3);
    }
}
