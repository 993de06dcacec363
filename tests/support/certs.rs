//! Test certificates: a throwaway CA and the server and client certificates it signs, made
//! with the openssl command line so the files are what a user would make.

use std::path::{Path, PathBuf};
use std::process::Command;

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
