//! The startup exchange: session settings that fix how pgoutput renders values, then
//! password, MD5 or SCRAM (with channel binding over TLS), and errors that say whether the
//! login, the certificate or TLS is at fault.

use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{self, ChannelBinding, ScramSha256};
use postgres_protocol::message::frontend;

use super::socket::{tls_server_end_point, Sock};
use super::ReplicationConn;
use crate::connectors::pg_errors::ServerError;
use crate::connectors::pg_tls;
use crate::connectors::postgres::db::{is_login_refusal, server_error, PgError};
use crate::connectors::postgres::PgConfig;

impl ReplicationConn {
    pub(super) fn startup(&mut self, cfg: &PgConfig) -> Result<(), PgError> {
        let params = [
            ("user", cfg.user.as_str()),
            ("database", cfg.dbname.as_str()),
            ("replication", "database"),
            ("application_name", "kconnect"),
            ("client_encoding", "UTF8"),
            // pgoutput writes column values with their types' text output, shaped by these.
            ("DateStyle", "ISO, MDY"),
            ("IntervalStyle", "iso_8601"),
            ("TimeZone", "UTC"),
            ("bytea_output", "hex"),
            ("extra_float_digits", "1"),
            ("lc_monetary", "C"),
        ];
        self.out.clear();
        frontend::startup_message(params, &mut self.out).map_err(|e| self.lost(e))?;
        self.send()?;
        let binding = match &self.sock {
            Sock::Tls(s) => tls_server_end_point(s.ssl()),
            _ => None,
        };
        let tls = matches!(self.sock, Sock::Tls(_));
        let mut scram: Option<ScramSha256> = None;
        loop {
            let (tag, body) = self.next_startup()?;
            let body = self.buf[body].to_vec();
            match tag {
                b'R' => {
                    let code = i32::from_be_bytes(
                        body[..4]
                            .try_into()
                            .map_err(|_| self.protocol("a truncated authentication request"))?,
                    );
                    let rest = &body[4..];
                    match code {
                        0 => {}
                        3 => {
                            let pw = password(cfg)?;
                            frontend::password_message(pw.as_bytes(), &mut self.out)
                                .map_err(|e| self.lost(e))?;
                            self.send()?;
                        }
                        5 => {
                            let pw = password(cfg)?;
                            let salt: [u8; 4] = rest
                                .get(..4)
                                .and_then(|s| s.try_into().ok())
                                .ok_or_else(|| self.protocol("an MD5 request without salt"))?;
                            let hash = md5_hash(cfg.user.as_bytes(), pw.as_bytes(), salt);
                            frontend::password_message(hash.as_bytes(), &mut self.out)
                                .map_err(|e| self.lost(e))?;
                            self.send()?;
                        }
                        10 => {
                            let pw = password(cfg)?;
                            let offered: Vec<&[u8]> = rest
                                .split(|&b| b == 0)
                                .filter(|m| !m.is_empty())
                                .collect();
                            let plus = offered.contains(&sasl::SCRAM_SHA_256_PLUS.as_bytes());
                            let (mechanism, cb) = match &binding {
                                Some(b) if plus => (
                                    sasl::SCRAM_SHA_256_PLUS,
                                    ChannelBinding::tls_server_end_point(b.clone()),
                                ),
                                _ if offered.contains(&sasl::SCRAM_SHA_256.as_bytes()) => (
                                    sasl::SCRAM_SHA_256,
                                    if tls && binding.is_some() {
                                        ChannelBinding::unrequested()
                                    } else {
                                        ChannelBinding::unsupported()
                                    },
                                ),
                                _ => {
                                    return Err(self.login(
                                        cfg,
                                        "the server offers no SASL mechanism kconnect supports (SCRAM-SHA-256)",
                                    ))
                                }
                            };
                            tracing::debug!(mechanism, "authenticating the replication connection");
                            let s = ScramSha256::new(pw.as_bytes(), cb);
                            frontend::sasl_initial_response(mechanism, s.message(), &mut self.out)
                                .map_err(|e| self.lost(e))?;
                            scram = Some(s);
                            self.send()?;
                        }
                        11 => {
                            let s = scram
                                .as_mut()
                                .ok_or_else(|| self.protocol("SCRAM data before SCRAM began"))?;
                            s.update(rest).map_err(|e| {
                                self.login(cfg, &format!("SCRAM authentication failed: {e}"))
                            })?;
                            frontend::sasl_response(s.message(), &mut self.out)
                                .map_err(|e| self.lost(e))?;
                            self.send()?;
                        }
                        12 => {
                            let s = scram
                                .as_mut()
                                .ok_or_else(|| self.protocol("SCRAM data before SCRAM began"))?;
                            s.finish(rest).map_err(|e| {
                                self.login(
                                    cfg,
                                    &format!("the server's SCRAM proof did not verify: {e}"),
                                )
                            })?;
                        }
                        other => {
                            return Err(self.login(
                                cfg,
                                &format!("the server asks for an authentication method kconnect does not support (request {other}: Kerberos, GSSAPI or SSPI); use password, md5, scram-sha-256 or cert authentication for this user"),
                            ))
                        }
                    }
                }
                b'E' => return Err(self.startup_error(cfg, ServerError::parse(&body))),
                b'K' => {
                    if let Some(pid) = body.get(..4) {
                        self.backend_pid = i32::from_be_bytes(pid.try_into().expect("4 bytes"));
                    }
                }
                b'Z' => return Ok(()),
                _ => {}
            }
        }
    }

    fn startup_error(&self, cfg: &PgConfig, e: ServerError) -> PgError {
        if let Some(f) = pg_tls::server_needs_tls(&cfg.tls, &self.addr, &e.code, &e.message) {
            return PgError::Tls(f);
        }
        if is_login_refusal(&e.code) {
            if e.message.contains("certificate") {
                return PgError::CertLogin {
                    user: cfg.user.clone(),
                    db: cfg.dbname.clone(),
                    message: e.message,
                };
            }
            return self.login(cfg, &e.message);
        }
        server_error(cfg, "opening a replication connection", e)
    }

    fn login(&self, cfg: &PgConfig, message: &str) -> PgError {
        PgError::Login {
            user: cfg.user.clone(),
            db: cfg.dbname.clone(),
            message: message.to_string(),
        }
    }
}

fn password(cfg: &PgConfig) -> Result<&str, PgError> {
    cfg.password.as_deref().ok_or_else(|| PgError::Login {
        user: cfg.user.clone(),
        db: cfg.dbname.clone(),
        message: "the server asks for a password and database.password is not set".into(),
    })
}
