//! The optional second factor (等保 level 3 for office and administrator accounts): TOTP as
//! RFC 6238 has it (HMAC-SHA1, 30-second steps, 6 digits), which every authenticator app
//! reads from a QR code. The secret is sealed with the field keys like a 身份证号; a code
//! is accepted once (the step it belongs to is remembered) and one step either side of
//! now, for phones whose clocks drift.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use weibao_domain::access::{Role, Scope};
use weibao_domain::Invalid;

use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;

/// Seconds per step.
const STEP: i64 = 30;

/// The roles that may turn the second factor on.
pub fn totp_allowed(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Office | Role::Security | Role::Auditor
    )
}

/// The 6-digit code of `secret` for step `counter` (RFC 4226 dynamic truncation).
pub fn code_at(secret: &[u8], counter: u64) -> u32 {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 1_000_000
}

/// RFC 4648 base32 without padding (what authenticator apps take).
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn unbase32(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in s.chars() {
        let v = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The code an authenticator app shows at `at_ms` for a base32 secret (None: not base32).
pub fn code_for(secret: &str, at_ms: i64) -> Option<String> {
    let step = at_ms.div_euclid(1000).div_euclid(STEP) as u64;
    Some(format!("{:06}", code_at(&unbase32(secret)?, step)))
}

/// The step whose code `code` is, within one step of `now_ms`.
pub(crate) fn matching_step(secret: &[u8], code: &str, now_ms: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let now = now_ms.div_euclid(1000).div_euclid(STEP);
    (now - 1..=now + 1).find(|step| code_at(secret, *step as u64) == wanted)
}

/// What an authenticator app needs to start: the secret and the URI its QR code holds.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    pub secret: String,
    pub uri: String,
}

fn setup_uri(username: &str, secret: &str) -> String {
    let user: String = username
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("otpauth://totp/Weibao:{user}?secret={secret}&issuer=Weibao&algorithm=SHA1&digits=6&period=30")
}

fn aad(user_id: &str) -> String {
    format!("users.totp_secret:{user_id}")
}

impl Store {
    /// Starts (or restarts) turning the second factor on: a new secret, pending until
    /// [`Store::totp_enable`] sees a code from it. When the factor is on already, replacing
    /// it (a new phone) needs a current code: a stolen session cannot swap in its own.
    pub async fn totp_setup(
        &self,
        scope: &Scope,
        current_code: Option<&str>,
    ) -> Result<TotpSetup, StoreError> {
        if !totp_allowed(scope.role) {
            return Err(StoreError::Forbidden);
        }
        if self.totp_enabled(&scope.user_id).await? {
            let ok = match current_code.map(str::trim).filter(|c| !c.is_empty()) {
                Some(c) => self.totp_check(&scope.user_id, c).await?,
                None => false,
            };
            if !ok {
                return Err(StoreError::invalid(
                    "code",
                    Invalid::new(
                        "totp_code_needed",
                        "两步验证已开启：更换验证器前，请先输入原验证器当前显示的 6 位验证码",
                    ),
                ));
            }
        }
        let secret: [u8; 20] = crate::crypto::random_bytes();
        let encoded = base32(&secret);
        let keys = self.keys()?;
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| {
            sqlx::query(
            "UPDATE users SET totp_secret = $2, totp_enabled = $3, totp_last_step = 0 WHERE id = $1"
        )
        .bind(&scope.user_id)
        .bind(keys.seal(&aad(&scope.user_id), &encoded))
        .bind(false)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
        append(
            &mut tx,
            self.now_ms(),
            &AuditEvent::by(scope, "user.totp_setup", &scope.user_id),
        )
        .await?;
        tx.commit().await?;
        Ok(TotpSetup {
            uri: setup_uri(&scope.username, &encoded),
            secret: encoded,
        })
    }

    /// The setup URI of the account's pending secret (to show its QR code again).
    pub async fn totp_pending_uri(&self, scope: &Scope) -> Result<Option<TotpSetup>, StoreError> {
        Ok(self
            .totp_secret(&scope.user_id)
            .await?
            .filter(|(_, enabled, _)| !enabled)
            .map(|(secret, _, _)| {
                let encoded = base32(&secret);
                TotpSetup {
                    uri: setup_uri(&scope.username, &encoded),
                    secret: encoded,
                }
            }))
    }

    /// The account's secret and last used step, when it has one (pending or on).
    async fn totp_secret(&self, user_id: &str) -> Result<Option<(Vec<u8>, bool, i64)>, StoreError> {
        let row: Option<(Option<String>, bool, i64)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT totp_secret, totp_enabled, totp_last_step FROM users WHERE id = $1"
            )
            .bind(user_id)
            .fetch_optional(&mut *c)
            .await)?
        };
        let Some((Some(sealed), enabled, last)) = row else {
            return Ok(None);
        };
        let encoded = self.keys()?.open(&aad(user_id), &sealed)?;
        Ok(unbase32(&encoded).map(|s| (s, enabled, last)))
    }

    /// Checks `code` for the account and uses it up; true when it was right.
    pub(crate) async fn totp_check(&self, user_id: &str, code: &str) -> Result<bool, StoreError> {
        let Some((secret, _, last)) = self.totp_secret(user_id).await? else {
            return Ok(false);
        };
        let Some(step) = matching_step(&secret, code, self.now_ms()).filter(|s| *s > last) else {
            return Ok(false);
        };
        let mut tx = self.begin().await?;
        let n = on!(tx.conn(), |c| sqlx::query(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2"
        )
        .bind(user_id)
        .bind(step)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Whether the account signs in with a second factor.
    pub(crate) async fn totp_enabled(&self, user_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .totp_secret(user_id)
            .await?
            .is_some_and(|(_, enabled, _)| enabled))
    }

    /// Turns the second factor on with a code from the app the setup was scanned into.
    pub async fn totp_enable(&self, scope: &Scope, code: &str) -> Result<(), StoreError> {
        if !totp_allowed(scope.role) {
            return Err(StoreError::Forbidden);
        }
        if self.totp_secret(&scope.user_id).await?.is_none() {
            return Err(StoreError::invalid(
                "code",
                Invalid::new("totp_not_set_up", "请先生成两步验证密钥并用验证器 App 扫码"),
            ));
        }
        if !self.totp_check(&scope.user_id, code).await? {
            return Err(StoreError::invalid(
                "code",
                Invalid::new(
                    "totp_wrong",
                    "验证码不正确或已用过：请输入验证器 App 当前显示的 6 位数字（并确认手机时间准确）",
                ),
            ));
        }
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "UPDATE users SET totp_enabled = $2 WHERE id = $1"
        )
        .bind(&scope.user_id)
        .bind(true)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            self.now_ms(),
            &AuditEvent::by(scope, "user.totp_enable", &scope.user_id),
        )
        .await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_rfc_6238_appendix_b() {
        // The SHA-1 test secret "12345678901234567890"; 8-digit values there, 6 here.
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59u64, 287_082u32),
            (1_111_111_109, 81_804),
            (1_111_111_111, 50_471),
            (1_234_567_890, 5_924),
            (2_000_000_000, 279_037),
        ] {
            assert_eq!(code_at(secret, time / 30), code, "t={time}");
        }
    }

    #[test]
    fn base32_round_trips_as_rfc_4648_says() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(unbase32("MZXW6YTBOI").unwrap(), b"foobar");
        assert!(unbase32("not-base32").is_none());
    }

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111_000i64;
        let step = now / 1000 / 30;
        let code = format!("{:06}", code_at(secret, step as u64));
        assert_eq!(matching_step(secret, &code, now), Some(step));
        assert_eq!(matching_step(secret, &code, now + 30_000), Some(step));
        assert_eq!(matching_step(secret, &code, now + 90_000), None);
        assert_eq!(matching_step(secret, "12345", now), None);
        assert_eq!(matching_step(secret, "abcdef", now), None);
    }
}
