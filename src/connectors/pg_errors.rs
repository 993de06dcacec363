//! PostgreSQL's own words for a failure, shared by the PostgreSQL source and the JDBC sink:
//! `postgres::Error` displays only its kind ("db error", "error connecting to server"), which
//! tells a user nothing they can act on.

/// The server's message with its SQLSTATE, detail and hint; for other failures the whole
/// chain of causes ("error connecting to server: Connection refused (os error 111)").
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}{}", db.message(), describe_extra(e)),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    }
}

/// " (SQLSTATE code); detail; hint: hint" for server errors, empty for others.
pub fn describe_extra(e: &postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        return String::new();
    };
    let mut s = format!(" (SQLSTATE {})", db.code().code());
    if let Some(d) = db.detail() {
        s.push_str("; ");
        s.push_str(d);
    }
    if let Some(h) = db.hint() {
        s.push_str("; hint: ");
        s.push_str(h);
    }
    s
}

/// An ErrorResponse read off the wire by kconnect's own protocol code (the replication
/// connection), shown the way [`describe`] shows the `postgres` crate's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerError {
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl ServerError {
    /// Parses an ErrorResponse or NoticeResponse body: (field type, C string)* then 0.
    pub fn parse(body: &[u8]) -> ServerError {
        let mut e = ServerError::default();
        let mut rest = body;
        while let Some((&kind, tail)) = rest.split_first() {
            if kind == 0 {
                break;
            }
            let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
            let value = String::from_utf8_lossy(&tail[..end]).into_owned();
            match kind {
                b'C' => e.code = value,
                b'M' => e.message = value,
                b'D' => e.detail = Some(value),
                b'H' => e.hint = Some(value),
                _ => {}
            }
            rest = tail.get(end + 1..).unwrap_or_default();
        }
        e
    }

    /// Whether the server may accept the same request later: connection trouble, lack of
    /// resources (max_wal_senders), shutdown, or an object (the slot) in use.
    pub fn is_transient(&self) -> bool {
        self.code.starts_with("08")
            || self.code.starts_with("53")
            || self.code.starts_with("57P")
            || self.code == "55006"
    }
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.code)?;
        if let Some(d) = &self.detail {
            write!(f, "; {d}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "; hint: {h}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_read_as_the_server_wrote_them() {
        let body =
            b"SERROR\0VERROR\0C55006\0Mreplication slot \"s\" is active for PID 42\0Hstop it\0\0";
        let e = ServerError::parse(body);
        assert_eq!(e.code, "55006");
        assert!(e.is_transient());
        assert_eq!(
            e.to_string(),
            "replication slot \"s\" is active for PID 42 (SQLSTATE 55006); hint: stop it"
        );
        assert!(!ServerError::parse(b"C42501\0Mno\0\0").is_transient());
    }
}
