//! Secrets we must use again later (an identity provider's refresh token), so they cannot
//! be hashed: sealed with XChaCha20-Poly1305 under a key derived from the OIDC client
//! secret. A database leak alone then hands out nothing; a rotated client secret makes old
//! seals unreadable, which only means people sign in again.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use sha2::{Digest, Sha256};

/// Binds seals to their purpose: a sealed value is not valid anywhere else.
const CONTEXT: &[u8] = b"stargate refresh token v1";
const NONCE_LEN: usize = 24;

pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    pub fn new(secret: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(CONTEXT);
        hasher.update(secret.as_bytes());
        let key = hasher.finalize();
        Self {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    /// `plain` sealed: a random nonce and the ciphertext, URL-safe base64.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        // The OS random source failing means the machine cannot do cryptography at all.
        getrandom::fill(&mut nonce).expect("the operating system's random source works");
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: CONTEXT,
                },
            )
            .expect("sealing a short string cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The value sealed in `sealed`, or `None` when it was sealed under another key or
    /// changed.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: CONTEXT,
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_under_its_key_and_unchanged() {
        let sealer = Sealer::new("client-secret");
        let sealed = sealer.seal("refresh-me");
        assert!(!sealed.contains("refresh-me"));
        assert_ne!(sealed, sealer.seal("refresh-me"), "a fresh nonce each time");
        assert_eq!(sealer.open(&sealed).as_deref(), Some("refresh-me"));
        assert_eq!(Sealer::new("rotated").open(&sealed), None);
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(sealer.open(&String::from_utf8(tampered).unwrap()), None);
        assert_eq!(sealer.open("short"), None);
    }
}
