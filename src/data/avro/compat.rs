//! Avro schema resolution: whether data written with one schema can be read with another (the
//! rule behind `latest.compatibility.strict` and the registry's BACKWARD/FORWARD/FULL checks).

use super::schema::{Avro, Prim};

/// Ok when a reader with schema `reader` can read what `writer` wrote; else why not.
pub fn can_read(reader: &Avro, writer: &Avro) -> Result<(), String> {
    match (reader, writer) {
        (_, Avro::Union(ws)) => {
            for w in ws {
                can_read(reader, w)?;
            }
            Ok(())
        }
        (Avro::Union(rs), w) => {
            if rs.iter().any(|r| can_read(r, w).is_ok()) {
                Ok(())
            } else {
                Err(format!(
                    "reader union lacking writer type {}",
                    w.type_name()
                ))
            }
        }
        (Avro::Prim(r, _), Avro::Prim(w, _)) => {
            use Prim::*;
            let ok = r == w
                || matches!(
                    (w, r),
                    (Int, Long | Float | Double)
                        | (Long, Float | Double)
                        | (Float, Double)
                        | (String, Bytes)
                        | (Bytes, String)
                );
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "type mismatch: {} cannot read {}",
                    r.name(),
                    w.name()
                ))
            }
        }
        (
            Avro::Record {
                name: rn,
                fields: rf,
                ..
            },
            Avro::Record {
                name: wn,
                fields: wf,
                ..
            },
        ) => {
            if rn.name != wn.name {
                return Err(format!("name mismatch: {} and {}", rn.full(), wn.full()));
            }
            for f in rf {
                match wf.iter().find(|w| w.name == f.name) {
                    Some(w) => can_read(&f.schema, &w.schema)
                        .map_err(|e| format!("field {}: {e}", f.name))?,
                    None if f.default.is_some() => {}
                    None => {
                        return Err(format!(
                            "reader field {} has no default value and is missing from the writer",
                            f.name
                        ))
                    }
                }
            }
            Ok(())
        }
        (
            Avro::Enum {
                name: rn,
                symbols: rs,
                default,
                ..
            },
            Avro::Enum {
                name: wn,
                symbols: ws,
                ..
            },
        ) => {
            if rn.name != wn.name {
                return Err(format!("name mismatch: {} and {}", rn.full(), wn.full()));
            }
            if default.is_none() {
                if let Some(s) = ws.iter().find(|s| !rs.contains(s)) {
                    return Err(format!("reader enum lacks symbol {s}"));
                }
            }
            Ok(())
        }
        (
            Avro::Fixed {
                name: rn, size: rs, ..
            },
            Avro::Fixed {
                name: wn, size: ws, ..
            },
        ) => {
            if rn.name != wn.name || rs != ws {
                return Err(format!("fixed mismatch: {} and {}", rn.full(), wn.full()));
            }
            Ok(())
        }
        (Avro::Array(r, _), Avro::Array(w, _)) | (Avro::Map(r, _), Avro::Map(w, _)) => {
            can_read(r, w)
        }
        (r, w) => Err(format!(
            "type mismatch: {} cannot read {}",
            r.type_name(),
            w.type_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_added_with_a_default_is_backward_compatible() {
        let v1 =
            Avro::parse(r#"{"type":"record","name":"R","fields":[{"name":"id","type":"int"}]}"#)
                .unwrap();
        let v2 = Avro::parse(r#"{"type":"record","name":"R","fields":[{"name":"id","type":"int"},{"name":"e","type":["null","string"],"default":null}]}"#).unwrap();
        let v3 = Avro::parse(r#"{"type":"record","name":"R","fields":[{"name":"id","type":"int"},{"name":"e","type":"string"}]}"#).unwrap();
        assert!(can_read(&v2, &v1).is_ok());
        assert!(can_read(&v1, &v2).is_ok());
        assert!(can_read(&v3, &v1).is_err());
    }
}
