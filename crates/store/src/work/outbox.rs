//! The notification outbox: a notification is a row written in the same transaction as the
//! change that causes it, shown in the app, and delivered by a worker to the unit's group
//! robot (企业微信 or 钉钉) when one is configured, retried with backoff. Notifications
//! carry no personal data: "您有 1 条紧急报告待处理" and a link.

use weibao_domain::access::{Action, Scope};

use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::script::Script;

/// Which group robot a unit has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    /// 企业微信群机器人
    Wecom,
    /// 钉钉群机器人
    DingTalk,
}

impl WebhookKind {
    pub fn code(self) -> &'static str {
        match self {
            WebhookKind::Wecom => "wecom",
            WebhookKind::DingTalk => "dingtalk",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            WebhookKind::Wecom => "企业微信群机器人",
            WebhookKind::DingTalk => "钉钉群机器人",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookKind> {
        match s.trim() {
            "wecom" | "企业微信" => Some(WebhookKind::Wecom),
            "dingtalk" | "钉钉" => Some(WebhookKind::DingTalk),
            _ => None,
        }
    }

    /// The message body the robot takes. Both robots take a text message of this shape.
    pub fn body(self, text: &str) -> serde_json::Value {
        serde_json::json!({"msgtype": "text", "text": {"content": text}})
    }
}

/// A notification shown in the app.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Notification {
    pub county_code: String,
    pub id: String,
    pub text: String,
    pub link: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// A webhook delivery waiting for the worker.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Webhook {
    pub county_code: String,
    pub id: String,
    pub unit_id: String,
    pub text: String,
    pub link: String,
    pub attempts: i32,
}

/// Attempts before a webhook is given up (the notification stays in the app).
pub const WEBHOOK_ATTEMPTS: i32 = 10;

/// Adds notifications for a unit (in the app, and to its robot if it has one) or a user
/// (in the app) to the script of a change. `key`, when given, makes the notification
/// once only (a daily digest).
#[allow(clippy::too_many_arguments)]
pub(crate) fn notify(
    script: &mut Script,
    county: &str,
    unit_id: Option<&str>,
    user_id: Option<&str>,
    text: &str,
    link: &str,
    now: i64,
    key: Option<&str>,
) {
    let id = key
        .map(|k| format!("{k}:app"))
        .unwrap_or_else(super::new_id);
    script.push(
        "INSERT INTO outbox (county_code, id, unit_id, user_id, channel, text, link, created_at, next_at)
         VALUES ($1, $2, $3, $4, 'app', $5, $6, $7, $7) ON CONFLICT (county_code, id) DO NOTHING",
        vec![
            county.into(),
            id.into(),
            unit_id.map(String::from).into(),
            user_id.map(String::from).into(),
            text.into(),
            link.into(),
            now.into(),
        ],
    );
    if let Some(unit) = unit_id {
        let id = key
            .map(|k| format!("{k}:webhook"))
            .unwrap_or_else(super::new_id);
        script.push(
            "INSERT INTO outbox (county_code, id, unit_id, channel, text, link, created_at, next_at)
             SELECT $1, $2, id, 'webhook', $3, $4, $5, $5 FROM units
             WHERE id = $6 AND webhook_kind <> '' AND active
             ON CONFLICT (county_code, id) DO NOTHING",
            vec![
                county.into(),
                id.into(),
                text.into(),
                link.into(),
                now.into(),
                unit.into(),
            ],
        );
    }
}

/// Clears what was said about `link` (a referral that left the unit's hands, a report
/// acknowledged): its notifications in the app count as read and its robot messages not
/// yet delivered are not sent. Added to the script of the change that resolved it, before
/// any notification that change makes about the same link.
pub(crate) fn clear_notifications(script: &mut Script, county: &str, link: &str, now: i64) {
    script.push(
        "UPDATE outbox SET read_at = $3 WHERE county_code = $1 AND link = $2
         AND channel = 'app' AND read_at IS NULL",
        vec![county.into(), link.into(), now.into()],
    );
    script.push(
        "UPDATE outbox SET next_at = $3, last_error = '事项已处理，不再发送'
         WHERE county_code = $1 AND link = $2 AND channel = 'webhook' AND delivered_at IS NULL",
        vec![county.into(), link.into(), i64::MAX.into()],
    );
}

impl Store {
    /// Webhooks due for delivery (never delivered, next attempt due), oldest first.
    pub async fn due_webhooks(&self, limit: i64) -> Result<Vec<Webhook>, StoreError> {
        let now = self.now_ms();
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(
            "SELECT county_code, id, unit_id, text, link, attempts FROM outbox
             WHERE delivered_at IS NULL AND channel = 'webhook' AND next_at <= $1
             ORDER BY next_at LIMIT $2"
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *c)
        .await)?)
    }

    /// The robot a webhook goes to (kind and URL), if the unit still has one.
    pub async fn webhook_target(
        &self,
        hook: &Webhook,
    ) -> Result<Option<(WebhookKind, String)>, StoreError> {
        self.unit_webhook(&hook.unit_id).await
    }

    /// Records a delivery attempt: done, or failed with the reason and the next attempt
    /// after a backoff (30 s, 1 min, 2 min … at most an hour; given up after
    /// [`WEBHOOK_ATTEMPTS`]).
    pub async fn webhook_attempted(
        &self,
        hook: &Webhook,
        outcome: Result<(), String>,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        match outcome {
            Ok(()) => {
                super::exec(
                    &mut tx,
                    "UPDATE outbox SET delivered_at = $3, attempts = attempts + 1, last_error = ''
                     WHERE county_code = $1 AND id = $2",
                    vec![
                        hook.county_code.clone().into(),
                        hook.id.clone().into(),
                        now.into(),
                    ],
                )
                .await?;
            }
            Err(why) => {
                let attempts = hook.attempts + 1;
                let next = if attempts >= WEBHOOK_ATTEMPTS {
                    i64::MAX
                } else {
                    now + (30_000i64 << (attempts - 1).min(7)).min(3_600_000)
                };
                super::exec(
                    &mut tx,
                    "UPDATE outbox SET attempts = $3, next_at = $4, last_error = $5
                     WHERE county_code = $1 AND id = $2",
                    vec![
                        hook.county_code.clone().into(),
                        hook.id.clone().into(),
                        i64::from(attempts).into(),
                        next.into(),
                        why.chars().take(300).collect::<String>().into(),
                    ],
                )
                .await?;
            }
        }
        tx.commit().await
    }

    /// The caller's notifications in the app, newest first: their own and their units'.
    pub async fn notifications(
        &self,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<Notification>, StoreError> {
        let units = self.units_of(scope).await?;
        let mut out: Vec<Notification> = Vec::new();
        let mut c = self.read().await?;
        let mine: Vec<Notification> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT county_code, id, text, link, created_at, read_at FROM outbox
             WHERE user_id = $1 AND channel = 'app' ORDER BY created_at DESC LIMIT $2"
        )
        .bind(&scope.user_id)
        .bind(limit)
        .fetch_all(&mut *c)
        .await)?;
        out.extend(mine);
        for unit in &units {
            let theirs: Vec<Notification> = on!(c.conn(), |c| sqlx::query_as(
                "SELECT county_code, id, text, link, created_at, read_at FROM outbox
                 WHERE unit_id = $1 AND channel = 'app' ORDER BY created_at DESC LIMIT $2"
            )
            .bind(unit)
            .bind(limit)
            .fetch_all(&mut *c)
            .await)?;
            out.extend(theirs);
        }
        out.sort_by_key(|n| std::cmp::Reverse(n.created_at));
        out.truncate(limit as usize);
        Ok(out)
    }

    /// Marks notifications read (the caller's or their units' only).
    pub async fn mark_read(
        &self,
        scope: &Scope,
        ids: &[(String, String)],
    ) -> Result<(), StoreError> {
        scope.check_role(Action::ViewReports)?;
        let units = self.units_of(scope).await?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        for (county, id) in ids {
            for unit in units.iter().map(Some).chain([None]) {
                match unit {
                    Some(u) => {
                        super::exec(
                            &mut tx,
                            "UPDATE outbox SET read_at = $4 WHERE county_code = $1 AND id = $2
                         AND unit_id = $3 AND read_at IS NULL",
                            vec![
                                county.clone().into(),
                                id.clone().into(),
                                u.clone().into(),
                                now.into(),
                            ],
                        )
                        .await?
                    }
                    None => {
                        super::exec(
                            &mut tx,
                            "UPDATE outbox SET read_at = $4 WHERE county_code = $1 AND id = $2
                         AND user_id = $3 AND read_at IS NULL",
                            vec![
                                county.clone().into(),
                                id.clone().into(),
                                scope.user_id.clone().into(),
                                now.into(),
                            ],
                        )
                        .await?
                    }
                };
            }
        }
        tx.commit().await
    }
}
