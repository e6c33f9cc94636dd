//! Random secrets (session ids, access tokens, OIDC state) and how we store them: only as
//! SHA-256, so a database leak does not hand out sessions or tokens.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// Prefix of personal access tokens, so secret scanners and people can recognise them.
pub const TOKEN_PREFIX: &str = "sgp_";

/// 256 random bits from the operating system, URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source failing means the machine cannot do cryptography at all.
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn new_access_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_secret())
}

/// Hex SHA-256: secrets here carry 256 random bits, so a fast hash is enough (no salt or
/// slow KDF needed, unlike passwords).
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_different() {
        let a = random_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_secret());
        assert!(new_access_token().starts_with("sgp_"));
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
