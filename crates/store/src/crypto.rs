//! Hashes, random tokens and password hashing behind one small module.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sm3::{Digest, Sm3};
use weibao_domain::Invalid;

/// SM3 (GB/T 32905) of `data`, lower-case hex.
pub fn sm3_hex(data: &[u8]) -> String {
    hex(&Sm3::digest(data))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The bytes of a hex string (either case); None when it is not one.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 == 1 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// 32 random bytes as hex: session tokens and CSRF tokens.
pub(crate) fn random_token() -> String {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).expect("operating system random source");
    hex(&buf)
}

/// 等保 password policy: at least 8 characters from at least 3 of the 4 classes
/// (upper case, lower case, digits, symbols).
pub fn password_policy(password: &str) -> Result<(), Invalid> {
    let chars = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if chars < 8 {
        return Err(Invalid::new(
            "password_too_short",
            format!("密码至少需要 8 个字符，当前为 {chars} 个"),
        ));
    }
    if classes < 3 {
        return Err(Invalid::new(
            "password_too_simple",
            "密码需包含大写字母、小写字母、数字、符号中的至少 3 类",
        ));
    }
    Ok(())
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes): CPU-heavy, so it runs off the
/// async threads.
pub(crate) async fn hash_password(password: String) -> String {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16-byte salt encodes");
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .expect("argon2 hashing with default parameters")
            .to_string()
    })
    .await
    .expect("password hashing task")
}

pub(crate) async fn verify_password(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// N random bytes from the operating system (keys, nonces, salts, secrets).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("operating system random source");
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_matches_the_standard_example() {
        // GB/T 32905-2016 appendix A, example 1: "abc".
        assert_eq!(
            sm3_hex(b"abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn password_policy_needs_length_and_three_classes() {
        assert!(password_policy("Ab1!").is_err());
        assert_eq!(
            password_policy("abcdefgh1").unwrap_err().code,
            "password_too_simple"
        );
        assert!(password_policy("abcdefG1").is_ok());
        assert!(password_policy("abcdef1!").is_ok());
    }

    #[tokio::test]
    async fn argon2id_hash_verifies_only_the_same_password() {
        let h = hash_password("Secret#2026".into()).await;
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Secret#2026".into(), h.clone()).await);
        assert!(!verify_password("Secret#2027".into(), h).await);
    }
}
