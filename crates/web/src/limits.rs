//! Rate limits (429 with Retry-After): sign-in attempts and failures per address, ledger
//! imports per account, the public report page's reports and tracking lookups per
//! address. In memory, per server process; fixed windows.
//!
//! Sign-ins: each account locks after 5 wrong passwords (the store), which does not stop
//! one address trying one password on many accounts; so an address gets 20 failures per
//! 10 minutes and 60 attempts per minute. Successful sign-ins count only toward the
//! attempts, so a township's training room behind one NAT address is not shut out.
//!
//! The public report page needs no account, so the address is all there is to count: 5
//! reports an hour (a family behind one address reporting twice is fine; a script filing
//! hundreds is not) and 20 tracking lookups per 10 minutes (a code has about 100 bits, so
//! guessing is hopeless anyway; the limit keeps the lookups from being a load).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// How many events per window a key may have.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub max: u32,
    pub window_ms: i64,
}

/// The limits a server applies (defaults: [`Limits::default`]).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub login_attempts: Rule,
    pub login_failures: Rule,
    pub imports: Rule,
    /// Reports filed on the public page, per address.
    pub public_reports: Rule,
    /// Tracking-code lookups on the public page, per address.
    pub public_tracking: Rule,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            login_attempts: Rule {
                max: 60,
                window_ms: 60_000,
            },
            login_failures: Rule {
                max: 20,
                window_ms: 10 * 60_000,
            },
            imports: Rule {
                max: 10,
                window_ms: 60_000,
            },
            public_reports: Rule {
                max: 5,
                window_ms: 60 * 60_000,
            },
            public_tracking: Rule {
                max: 20,
                window_ms: 10 * 60_000,
            },
        }
    }
}

/// Counters per key in fixed windows.
#[derive(Default)]
pub struct Counter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

/// Keys kept before expired windows are swept.
const SWEEP_AT: usize = 10_000;

impl Counter {
    /// Seconds until `key` may act again, or None when it is under `rule`.
    pub fn blocked(&self, rule: Rule, key: &str, now_ms: i64) -> Option<u64> {
        let map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some((start, n)) if now_ms - start < rule.window_ms && *n >= rule.max => Some(
                ((start + rule.window_ms - now_ms) as u64)
                    .div_ceil(1000)
                    .max(1),
            ),
            _ => None,
        }
    }

    /// Counts one event for `key`.
    pub fn hit(&self, rule: Rule, key: &str, now_ms: i64) {
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= SWEEP_AT {
            map.retain(|_, (start, _)| now_ms - *start < rule.window_ms);
        }
        let entry = map.entry(key.to_string()).or_insert((now_ms, 0));
        if now_ms - entry.0 >= rule.window_ms {
            *entry = (now_ms, 0);
        }
        entry.1 += 1;
    }

    /// Takes back one event counted by [`hit`](Self::hit) in the current window.
    pub fn undo(&self, rule: Rule, key: &str, now_ms: i64) {
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((start, n)) = map.get_mut(key) {
            if now_ms - *start < rule.window_ms && *n > 0 {
                *n -= 1;
            }
        }
    }

    /// [`blocked`](Self::blocked), else counts the event.
    pub fn take(&self, rule: Rule, key: &str, now_ms: i64) -> Option<u64> {
        let wait = self.blocked(rule, key, now_ms);
        if wait.is_none() {
            self.hit(rule, key, now_ms);
        }
        wait
    }
}

/// The server's counters.
#[derive(Default)]
pub struct Limiter {
    pub limits: Limits,
    pub login_attempts: Counter,
    pub login_failures: Counter,
    pub imports: Counter,
    pub public_reports: Counter,
    pub public_tracking: Counter,
}

impl Limiter {
    pub fn new(limits: Limits) -> Limiter {
        Limiter {
            limits,
            ..Limiter::default()
        }
    }

    /// Before a sign-in from `ip`: Err(seconds to wait) when it must be refused. The
    /// attempt is counted as a failure until [`login_succeeded`](Self::login_succeeded)
    /// takes it back, so that many attempts sent at once cannot all pass the check.
    pub fn before_login(&self, ip: &str, now_ms: i64) -> Result<(), u64> {
        if let Some(wait) = self
            .login_failures
            .take(self.limits.login_failures, ip, now_ms)
        {
            return Err(wait);
        }
        match self
            .login_attempts
            .take(self.limits.login_attempts, ip, now_ms)
        {
            Some(wait) => {
                self.login_succeeded(ip, now_ms);
                Err(wait)
            }
            None => Ok(()),
        }
    }

    /// The sign-in from `ip` was not a wrong password: its reserved failure goes back.
    pub fn login_succeeded(&self, ip: &str, now_ms: i64) {
        self.login_failures
            .undo(self.limits.login_failures, ip, now_ms);
    }

    /// Before an import by `user_id`: the 429 answer when it must be refused.
    pub fn before_import(&self, user_id: &str, now_ms: i64) -> Option<Response> {
        let max = self.limits.imports.max;
        self.imports
            .take(self.limits.imports, user_id, now_ms)
            .map(|wait| {
                let message = format!("导入过于频繁（每分钟最多 {max} 次），请 {wait} 秒后再试");
                with_retry_after(too_many("too_many_imports", message).into_response(), wait)
            })
    }
}

impl Limiter {
    /// Before a report from the public page by `ip`: Err(seconds to wait) when it must be
    /// refused. The report is counted at once (so a burst sent together cannot all pass);
    /// [`public_report_refused`](Self::public_report_refused) gives it back when the form
    /// was refused for its input, so that someone correcting a mistake is not shut out.
    pub fn before_public_report(&self, ip: &str, now_ms: i64) -> Result<(), u64> {
        match self
            .public_reports
            .take(self.limits.public_reports, ip, now_ms)
        {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// The public report from `ip` was not filed (its input was refused): it does not count.
    pub fn public_report_refused(&self, ip: &str, now_ms: i64) {
        self.public_reports
            .undo(self.limits.public_reports, ip, now_ms);
    }

    /// Before a tracking-code lookup by `ip`: Err(seconds to wait) when it must be refused.
    pub fn before_tracking(&self, ip: &str, now_ms: i64) -> Result<(), u64> {
        match self
            .public_tracking
            .take(self.limits.public_tracking, ip, now_ms)
        {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }
}

pub fn too_many(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
}

pub fn login_refusal(wait: u64) -> ApiError {
    too_many(
        "too_many_logins",
        format!("来自您所在网络的登录尝试过于频繁，请 {wait} 秒后再试；忘记密码请联系管理员重置"),
    )
}

/// Adds Retry-After to a 429 response.
pub fn with_retry_after(mut res: Response, wait: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// An ApiError answer with Retry-After.
pub fn refuse_login(wait: u64) -> Response {
    with_retry_after(login_refusal(wait).into_response(), wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_max_events_then_says_how_long_to_wait() {
        let c = Counter::default();
        let rule = Rule {
            max: 3,
            window_ms: 10_000,
        };
        for _ in 0..3 {
            assert_eq!(c.take(rule, "ip", 1_000), None);
        }
        assert_eq!(c.take(rule, "ip", 2_500), Some(9));
        assert_eq!(c.take(rule, "other", 2_500), None, "keys are separate");
        assert_eq!(c.take(rule, "ip", 11_000), None, "a new window");
    }

    #[test]
    fn sign_ins_in_flight_count_as_failures_until_they_succeed() {
        let l = Limiter::default();
        // Twenty attempts at once, none answered yet: the twenty-first waits.
        for _ in 0..20 {
            assert!(l.before_login("ip", 0).is_ok());
        }
        assert!(l.before_login("ip", 0).is_err());
        // Once they turn out right, the address may go on.
        for _ in 0..20 {
            l.login_succeeded("ip", 0);
        }
        assert!(l.before_login("ip", 0).is_ok());
    }

    #[test]
    fn an_address_files_five_public_reports_an_hour_and_refused_input_does_not_count() {
        let l = Limiter::default();
        // Two forms sent back for their input: given back.
        for _ in 0..2 {
            assert!(l.before_public_report("ip", 0).is_ok());
            l.public_report_refused("ip", 0);
        }
        for _ in 0..5 {
            assert!(l.before_public_report("ip", 1_000).is_ok());
        }
        let wait = l.before_public_report("ip", 1_000).unwrap_err();
        assert_eq!(wait, 3_599);
        assert!(l.before_public_report("other", 1_000).is_ok());
        assert!(
            l.before_public_report("ip", 3_600_001).is_ok(),
            "a new hour"
        );
        for _ in 0..20 {
            assert!(l.before_tracking("ip", 0).is_ok());
        }
        assert_eq!(l.before_tracking("ip", 0), Err(600));
    }
}
