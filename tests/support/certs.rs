//! Test certificates: a throwaway CA and the server and client certificates it signs, made
//! with the openssl command line so the files are what a user would make; and, for tests that
//! hand certificates to a TLS front end in memory, the same made with the openssl crate.

use std::path::{Path, PathBuf};
use std::process::Command;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509Name, X509};

/// Runs the openssl command line in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl command line");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed CA in `dir`: (`<name>.crt`, `<name>.key`).
pub fn make_ca(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=kconnect test {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &key,
            "-out",
            &crt,
        ],
    );
    (dir.join(crt), dir.join(key))
}

/// A new EC key (`key`, unencrypted) and a certificate for `subject` signed by the CA
/// (`crt`), with the X.509 extensions in `ext` when given.
fn signed_cert(
    dir: &Path,
    ca: &(PathBuf, PathBuf),
    subject: &str,
    key: &str,
    crt: &str,
    ext: Option<&str>,
) {
    let csr = format!("{crt}.csr");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            subject,
            "-keyout",
            key,
            "-out",
            &csr,
        ],
    );
    let ext_file = format!("{crt}.ext");
    let mut args = vec![
        "x509",
        "-req",
        "-in",
        &csr,
        "-days",
        "2",
        "-CA",
        ca.0.to_str().unwrap(),
        "-CAkey",
        ca.1.to_str().unwrap(),
        "-CAcreateserial",
        "-out",
        crt,
    ];
    if let Some(ext) = ext {
        std::fs::write(dir.join(&ext_file), ext).unwrap();
        args.extend(["-extfile", &ext_file]);
    }
    openssl(dir, &args);
}

/// A certificate for localhost and 127.0.0.1 signed by the CA: (`<name>.crt`, `<name>.key`).
pub fn make_server_cert(dir: &Path, ca: &(PathBuf, PathBuf), name: &str) -> (PathBuf, PathBuf) {
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    signed_cert(
        dir,
        ca,
        "/CN=localhost",
        &key,
        &crt,
        Some("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    );
    (dir.join(crt), dir.join(key))
}

/// A client certificate for user `cn` signed by the CA, its key encrypted with `password`
/// (PKCS#8, AES-256): (`<cn>.crt`, `<cn>.key`).
pub fn make_client_cert(
    dir: &Path,
    ca: &(PathBuf, PathBuf),
    cn: &str,
    password: &str,
) -> (PathBuf, PathBuf) {
    let (crt, plain, key) = (
        format!("{cn}.crt"),
        format!("{cn}.plain.key"),
        format!("{cn}.key"),
    );
    signed_cert(dir, ca, &format!("/CN={cn}"), &plain, &crt, None);
    openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            &plain,
            "-out",
            &key,
            "-passout",
            &format!("pass:{password}"),
        ],
    );
    std::fs::remove_file(dir.join(&plain)).unwrap();
    (dir.join(crt), dir.join(key))
}

/// An EC key for the in-memory certificates below.
pub fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

/// A certificate for `cn`, signed by `issuer` (self-signed without one): a CA with `ca`,
/// otherwise a certificate for localhost.
pub fn cert(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    ca: bool,
) -> X509 {
    let mut name = X509Name::builder().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(
        &BigNum::from_u32(rand_serial())
            .unwrap()
            .to_asn1_integer()
            .unwrap(),
    )
    .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(&name))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
    } else {
        let san = SubjectAlternativeName::new()
            .dns("localhost")
            .build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None))
            .unwrap();
        b.append_extension(san).unwrap();
    }
    b.sign(
        issuer.map(|(_, k)| k).unwrap_or(key),
        MessageDigest::sha256(),
    )
    .unwrap();
    b.build()
}

fn rand_serial() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}
