//! The leaves as Connect's Jackson spells them: strings escaped, floats as Java prints them
//! (non-finite ones quoted), bytes in base64.

use base64::Engine;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub(super) fn write_str(out: &mut Vec<u8>, s: &str) {
    // Most strings need no escaping; copying those whole is cheaper than serde_json's
    // byte-by-byte writer.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
    }
}

pub(super) fn write_float(out: &mut Vec<u8>, s: String) {
    // Jackson quotes non-finite numbers by default.
    if s.starts_with('N') || s.ends_with('y') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

pub(super) fn push_base64(out: &mut Vec<u8>, input: &[u8]) {
    let start = out.len();
    let len = base64::encoded_len(input.len(), true).expect("base64 length fits in usize");
    out.resize(start + len, 0);
    B64.encode_slice(input, &mut out[start..])
        .expect("buffer sized by encoded_len");
}
