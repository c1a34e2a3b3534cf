//! The background work of a server: events from the ledger and visits consumed (a danger
//! found on a visit opens a report; reports follow a child that moved county), webhooks
//! delivered to units' group robots with retries, late supervised items escalated, a
//! daily digest per unit at 08:00 Beijing time and, once a day, the joint-meeting minimum
//! checked; the early warnings of the children changed since the last round evaluated,
//! and every child's once a night (from 02:00 Beijing time, on a task of its own so the
//! rest never waits for it); the statistics' counters brought to the new day after midnight.
//! Nothing is sent from a request handler: requests write rows;
//! this delivers them.

use std::time::Duration;

use chrono::Timelike;
use weibao_store::StoreError;

use crate::AppState;

/// How often the worker looks for work.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// The hour (Beijing time) daily digests go out.
pub const DIGEST_HOUR: u32 = 8;
/// The hour (Beijing time) from which every child's early warnings are evaluated again.
pub const WARNING_SWEEP_HOUR: u32 = 2;
/// Changed children whose warnings one round evaluates (the rest wait for the next).
const WARNINGS_PER_ROUND: usize = 200;

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub events: usize,
    pub delivered: usize,
    pub failed: usize,
    pub escalated: usize,
    pub digests: usize,
    /// Offices warned that the year runs short of joint meetings.
    pub meeting_warnings: usize,
    /// Departments' list files deleted at the end of their retention period.
    pub lists_expired: usize,
    /// Children whose early warnings were evaluated after a change.
    pub warnings_evaluated: usize,
}

/// The day (days since 1970, Beijing) the joint-meeting minimum was last checked by this
/// process: once a day is enough, the check itself adds each warning once a year.
static MEETINGS_CHECKED_ON: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(-1);

/// Posts one notification to a group robot; the robots answer HTTP 200 with a JSON
/// `errcode` of 0 when they took it.
fn post(kind: weibao_store::WebhookKind, url: &str, text: &str) -> Result<(), String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .redirects(0)
        .build();
    let res = agent
        .post(url)
        .send_json(kind.body(text))
        .map_err(|e| match e {
            ureq::Error::Status(code, _) => format!("HTTP {code}"),
            other => other.to_string(),
        })?;
    let body: serde_json::Value = res.into_json().unwrap_or(serde_json::Value::Null);
    match body.get("errcode").and_then(|c| c.as_i64()) {
        None | Some(0) => Ok(()),
        Some(code) => Err(format!(
            "errcode {code}: {}",
            body.get("errmsg").and_then(|m| m.as_str()).unwrap_or("")
        )),
    }
}

/// One round of everything due.
pub async fn run_once(state: &AppState) -> Result<Round, StoreError> {
    let store = &state.store;
    let mut round = Round {
        events: store.consume_events(200).await?,
        ..Round::default()
    };
    for hook in store.due_webhooks(50).await? {
        let target = store.webhook_target(&hook).await?;
        let Some((kind, url)) = target else {
            store
                .webhook_attempted(&hook, Err("单位已删除群机器人".into()))
                .await?;
            round.failed += 1;
            continue;
        };
        let link = match &state.public_url {
            Some(base) => format!("{base}{}", hook.link),
            None => hook.link.clone(),
        };
        let text = format!("【未保】{} {link}", hook.text);
        let outcome = tokio::task::spawn_blocking(move || post(kind, &url, &text))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        if outcome.is_ok() {
            round.delivered += 1;
        } else {
            round.failed += 1;
        }
        store.webhook_attempted(&hook, outcome).await?;
    }
    for child in store.take_changed_children(WARNINGS_PER_ROUND) {
        store.evaluate_warnings(&child).await?;
        round.warnings_evaluated += 1;
    }
    round.escalated = store.escalate_late().await?;
    let now = chrono::DateTime::from_timestamp_millis(store.clock().now_ms())
        .unwrap_or_default()
        .with_timezone(&weibao_domain::visit::cst());
    round.lists_expired = store.expire_dept_lists().await?;
    if now.hour() >= DIGEST_HOUR {
        let tomorrow = now.date_naive() + chrono::Duration::days(1);
        round.digests = store
            .send_digests(
                &now.date_naive().to_string(),
                weibao_domain::work::calendar::end_of_day_ms(tomorrow),
            )
            .await?;
        let day = now
            .date_naive()
            .signed_duration_since(chrono::NaiveDate::default())
            .num_days();
        if MEETINGS_CHECKED_ON.swap(day, std::sync::atomic::Ordering::Relaxed) != day {
            round.meeting_warnings = store.check_meetings().await?;
        }
    }
    Ok(round)
}

/// Whether every child's warnings are due for their nightly evaluation at `now_ms`: past
/// 02:00 Beijing time and not done since.
pub async fn warning_sweep_due(state: &AppState) -> Result<bool, StoreError> {
    let now = chrono::DateTime::from_timestamp_millis(state.store.clock().now_ms())
        .unwrap_or_default()
        .with_timezone(&weibao_domain::visit::cst());
    if now.hour() < WARNING_SWEEP_HOUR {
        return Ok(false);
    }
    let from = now
        .date_naive()
        .and_hms_opt(WARNING_SWEEP_HOUR, 0, 0)
        .and_then(|t| t.and_local_timezone(weibao_domain::visit::cst()).single())
        .map(|t| t.timestamp_millis())
        .unwrap_or(i64::MAX);
    Ok(state
        .store
        .warning_mark("nightly")
        .await?
        .is_none_or(|done| done < from))
}

/// Evaluates every child's warnings once a night, logging the progress.
async fn sweep_warnings(state: &AppState) -> Result<(), StoreError> {
    if !warning_sweep_due(state).await? {
        return Ok(());
    }
    tracing::info!("预警：开始逐一评估全部儿童");
    let mut last_logged = 0;
    let changes = state
        .store
        .evaluate_all_warnings(|done, of| {
            if done - last_logged >= 10_000 || done == of {
                last_logged = done;
                tracing::info!("预警：已评估 {done}/{of} 名儿童");
            }
        })
        .await?;
    tracing::info!(
        "预警：评估完成，新增 {}、更新 {}、消除 {}",
        changes.raised,
        changes.refreshed,
        changes.ended
    );
    Ok(())
}

/// Runs rounds until the process ends.
pub fn spawn(state: AppState) {
    let counters = state.clone();
    tokio::spawn(async move {
        // The statistics' counters are for a day: after midnight (and after a start on a
        // database loaded without them) each county's are rebuilt here, one at a time,
        // before a reader has to wait for it.
        loop {
            match counters.store.refresh_counts(None).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("统计：已重算 {n} 个县（区）的台账计数"),
                Err(e) => tracing::error!("statistics counters refresh failed: {e}"),
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    });
    let nightly = state.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = sweep_warnings(&nightly).await {
                tracing::error!("nightly warning evaluation failed: {e}");
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    });
    tokio::spawn(async move {
        loop {
            if let Err(e) = run_once(&state).await {
                tracing::error!("background work failed: {e}");
            }
            tokio::time::sleep(INTERVAL).await;
        }
    });
}
