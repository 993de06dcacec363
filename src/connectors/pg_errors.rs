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
