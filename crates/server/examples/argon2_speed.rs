//! Argon2id verifications per second on one core with gatehouse's parameters, for
//! `bench/password-grant.sh` to put next to the logins/s it measures.

use std::time::Instant;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

fn main() {
    let argon = Argon2::default();
    let hash = match argon.hash_password(b"Sup3r-secret!") {
        Ok(h) => h.to_string(),
        Err(e) => {
            eprintln!("argon2: {e}");
            std::process::exit(1);
        }
    };
    let rounds = 100;
    let start = Instant::now();
    for _ in 0..rounds {
        if argon
            .verify_password(b"Sup3r-secret!", hash.as_str())
            .is_err()
        {
            eprintln!("verification failed");
            std::process::exit(1);
        }
    }
    let per_second = f64::from(rounds) / start.elapsed().as_secs_f64();
    println!("{per_second:.1}");
}
