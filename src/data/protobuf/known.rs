//! The well-known files a schema may import without the registry holding them: Confluent's
//! serializer skips them as references (`skip.known.types=true`), so a reader must know them
//! itself. Only their messages matter here (names, numbers, types); the wrappers file is kept
//! as Confluent prints it, because a top-level primitive is registered as that whole file.

use std::sync::OnceLock;

use super::model::{File, Types};
use super::parse;

/// `google/protobuf/wrappers.proto` as `ProtobufSchema.canonicalString()` prints it from the
/// descriptor in protobuf-java 3.25 (what Confluent registers for a top-level primitive).
pub const WRAPPERS_TEXT: &str = "syntax = \"proto3\";\npackage google.protobuf;\n\noption java_package = \"com.google.protobuf\";\noption java_outer_classname = \"WrappersProto\";\noption java_multiple_files = true;\noption go_package = \"google.golang.org/protobuf/types/known/wrapperspb\";\noption cc_enable_arenas = true;\noption objc_class_prefix = \"GPB\";\noption csharp_namespace = \"Google.Protobuf.WellKnownTypes\";\n\nmessage DoubleValue {\n  double value = 1 [json_name = \"value\"];\n}\nmessage FloatValue {\n  float value = 1 [json_name = \"value\"];\n}\nmessage Int64Value {\n  int64 value = 1 [json_name = \"value\"];\n}\nmessage UInt64Value {\n  uint64 value = 1 [json_name = \"value\"];\n}\nmessage Int32Value {\n  int32 value = 1 [json_name = \"value\"];\n}\nmessage UInt32Value {\n  uint32 value = 1 [json_name = \"value\"];\n}\nmessage BoolValue {\n  bool value = 1 [json_name = \"value\"];\n}\nmessage StringValue {\n  string value = 1 [json_name = \"value\"];\n}\nmessage BytesValue {\n  bytes value = 1 [json_name = \"value\"];\n}\n";

pub const WRAPPERS: &str = "google/protobuf/wrappers.proto";
pub const TIMESTAMP: &str = "google/protobuf/timestamp.proto";
pub const DATE: &str = "google/type/date.proto";
pub const TIME_OF_DAY: &str = "google/type/timeofday.proto";
pub const DECIMAL: &str = "confluent/type/decimal.proto";
pub const META: &str = "confluent/meta.proto";

/// The messages of the other well-known files, written from their published field lists.
const OTHERS: &[(&str, &str)] = &[
    (TIMESTAMP, "syntax = \"proto3\"; package google.protobuf; message Timestamp { int64 seconds = 1; int32 nanos = 2; }"),
    ("google/protobuf/duration.proto", "syntax = \"proto3\"; package google.protobuf; message Duration { int64 seconds = 1; int32 nanos = 2; }"),
    ("google/protobuf/empty.proto", "syntax = \"proto3\"; package google.protobuf; message Empty { }"),
    ("google/protobuf/any.proto", "syntax = \"proto3\"; package google.protobuf; message Any { string type_url = 1; bytes value = 2; }"),
    ("google/protobuf/field_mask.proto", "syntax = \"proto3\"; package google.protobuf; message FieldMask { repeated string paths = 1; }"),
    (DATE, "syntax = \"proto3\"; package google.type; message Date { int32 year = 1; int32 month = 2; int32 day = 3; }"),
    (TIME_OF_DAY, "syntax = \"proto3\"; package google.type; message TimeOfDay { int32 hours = 1; int32 minutes = 2; int32 seconds = 3; int32 nanos = 4; }"),
    ("google/type/latlng.proto", "syntax = \"proto3\"; package google.type; message LatLng { double latitude = 1; double longitude = 2; }"),
    ("google/type/money.proto", "syntax = \"proto3\"; package google.type; message Money { string currency_code = 1; int64 units = 2; int32 nanos = 3; }"),
    ("google/type/fraction.proto", "syntax = \"proto3\"; package google.type; message Fraction { int64 numerator = 1; int64 denominator = 2; }"),
    ("google/type/dayofweek.proto", "syntax = \"proto3\"; package google.type; enum DayOfWeek { DAY_OF_WEEK_UNSPECIFIED = 0; MONDAY = 1; TUESDAY = 2; WEDNESDAY = 3; THURSDAY = 4; FRIDAY = 5; SATURDAY = 6; SUNDAY = 7; }"),
    ("google/type/month.proto", "syntax = \"proto3\"; package google.type; enum Month { MONTH_UNSPECIFIED = 0; JANUARY = 1; FEBRUARY = 2; MARCH = 3; APRIL = 4; MAY = 5; JUNE = 6; JULY = 7; AUGUST = 8; SEPTEMBER = 9; OCTOBER = 10; NOVEMBER = 11; DECEMBER = 12; }"),
    (DECIMAL, "syntax = \"proto3\"; package confluent.type; message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }"),
    (META, "syntax = \"proto3\"; package confluent; message Meta { string doc = 1; map<string, string> params = 2; }"),
];

/// A well-known file by its import path.
pub fn file(path: &str) -> Option<&'static File> {
    static FILES: OnceLock<Vec<(&'static str, File)>> = OnceLock::new();
    let files = FILES.get_or_init(|| {
        let mut all = vec![(
            WRAPPERS,
            parse::parse(WRAPPERS_TEXT).expect("wrappers parse"),
        )];
        for (p, t) in OTHERS {
            all.push((*p, parse::parse(t).expect("well-known file parses")));
        }
        let mut types = Types::default();
        for (_, f) in &all {
            types.add_file(f);
        }
        for (_, f) in &mut all {
            parse::resolve(f, &types).expect("well-known file resolves");
        }
        all
    });
    files.iter().find(|(p, _)| *p == path).map(|(_, f)| f)
}

/// Whether Confluent's serializer leaves this import out of the references.
pub fn is_known(path: &str) -> bool {
    path.starts_with("google/protobuf/")
        || path.starts_with("google/type/")
        || path == DECIMAL
        || path == META
}
