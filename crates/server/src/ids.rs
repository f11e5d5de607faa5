//! New identifiers, in the formats Auth0 hands out, drawn from the CSPRNG (here, not in
//! core, which takes ids and random values as inputs).

use rand::RngExt;
use rand::distr::Alphanumeric;

/// `len` random ASCII letters and digits from the thread-local CSPRNG.
pub fn random_alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `bytes` random bytes rendered as lower-case hex (Auth0's ObjectId-like ids are 24 hex digits).
pub fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rng().fill(&mut raw[..]);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new client id: 32 letters and digits, as Auth0 issues them.
pub fn new_client_id() -> String {
    random_alphanumeric(32)
}

/// A new connection id: `con_` and 16 letters and digits (Auth0 validates `^con_[A-Za-z0-9]{16}$`).
pub fn new_connection_id() -> String {
    format!("con_{}", random_alphanumeric(16))
}

/// A new client grant id: `cgr_` and 16 letters and digits.
pub fn new_client_grant_id() -> String {
    format!("cgr_{}", random_alphanumeric(16))
}

/// A new job id: `job_` and 16 letters and digits.
pub fn new_job_id() -> String {
    format!("job_{}", random_alphanumeric(16))
}

/// A new role id: `rol_` and 16 letters and digits.
pub fn new_role_id() -> String {
    format!("rol_{}", random_alphanumeric(16))
}

/// A new resource server id: 24 hex digits.
pub fn new_resource_server_id() -> String {
    random_hex(12)
}

/// The admin dashboard's client id: derived from the master key, so every replica (and
/// every start) names the same application without storing which one it is.
pub fn dashboard_client_id(hasher: &crate::crypto::SecretHasher) -> gatehouse_core::id::ClientId {
    let id: String = hasher
        .hash("dashboard-client")
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    id.into()
}

/// Fresh ids for the rows a new database's seed creates.
pub fn seed_ids() -> gatehouse_core::seed::SeedIds {
    gatehouse_core::seed::SeedIds {
        management_api: new_resource_server_id(),
        bootstrap_grant: new_client_grant_id(),
        database_connection: new_connection_id(),
    }
}

/// A new provider-side id for a database-connection identity (`auth0|<this>`).
pub fn new_database_user_id() -> String {
    random_hex(12)
}

/// A new passwordless code of `length` decimal digits.
pub fn new_code(length: usize) -> String {
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_auth0() {
        let con = new_connection_id();
        assert_eq!(con.len(), 20);
        assert!(con.starts_with("con_"));
        assert!(con[4..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(new_client_id().len(), 32);
        let rs = new_resource_server_id();
        assert_eq!(rs.len(), 24);
        assert!(rs.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(new_client_id(), new_client_id());
    }

    #[test]
    fn codes_have_the_asked_length_and_vary() {
        let a = new_code(6);
        assert_eq!(a.len(), 6);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        let distinct: std::collections::HashSet<String> = (0..50).map(|_| new_code(8)).collect();
        assert!(distinct.len() > 45);
    }
}
