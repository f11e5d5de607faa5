//! Argon2id computed in a memory buffer its thread keeps (`Workers` state), instead of 19 MiB
//! allocated and freed per hash: freed blocks that size stay in glibc's per-thread arenas, so
//! a login flood grew the process by hundreds of megabytes. A hash whose parameters ask for
//! more memory (an imported one) grows the buffer once.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq as _;

/// The hashing thread's memory.
pub type Memory = Vec<Block>;

/// A thread's memory: empty until its first hash, so an idle server holds none.
pub fn memory() -> Memory {
    Vec::new()
}

fn blocks(memory: &mut Memory, count: usize) -> &mut [Block] {
    if memory.len() < count {
        memory.resize(count, Block::default());
    }
    &mut memory[..count]
}

/// The PHC string of a new Argon2id hash (today's parameters) of `password` with `salt`.
pub fn hash(password: &[u8], salt: &[u8], memory: &mut Memory) -> Result<String, String> {
    let params = Params::default();
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password,
            salt,
            &mut out,
            blocks(memory, params.block_count()),
        )
        .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the Argon2 PHC string `phc` (any variant, version and
/// parameters); a malformed string never matches.
pub fn verify(password: &[u8], phc: &str, memory: &mut Memory) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm.as_str()),
        Params::try_from(&parsed),
        parsed.salt.as_ref(),
        parsed.hash.as_ref(),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x10,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let expected = expected.as_bytes();
    let mut out = vec![0u8; expected.len()];
    let count = params.block_count();
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, blocks(memory, count))
        .is_ok()
        && bool::from(out.ct_eq(expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    #[test]
    fn hashes_agree_with_the_crates_own_both_ways() {
        let mut m = memory();
        assert!(m.is_empty(), "nothing held before the first hash");
        let ours = hash(b"correct horse", b"sixteen byte slt", &mut m).expect("hash");
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", ours.as_str())
                .is_ok()
        );
        let theirs = Argon2::default()
            .hash_password(b"battery staple")
            .expect("hash")
            .to_string();
        assert!(verify(b"battery staple", &theirs, &mut m));
        assert!(!verify(b"battery stapler", &theirs, &mut m));
        // Other parameters (an imported hash): the buffer grows for it.
        let bigger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32 * 1024, 1, 1, None).expect("params"),
        )
        .hash_password(b"pw")
        .expect("hash")
        .to_string();
        assert!(verify(b"pw", &bigger, &mut m));
        assert_eq!(m.len(), 32 * 1024);
        for bad in [
            "",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$",
            "x",
        ] {
            assert!(!verify(b"pw", bad, &mut m), "{bad}");
        }
    }
}
