//! `weibao db check`: the invariants a crash, a restore or a copy must leave intact.
//!
//! Every write of the application keeps these together in one transaction; a violation
//! means a half-written change became visible (or someone edited the database by hand).
//! Each check is a query within one county's shard group, so it runs on Citus too.

use crate::db::Store;
use crate::error::StoreError;
use crate::on;

/// (what is wrong, the query listing the offending keys). Every query selects one text.
const CHECKS: &[(&str, &str)] = &[
    (
        "儿童记录缺少当前版本的修改记录",
        "SELECT c.id FROM children c WHERE NOT EXISTS (SELECT 1 FROM child_versions v
           WHERE v.county_code = c.county_code AND v.child_id = c.id AND v.version = c.version)",
    ),
    (
        "修改记录的版本号超过儿童记录本身（记录未随修改写入）",
        "SELECT v.child_id FROM child_versions v JOIN children c
           ON c.county_code = v.county_code AND c.id = v.child_id WHERE v.version > c.version",
    ),
    (
        "修改记录所属的儿童记录不存在",
        "SELECT v.child_id FROM child_versions v WHERE NOT EXISTS (SELECT 1 FROM children c
           WHERE c.county_code = v.county_code AND c.id = v.child_id)",
    ),
    (
        "探访记录缺少当前版本",
        "SELECT s.id FROM visits s WHERE NOT EXISTS (SELECT 1 FROM visit_versions v
           WHERE v.county_code = s.county_code AND v.visit_id = s.id AND v.version = s.version)",
    ),
    (
        "探访版本超过探访记录本身",
        "SELECT v.visit_id FROM visit_versions v JOIN visits s
           ON s.county_code = v.county_code AND s.id = v.visit_id WHERE v.version > s.version",
    ),
    (
        "探访记录所属的儿童不存在",
        "SELECT s.id FROM visits s WHERE NOT EXISTS (SELECT 1 FROM children c
           WHERE c.county_code = s.county_code AND c.id = s.child_id)",
    ),
    (
        "幂等键指向不存在的探访或照片",
        "SELECT k.key FROM idempotency_keys k WHERE NOT EXISTS (SELECT 1 FROM visits s
           WHERE s.county_code = k.county_code AND s.id = k.resource_id)
           AND NOT EXISTS (SELECT 1 FROM photos p
           WHERE p.county_code = k.county_code AND p.id = k.resource_id)",
    ),
    (
        "报告附件所属的报告不存在",
        "SELECT a.id FROM report_attachments a WHERE NOT EXISTS (SELECT 1 FROM reports r
           WHERE r.county_code = a.county_code AND r.id = a.report_id)",
    ),
    (
        "任务附件所属的任务不存在",
        "SELECT f.id FROM plan_task_files f WHERE NOT EXISTS (SELECT 1 FROM plan_tasks t
           WHERE t.county_code = f.county_code AND t.id = f.task_id)",
    ),
    (
        "活动照片所属的活动不存在",
        "SELECT f.id FROM record_files f WHERE f.owner = 'activity' AND NOT EXISTS
           (SELECT 1 FROM activities a WHERE a.county_code = f.county_code AND a.id = f.owner_id)",
    ),
    (
        "答复附件所属的建议（提案）不存在",
        "SELECT f.id FROM record_files f WHERE f.owner = 'proposal' AND NOT EXISTS
           (SELECT 1 FROM proposals p WHERE p.county_code = f.county_code AND p.id = f.owner_id)",
    ),
    (
        "查询记录的授权书不存在",
        "SELECT c.id FROM record_checks c WHERE NOT EXISTS (SELECT 1 FROM record_files f
           WHERE f.county_code = c.county_code AND f.id = c.consent_id)",
    ),
    (
        "服务记录所属的服务人员不存在",
        "SELECT r.id FROM service_records r WHERE NOT EXISTS (SELECT 1 FROM service_workers w
           WHERE w.county_code = r.county_code AND w.id = r.worker_id)",
    ),
    (
        "预警所属的探访不存在",
        "SELECT a.id FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM visits s
           WHERE s.county_code = a.county_code AND s.id = a.visit_id)",
    ),
];

/// At most this many keys are named per problem.
const NAMED: usize = 5;

impl Store {
    /// Every broken invariant, each with up to five offending keys; empty when all hold.
    /// Also checks that every photo's file is there and every audit chain verifies.
    pub async fn check_integrity(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let mut conn = self.read().await?;
        for (what, sql) in CHECKS {
            let keys: Vec<String> = on!(conn.conn(), |c| sqlx::query_scalar(sql)
                .fetch_all(&mut *c)
                .await)?;
            if !keys.is_empty() {
                problems.push(name_keys(what, &keys));
            }
        }
        let mut photos: Vec<String> = Vec::new();
        for table in crate::dump::BLOB_TABLES {
            let sql = format!("SELECT id FROM {table} ORDER BY id");
            let ids: Vec<String> = on!(conn.conn(), |c| sqlx::query_scalar(&sql)
                .fetch_all(&mut *c)
                .await)?;
            photos.extend(ids);
        }
        drop(conn);
        let blobs = self.blobs.clone();
        let missing = tokio::task::spawn_blocking(move || {
            photos
                .into_iter()
                .filter(|id| !blobs.exists(id).unwrap_or(false))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| StoreError::Config(format!("照片检查失败：{e}")))?;
        if !missing.is_empty() {
            problems.push(name_keys("照片或附件文件缺失", &missing));
        }
        if let Err(bad) = self.verify_audit().await? {
            problems.push(format!("审计链校验失败：{bad}"));
        }
        let counts = self.check_counts().await?;
        if !counts.is_empty() {
            problems.push(format!(
                "统计计数与记录不符：{} 处（{}）",
                counts.len(),
                counts
                    .iter()
                    .take(NAMED)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("；")
            ));
        }
        Ok(problems)
    }
}

fn name_keys(what: &str, keys: &[String]) -> String {
    let named: Vec<&str> = keys.iter().take(NAMED).map(String::as_str).collect();
    let more = if keys.len() > NAMED { " 等" } else { "" };
    format!("{what}：{} 处（{}{more}）", keys.len(), named.join("、"))
}
