//! Type OIDs resolved to `PgType`s: the built-in types by OID, the others through their
//! catalog entry (arrays, enums, domains, extension types known by name), as Debezium 3.6.3's
//! TypeRegistry and value converter tell them apart.

use super::{Opaque, PgType};

/// What the catalog says about a type OID that is not built in.
#[derive(Clone, Debug, Default)]
pub struct TypeEntry {
    pub name: String,
    /// `typtype`: b base, e enum, d domain, c composite, r range.
    pub kind: char,
    pub elem: u32,
    pub base: u32,
    pub base_typmod: i32,
    pub enum_labels: Vec<String>,
}

pub const OID_BOOL: u32 = 16;
pub const OID_BYTEA: u32 = 17;
pub const OID_INT8: u32 = 20;
pub const OID_INT2: u32 = 21;
pub const OID_INT4: u32 = 23;
pub const OID_TEXT: u32 = 25;
pub const OID_JSON: u32 = 114;
pub const OID_XML: u32 = 142;
pub const OID_FLOAT4: u32 = 700;
pub const OID_FLOAT8: u32 = 701;
pub const OID_MONEY: u32 = 790;
pub const OID_DATE: u32 = 1082;
pub const OID_TIME: u32 = 1083;
pub const OID_TIMESTAMP: u32 = 1114;
pub const OID_TIMESTAMPTZ: u32 = 1184;
pub const OID_INTERVAL: u32 = 1186;
pub const OID_TIMETZ: u32 = 1266;
pub const OID_BIT: u32 = 1560;
pub const OID_VARBIT: u32 = 1562;
pub const OID_NUMERIC: u32 = 1700;
pub const OID_UUID: u32 = 2950;
pub const OID_JSONB: u32 = 3802;

/// PostgreSQL's name of a built-in type (`pg_type.typname`).
pub fn builtin_name(oid: u32) -> Option<&'static str> {
    Some(match oid {
        16 => "bool",
        17 => "bytea",
        18 => "char",
        19 => "name",
        20 => "int8",
        21 => "int2",
        23 => "int4",
        25 => "text",
        26 => "oid",
        114 => "json",
        142 => "xml",
        650 => "cidr",
        700 => "float4",
        701 => "float8",
        774 => "macaddr8",
        790 => "money",
        829 => "macaddr",
        869 => "inet",
        1042 => "bpchar",
        1043 => "varchar",
        1082 => "date",
        1083 => "time",
        1114 => "timestamp",
        1184 => "timestamptz",
        1186 => "interval",
        1266 => "timetz",
        600 => "point",
        601 => "lseg",
        602 => "path",
        603 => "box",
        604 => "polygon",
        628 => "line",
        718 => "circle",
        3614 => "tsvector",
        3904 => "int4range",
        3906 => "numrange",
        3908 => "tsrange",
        3910 => "tstzrange",
        3912 => "daterange",
        3926 => "int8range",
        1560 => "bit",
        1562 => "varbit",
        1700 => "numeric",
        2950 => "uuid",
        3802 => "jsonb",
        _ => return None,
    })
}

/// Resolves a built-in type by OID; `None` means the catalog must be asked (`lookup`).
pub fn builtin(oid: u32, typmod: i32) -> Option<PgType> {
    let precision = |default: i32| if typmod < 0 { default } else { typmod };
    Some(match oid {
        OID_BOOL => PgType::Bool,
        OID_INT2 => PgType::Int2,
        OID_INT4 => PgType::Int4,
        // oid as Debezium writes it: int64.
        OID_INT8 | 26 => PgType::Int8,
        OID_FLOAT4 => PgType::Float4,
        OID_FLOAT8 => PgType::Float8,
        OID_NUMERIC => {
            if typmod < 4 {
                PgType::NumericVar
            } else {
                let m = typmod - 4;
                PgType::Numeric {
                    precision: (m >> 16) & 0xffff,
                    scale: m & 0xffff,
                }
            }
        }
        OID_MONEY => PgType::Money,
        OID_TEXT | 18 | 19 | 1042 | 1043 | 869 | 650 | 829 | 774 => PgType::Text,
        OID_BYTEA => PgType::Bytea,
        OID_DATE => PgType::Date,
        OID_TIME => PgType::Time {
            millis: precision(6) <= 3,
        },
        OID_TIMETZ => PgType::TimeTz,
        OID_TIMESTAMP => PgType::Timestamp {
            millis: precision(6) <= 3,
        },
        OID_TIMESTAMPTZ if (1..=5).contains(&typmod) => PgType::TimestampTzDigits(typmod as u8),
        OID_TIMESTAMPTZ => PgType::TimestampTz,
        OID_INTERVAL => PgType::Interval,
        OID_UUID => PgType::Uuid,
        OID_JSON | OID_JSONB => PgType::Json,
        OID_XML => PgType::Xml,
        600 => PgType::Point,
        603 => PgType::Unknown(Opaque::Box),
        601 | 602 | 604 | 628 | 718 => PgType::Unknown(Opaque::Geometric),
        3614 => PgType::Tsvector,
        3904 | 3906 | 3908 | 3910 | 3912 | 3926 => PgType::TextNoDefault,
        OID_BIT if typmod == 1 => PgType::Bit1,
        // varbit without a length: Debezium's schema says length 2147483647.
        OID_BIT | OID_VARBIT => PgType::Bits {
            length: if typmod < 0 { i32::MAX } else { typmod },
        },
        _ => return None,
    })
}

/// Array element types whose arrays Debezium 3.6.3 has no schema for (DBZ-459): money, name,
/// xml, point, interval, varbit, refcursor.
const UNSUPPORTED_ARRAY_ELEMENTS: [u32; 7] = [790, 19, 142, 600, 1186, 1562, 1790];

/// Resolves any type, asking `lookup` for catalog entries of non-built-in OIDs (arrays, enums,
/// domains, extension types known by name). What Debezium has no converter for is `Unknown`.
pub fn resolve(oid: u32, typmod: i32, lookup: &mut dyn FnMut(u32) -> Option<TypeEntry>) -> PgType {
    if let Some(t) = builtin(oid, typmod) {
        return t;
    }
    let Some(entry) = lookup(oid) else {
        return PgType::Unknown(Opaque::Text);
    };
    match entry.kind {
        'e' => PgType::Enum {
            allowed: entry.enum_labels.join(","),
        },
        'd' if entry.base != 0 => {
            let tm = if entry.base_typmod >= 0 {
                entry.base_typmod
            } else {
                typmod
            };
            resolve(entry.base, tm, lookup)
        }
        _ if entry.elem != 0 && entry.name.starts_with('_') => {
            if UNSUPPORTED_ARRAY_ELEMENTS.contains(&entry.elem) {
                return PgType::Unsupported;
            }
            // Debezium finds no converter for an array of a domain (its element's type id is
            // the domain's): such arrays are unknown.
            let elem = match lookup(entry.elem) {
                Some(e) if e.kind == 'd' => PgType::Unknown(Opaque::Text),
                _ => resolve(entry.elem, typmod, lookup),
            };
            match elem {
                PgType::Unimplemented(name) => PgType::Unimplemented(name),
                PgType::Unsupported => PgType::Unsupported,
                elem => PgType::Array(Box::new(elem)),
            }
        }
        'b' => match entry.name.as_str() {
            "hstore" => PgType::Hstore { map: false },
            "citext" | "isbn" => PgType::TextNoDefault,
            "ltree" => PgType::Ltree,
            "geometry" => PgType::Postgis {
                geography: false,
                not_null: false,
            },
            "geography" => PgType::Postgis {
                geography: true,
                not_null: false,
            },
            "vector" | "halfvec" | "sparsevec" => PgType::Unimplemented(entry.name),
            _ => PgType::Unknown(Opaque::Text),
        },
        _ => PgType::Unknown(Opaque::Text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, kind: char, elem: u32, base: u32) -> TypeEntry {
        TypeEntry {
            name: name.into(),
            kind,
            elem,
            base,
            base_typmod: -1,
            enum_labels: Vec::new(),
        }
    }

    /// A catalog of a few extension types, a domain over int and arrays of them.
    fn lookup(oid: u32) -> Option<TypeEntry> {
        Some(match oid {
            100_001 => entry("citext", 'b', 0, 0),
            100_002 => entry("_citext", 'b', 100_001, 0),
            100_003 => entry("dint", 'd', 0, OID_INT4),
            100_004 => entry("_dint", 'b', 100_003, 0),
            100_005 => entry("vector", 'b', 0, 0),
            100_006 => entry("cube", 'b', 0, 0),
            100_007 => entry("int4multirange", 'm', 0, 0),
            100_008 => entry("_money", 'b', OID_MONEY, 0),
            100_009 => entry("geometry", 'b', 0, 0),
            100_010 => entry("_geometry", 'b', 100_009, 0),
            100_011 => entry("ltree", 'b', 0, 0),
            _ => return None,
        })
    }

    #[test]
    fn types_resolve_as_debezium_tells_them_apart() {
        let r = |oid| resolve(oid, -1, &mut lookup);
        assert_eq!(r(100_001), PgType::TextNoDefault);
        assert_eq!(r(100_002), PgType::Array(Box::new(PgType::TextNoDefault)));
        assert_eq!(r(100_003), PgType::Int4);
        // An array of a domain has no converter in Debezium.
        assert_eq!(
            r(100_004),
            PgType::Array(Box::new(PgType::Unknown(Opaque::Text)))
        );
        assert!(r(100_004).dropped());
        assert_eq!(r(100_005), PgType::Unimplemented("vector".into()));
        assert_eq!(r(100_006), PgType::Unknown(Opaque::Text));
        assert_eq!(r(100_007), PgType::Unknown(Opaque::Text));
        assert_eq!(r(100_008), PgType::Unsupported);
        assert_eq!(
            r(100_010),
            PgType::Array(Box::new(PgType::Postgis {
                geography: false,
                not_null: false
            }))
        );
        assert_eq!(r(100_011), PgType::Ltree);
        assert_eq!(r(600), PgType::Point);
        assert_eq!(r(603), PgType::Unknown(Opaque::Box));
        assert_eq!(r(3904), PgType::TextNoDefault);
        assert_eq!(r(26), PgType::Int8);
        assert_eq!(r(99_999), PgType::Unknown(Opaque::Text));
    }
}
