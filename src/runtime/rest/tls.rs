//! The HTTPS listener's certificate and key, from Connect's keys: `listeners.https.ssl.*`, or
//! when none of those is set the worker's `ssl.*` (Connect's all-or-nothing rule). PEM
//! (inline `ssl.keystore.certificate.chain`/`ssl.keystore.key` or a PEM file at
//! `ssl.keystore.location`) and PKCS12 files are read; a JKS keystore is refused with the
//! keytool command that converts it. Nothing read here (keys, passwords) is ever put in a
//! message.

use std::collections::BTreeMap;

use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::RestError;
use crate::config::WorkerConfig;

pub const HTTPS_PREFIX: &str = "listeners.https.";

/// `ssl.*` keys the HTTPS listener reads. Any other key under `listeners.https.` is refused:
/// kconnect's TLS runs on openssl's defaults (TLS 1.2 and 1.3), so a protocol or cipher setting
/// could not be honoured.
const READ: &[&str] = &[
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.key.password",
    "ssl.client.auth",
];

/// What the listener's TLS acceptor is built from: PEM certificate chain and unencrypted PEM
/// key.
pub struct Material {
    pub chain_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Material { .. }")
    }
}

/// The TLS settings in force and the prefix they were read under (for messages).
fn settings(worker: &WorkerConfig) -> (BTreeMap<String, String>, &'static str) {
    let prefixed: BTreeMap<String, String> =
        crate::config::worker::strip_prefix(&worker.values, HTTPS_PREFIX);
    if prefixed.is_empty() {
        let plain = worker
            .values
            .iter()
            .filter(|(k, _)| k.starts_with("ssl."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (plain, "")
    } else {
        (prefixed, HTTPS_PREFIX)
    }
}

pub fn load(worker: &WorkerConfig) -> Result<Material, RestError> {
    let (s, prefix) = settings(worker);
    let err = |key: &str, message: String| RestError::Config {
        key: format!("{prefix}{key}"),
        message,
    };
    if !prefix.is_empty() {
        if let Some(k) = s.keys().find(|k| !READ.contains(&k.as_str())) {
            return Err(err(k, "kconnect's HTTPS listener does not support this setting (protocols and ciphers are openssl's defaults, TLS 1.2 and 1.3); remove it".into()));
        }
    }
    let get = |k: &str| s.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(auth) = get("ssl.client.auth") {
        if !auth.eq_ignore_ascii_case("none") {
            return Err(err("ssl.client.auth", format!("client certificate authentication ({auth}) is not supported by kconnect's REST server; use none and basic authentication (rest.extension.classes)")));
        }
    }
    let inline = (
        get("ssl.keystore.certificate.chain"),
        get("ssl.keystore.key"),
    );
    let ty = get("ssl.keystore.type").map(str::to_ascii_uppercase);
    let ty = match (ty, inline) {
        (Some(t), _) => t,
        (None, (Some(_), Some(_))) => "PEM".into(),
        (None, _) => "JKS".into(),
    };
    let key_password = get("ssl.key.password");
    match ty.as_str() {
        "PEM" => match (inline, get("ssl.keystore.location")) {
            ((Some(chain), Some(key)), _) => pem(chain.as_bytes(), key.as_bytes(), key_password)
                .map_err(|m| err("ssl.keystore.key", m)),
            ((None, None), Some(path)) => {
                let text = std::fs::read(path).map_err(|e| {
                    err("ssl.keystore.location", format!("cannot read {path}: {e}"))
                })?;
                pem(&text, &text, key_password)
                    .map_err(|m| err("ssl.keystore.location", format!("{path}: {m}")))
            }
            _ => Err(err("ssl.keystore.certificate.chain", "a PEM keystore needs both ssl.keystore.certificate.chain and ssl.keystore.key, or ssl.keystore.location naming a PEM file with the key and the certificates".into())),
        },
        "PKCS12" => {
            let path = get("ssl.keystore.location").ok_or_else(|| {
                err("ssl.keystore.location", "a PKCS12 keystore needs the file's path".into())
            })?;
            let der = std::fs::read(path)
                .map_err(|e| err("ssl.keystore.location", format!("cannot read {path}: {e}")))?;
            pkcs12(&der, get("ssl.keystore.password").unwrap_or(""))
                .map_err(|m| err("ssl.keystore.location", format!("{path}: {m}")))
        }
        "JKS" => Err(err("ssl.keystore.type", match get("ssl.keystore.location") {
            Some(p) => format!("JKS keystores cannot be read by kconnect; convert {p} with `keytool -importkeystore -srckeystore {p} -destkeystore {p}.p12 -deststoretype PKCS12` and set ssl.keystore.type=PKCS12 and ssl.keystore.location={p}.p12"),
            None => "an https listener needs a keystore: ssl.keystore.type=PEM with ssl.keystore.certificate.chain and ssl.keystore.key, or PKCS12 with ssl.keystore.location and ssl.keystore.password".into(),
        })),
        other => Err(err("ssl.keystore.type", format!("unsupported keystore type {other}; use PEM or PKCS12"))),
    }
}

fn pem(chain: &[u8], key: &[u8], password: Option<&str>) -> Result<Material, String> {
    let certs =
        X509::stack_from_pem(chain).map_err(|_| "no readable PEM certificate".to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    let pkey = match password {
        Some(p) => PKey::private_key_from_pem_passphrase(key, p.as_bytes()),
        None => PKey::private_key_from_pem(key),
    }
    .map_err(|_| {
        "cannot read the PEM private key (is it encrypted and ssl.key.password wrong or missing?)"
            .to_string()
    })?;
    material(certs, &pkey)
}

fn pkcs12(der: &[u8], password: &str) -> Result<Material, String> {
    let parsed = Pkcs12::from_der(der)
        .and_then(|p| p.parse2(password))
        .map_err(|_| {
            "cannot open the PKCS12 keystore (wrong ssl.keystore.password?)".to_string()
        })?;
    let (Some(cert), Some(pkey)) = (parsed.cert, parsed.pkey) else {
        return Err("the keystore has no private key with its certificate".into());
    };
    let mut certs = vec![cert];
    if let Some(ca) = parsed.ca {
        certs.extend(ca);
    }
    material(certs, &pkey)
}

fn material(certs: Vec<X509>, pkey: &PKey<Private>) -> Result<Material, String> {
    let mut chain_pem = Vec::new();
    for c in certs {
        chain_pem.extend(c.to_pem().map_err(|e| e.to_string())?);
    }
    let key_pem = pkey
        .private_key_to_pem_pkcs8()
        .map_err(|_| "cannot encode the private key".to_string())?;
    Ok(Material { chain_pem, key_pem })
}
