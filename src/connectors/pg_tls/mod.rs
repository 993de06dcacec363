//! TLS to PostgreSQL, shared by the PostgreSQL source and the JDBC sink. The modes mean what
//! they mean to libpq, Debezium and the PostgreSQL JDBC driver, so a connector file that
//! works against a server there works here: `prefer` encrypts without checking who answers,
//! `require` insists on encryption, and only `verify-ca`/`verify-full` check certificates.

mod certs;
mod connect;
mod failure;
mod settings;

pub use connect::{addresses, connect, handshake};
pub use failure::{no_server_tls, server_needs_tls, ConnectFailure, TlsError};
pub use settings::{Spelling, SslMode, TlsSettings};
