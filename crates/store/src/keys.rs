//! Encryption at rest of the most sensitive fields: SM4 in GCM mode (authenticated, as in
//! RFC 8998) under data keys kept outside the database, and a keyed SM3 blind index
//! (HMAC-SM3) of the 身份证号 so that lookup and duplicate detection still work.
//!
//! Encrypted: a child's 身份证号 (`children.id_number`), the record's details (guardians'
//! 身份证号 and phone numbers, address, health, family situation, notes:
//! `children.details`) and the history of changes (`child_versions.changes`). Lists and
//! filters read plain columns that hold no number (name, masked number, codes).
//!
//! The key file (`--key-file`, `WEIBAO_KEY_FILE`, default `<data-dir>/weibao.keys`) holds
//! lines `sm4 <id> <32 hex>` (data keys; the highest id encrypts) and `index <64 hex>`.
//! The database records each key's check value (never the key), so a process started with
//! the wrong key file refuses to run instead of writing what nobody can read.
//!
//! A sealed value is `sm4g2:<key id>:<base64 of 12-byte nonce, ciphertext, 16-byte tag>`
//! (values from before 2026-11 are `sm4g1:` with hex, a third longer; both open);
//! the associated data names the table, column and record, so a value moved to another
//! record or column does not open.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::AesGcm;
use hmac::{Hmac, Mac};
use sm3::Sm3;
use sm4::Sm4;

use crate::crypto::{hex, random_bytes, unhex};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;

type Sm4Gcm = AesGcm<Sm4, aes_gcm::aead::consts::U12>;

const PREFIX: &str = "sm4g2:";
/// The first format: hex instead of base64.
const PREFIX_HEX: &str = "sm4g1:";

/// The keys of one installation.
pub struct FieldKeys {
    data: Vec<(u32, [u8; 16])>,
    index: [u8; 32],
    /// The index key's HMAC, keyed once (keying hashes two blocks: cloning it is cheaper
    /// than keying it again for each of a million numbers).
    index_mac: Hmac<Sm3>,
    pub path: PathBuf,
}

fn index_mac(key: &[u8; 32]) -> Hmac<Sm3> {
    <Hmac<Sm3> as Mac>::new_from_slice(key).expect("any key length")
}

fn bad_file(path: &Path, why: impl std::fmt::Display) -> StoreError {
    StoreError::Config(format!(
        "密钥文件 {} 无法使用（{why}）：请恢复服务器使用的密钥文件，不要手工修改",
        path.display()
    ))
}

/// A key of exactly N bytes from hex.
fn key_from_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    unhex(s)?.try_into().ok()
}

impl FieldKeys {
    /// Fresh keys (one data key, id 1), not yet written anywhere.
    pub fn generate(path: &Path) -> FieldKeys {
        let index = random_bytes();
        FieldKeys {
            data: vec![(1, random_bytes())],
            index_mac: index_mac(&index),
            index,
            path: path.to_path_buf(),
        }
    }

    /// Reads a key file; None when there is none.
    pub fn read(path: &Path) -> Result<Option<FieldKeys>, StoreError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(bad_file(path, e)),
        };
        let mut data = Vec::new();
        let mut index = None;
        for (n, line) in text.lines().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                [w, ..] if w.starts_with('#') => {}
                ["sm4", id, key] => {
                    let id: u32 = id
                        .parse()
                        .map_err(|_| bad_file(path, format!("第 {} 行的密钥编号无效", n + 1)))?;
                    let key = key_from_hex::<16>(key).ok_or_else(|| {
                        bad_file(path, format!("第 {} 行的密钥不是 32 位十六进制", n + 1))
                    })?;
                    data.push((id, key));
                }
                ["index", key] => {
                    index = Some(key_from_hex::<32>(key).ok_or_else(|| {
                        bad_file(path, format!("第 {} 行的索引密钥不是 64 位十六进制", n + 1))
                    })?);
                }
                _ => return Err(bad_file(path, format!("第 {} 行无法识别", n + 1))),
            }
        }
        let index = index.ok_or_else(|| bad_file(path, "缺少 index 行"))?;
        if data.is_empty() {
            return Err(bad_file(path, "缺少 sm4 密钥行"));
        }
        data.sort_by_key(|(id, _)| *id);
        Ok(Some(FieldKeys {
            data,
            index_mac: index_mac(&index),
            index,
            path: path.to_path_buf(),
        }))
    }

    /// Writes the key file (mode 0600) through a temporary file renamed into place.
    pub fn write(&self) -> Result<(), StoreError> {
        let mut text =
            String::from("# 未保字段加密密钥：与数据库分开保存和备份；丢失则加密字段无法读取\n");
        text.push_str(&format!("index {}\n", hex(&self.index)));
        for (id, key) in &self.data {
            text.push_str(&format!("sm4 {id} {}\n", hex(key)));
        }
        let fail = |e: std::io::Error| {
            StoreError::Config(format!("无法写入密钥文件 {}：{e}", self.path.display()))
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let tmp = self.path.with_extension("tmp");
        // A stale temporary file could carry other permissions: start from none.
        let _ = std::fs::remove_file(&tmp);
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp).map_err(fail)?;
            f.write_all(text.as_bytes()).map_err(fail)?;
            f.sync_all().map_err(fail)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(fail)?;
        // The rename itself must survive a crash: records sealed next depend on it.
        let dir = match self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d.to_path_buf(),
            None => PathBuf::from("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(fail)
    }

    /// The id of the key new values are sealed with.
    pub fn current(&self) -> u32 {
        self.data.last().expect("at least one data key").0
    }

    /// Every data key's id.
    pub fn ids(&self) -> Vec<u32> {
        self.data.iter().map(|(id, _)| *id).collect()
    }

    /// Adds a new data key, which becomes the current one; returns its id.
    pub fn add_key(&mut self) -> u32 {
        let id = self.current() + 1;
        self.data.push((id, random_bytes()));
        id
    }

    /// Drops every data key but the current one.
    pub fn retire_old(&mut self) {
        let current = self.current();
        self.data.retain(|(id, _)| *id == current);
    }

    fn cipher(&self, id: u32) -> Option<Sm4Gcm> {
        self.data
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, k)| Sm4Gcm::new(k.into()))
    }

    /// A short public fingerprint of a key (kept in the database to recognise it).
    fn check(key: &[u8]) -> String {
        let mut mac = <Hmac<Sm3> as Mac>::new_from_slice(key).expect("any key length");
        mac.update(b"weibao key check v1");
        hex(&mac.finalize().into_bytes()[..8])
    }

    /// (key id, check value) of every data key, and ("index", 0) as id 0.
    pub fn check_values(&self) -> Vec<(i64, String)> {
        let mut v = vec![(0i64, Self::check(&self.index))];
        v.extend(
            self.data
                .iter()
                .map(|(id, k)| (i64::from(*id), Self::check(k))),
        );
        v
    }

    /// Seals `plain` for the place `aad` names (table.column:record).
    pub fn seal(&self, aad: &str, plain: &str) -> String {
        let id = self.current();
        let nonce: [u8; 12] = random_bytes();
        let sealed = self
            .cipher(id)
            .expect("the current key exists")
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("SM4-GCM encryption of a short message");
        let mut body = nonce.to_vec();
        body.extend(sealed);
        use base64::Engine;
        format!(
            "{PREFIX}{id}:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(&body)
        )
    }

    /// Opens a sealed value; a value without the prefix (written before encryption was
    /// turned on) is returned as it is, until the first start re-seals it.
    pub fn open(&self, aad: &str, value: &str) -> Result<String, StoreError> {
        let (rest, hex_body) = match value.strip_prefix(PREFIX) {
            Some(rest) => (rest, false),
            None => match value.strip_prefix(PREFIX_HEX) {
                Some(rest) => (rest, true),
                None => return Ok(value.to_string()),
            },
        };
        let broken = |why: &str| {
            StoreError::Config(format!(
                "加密字段（{aad}）无法解密：{why}。请确认使用了服务器的密钥文件"
            ))
        };
        let (id, body) = rest.split_once(':').ok_or_else(|| broken("格式错误"))?;
        let id: u32 = id.parse().map_err(|_| broken("密钥编号错误"))?;
        let cipher = self
            .cipher(id)
            .ok_or_else(|| broken(&format!("密钥文件中没有编号 {id} 的密钥")))?;
        let body = if hex_body {
            unhex(body)
        } else {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(body)
                .ok()
        }
        .ok_or_else(|| broken("格式错误"))?;
        if body.len() < 12 + 16 {
            return Err(broken("长度错误"));
        }
        let (nonce, sealed) = body.split_at(12);
        let plain = cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| broken("校验失败（内容被改动或被移到了别的记录）"))?;
        String::from_utf8(plain).map_err(|_| broken("内容不是文本"))
    }

    /// Whether `value` is sealed with the current key.
    pub fn is_current(&self, value: &str) -> bool {
        value.starts_with(&format!("{PREFIX}{}:", self.current()))
    }

    /// The keyed blind index of a 身份证号 (HMAC-SM3, hex).
    pub fn index(&self, id_number: &str) -> String {
        let mut mac = self.index_mac.clone();
        mac.update(id_number.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

/// Rows re-sealed per transaction.
const RESEAL_BATCH: i64 = 500;

/// What a re-sealing pass changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    pub children: u64,
    pub versions: u64,
    /// Reports, referrals, cases, their measures, conferences and timelines, units'
    /// webhooks.
    pub records: u64,
    /// Allowance bank accounts and the sealed copies in rolls' lines.
    pub allowances: u64,
}

/// The other sealed columns, each sealed for "table.column:id" and keyed by
/// (county_code, id).
const SEALED_COLUMNS: &[(&str, &str)] = &[
    ("reports", "details"),
    ("referrals", "details"),
    ("cases", "details"),
    ("case_measures", "detail"),
    ("case_conferences", "record"),
    ("timeline", "detail"),
    ("units", "webhook_url"),
    ("report_attachments", "name"),
    ("plan_task_files", "name"),
    ("record_files", "name"),
    ("record_list", "details"),
    ("record_checks", "details"),
    ("dept_lists", "file_name"),
    ("list_findings", "details"),
    ("helpers", "phone"),
    ("pairing_contacts", "note"),
    ("warnings", "facts"),
    ("warnings", "reason"),
];

impl Store {
    /// The checked keys (after [`Store::migrate`]).
    pub(crate) fn keys(&self) -> Result<Arc<FieldKeys>, StoreError> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| StoreError::Config("字段密钥尚未加载：请先执行数据库迁移".into()))
    }

    async fn registered_keys(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(
            "SELECT id, check_value FROM field_keys ORDER BY id"
        )
        .fetch_all(&mut *c)
        .await)?)
    }

    async fn register_keys(&self, keys: &FieldKeys) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for (id, check) in keys.check_values() {
            on!(tx.conn(), |c| sqlx::query(
                "INSERT INTO field_keys (id, check_value, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO NOTHING"
            )
            .bind(id)
            .bind(&check)
            .bind(self.now_ms())
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        }
        tx.commit().await
    }

    /// Loads the key file and checks it against the keys the database was sealed with.
    /// A new database gets new keys (the file is written); values written before
    /// encryption existed are sealed on that first start.
    pub(crate) async fn bind_keys(&self) -> Result<(), StoreError> {
        let path = self.key_file.as_path();
        let registered = self.registered_keys().await?;
        let file = FieldKeys::read(path)?;
        let first = registered.is_empty();
        let keys = match file {
            Some(k) => k,
            None if first => {
                let k = FieldKeys::generate(path);
                k.write()?;
                tracing::info!("已生成字段加密密钥文件 {}", path.display());
                k
            }
            None => {
                return Err(StoreError::Config(format!(
                    "密钥文件 {} 不存在，而数据库中的身份证号等字段是用它加密的：\
                     请用 --key-file（或环境变量 WEIBAO_KEY_FILE）指向服务器使用的密钥文件",
                    path.display()
                )))
            }
        };
        let ours = keys.check_values();
        for (id, check) in &registered {
            if !ours.iter().any(|(i, c)| i == id && c == check) {
                let which = if *id == 0 {
                    "索引密钥".to_string()
                } else {
                    format!("编号 {id} 的加密密钥")
                };
                return Err(StoreError::Config(format!(
                    "密钥文件 {} 与数据库不符（缺少或不同：{which}）：\
                     请用 --key-file（或环境变量 WEIBAO_KEY_FILE）指向服务器使用的密钥文件",
                    path.display()
                )));
            }
        }
        let keys = Arc::new(keys);
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Some(keys.clone());
        if first {
            // Values from before encryption are sealed before the keys are registered: a
            // pass cut short is taken up again by the next start, which still sees no keys.
            let done = self.reseal(&keys).await?;
            if done.children + done.versions > 0 {
                tracing::info!(
                    "已加密既有记录：{} 份儿童档案，{} 条修改记录",
                    done.children,
                    done.versions
                );
            }
        }
        // Nothing to write on an ordinary start: every key of the file is registered.
        if ours.iter().any(|k| !registered.contains(k)) {
            self.register_keys(&keys).await?;
            // Two first starts at once with different key files: only one set is registered.
            let now_registered = self.registered_keys().await?;
            if let Some((id, _)) = now_registered.iter().find(|r| !ours.contains(r)) {
                return Err(StoreError::Config(format!(
                    "另一个进程同时以不同的密钥文件初始化了数据库（密钥编号 {id}）：\
                     请停止其他进程，统一使用同一个密钥文件 {} 后重新启动",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// Seals with the current key every value that is not (plain values from before
    /// encryption, values under older keys), recomputing the blind index of each record it
    /// touches, and the second-factor secrets.
    /// Batches of a few hundred rows, each its own transaction: an interrupted pass is
    /// taken up again by the next.
    pub(crate) async fn reseal(&self, keys: &FieldKeys) -> Result<Resealed, StoreError> {
        let current = format!("{PREFIX}{}:%", keys.current());
        let mut done = Resealed::default();
        // Children: the number, the details and the blind index (registry included).
        let mut after = (String::new(), String::new());
        loop {
            let rows: Vec<(String, String, String, String, String)> = {
                let mut c = self.read().await?;
                on!(c.conn(), |c| sqlx::query_as(
                    "SELECT county_code, id, id_number, details, id_index FROM children
                     WHERE (county_code, id) > ($1, $2)
                       AND (id_number NOT LIKE $3 OR details NOT LIKE $3)
                     ORDER BY county_code, id LIMIT $4"
                )
                .bind(&after.0)
                .bind(&after.1)
                .bind(&current)
                .bind(RESEAL_BATCH)
                .fetch_all(&mut *c)
                .await)?
            };
            let Some(last) = rows.last() else { break };
            after = (last.0.clone(), last.1.clone());
            let mut tx = self.begin().await?;
            for (county, id, number, details, old_index) in rows {
                let plain = keys.open(&format!("children.id_number:{id}"), &number)?;
                let details = keys.open(&format!("children.details:{id}"), &details)?;
                let index = keys.index(&plain);
                on!(tx.conn(), |c| sqlx::query(
                    "UPDATE children SET id_number = $3, details = $4, id_index = $5
                     WHERE county_code = $1 AND id = $2"
                )
                .bind(&county)
                .bind(&id)
                .bind(keys.seal(&format!("children.id_number:{id}"), &plain))
                .bind(keys.seal(&format!("children.details:{id}"), &details))
                .bind(&index)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
                if index != old_index {
                    // The kin row's indexes are stale: the next match writes it again.
                    crate::child_kin::drop_kin(tx.conn(), &county, &id).await?;
                    // The registry is sharded by the index on Citus: move the row.
                    let moved = on!(tx.conn(), |c| sqlx::query(
                        "DELETE FROM child_id_registry WHERE id_index = $1 AND child_id = $2"
                    )
                    .bind(&old_index)
                    .bind(&id)
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected()))?;
                    if moved > 0 {
                        on!(tx.conn(), |c| sqlx::query(
                            "INSERT INTO child_id_registry (id_index, county_code, child_id)
                             VALUES ($1, $2, $3)"
                        )
                        .bind(&index)
                        .bind(&county)
                        .bind(&id)
                        .execute(&mut *c)
                        .await
                        .map(|r| r.rows_affected()))?;
                    }
                }
                done.children += 1;
            }
            tx.commit().await?;
        }
        // Second-factor secrets.
        let secrets: Vec<(String, String)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, totp_secret FROM users
                 WHERE totp_secret IS NOT NULL AND totp_secret NOT LIKE $1"
            )
            .bind(&current)
            .fetch_all(&mut *c)
            .await)?
        };
        if !secrets.is_empty() {
            let mut tx = self.begin().await?;
            for (id, sealed) in secrets {
                let aad = format!("users.totp_secret:{id}");
                let plain = keys.open(&aad, &sealed)?;
                on!(tx.conn(), |c| sqlx::query(
                    "UPDATE users SET totp_secret = $2 WHERE id = $1"
                )
                .bind(&id)
                .bind(keys.seal(&aad, &plain))
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
            }
            tx.commit().await?;
        }
        // Reports, cases and what hangs off them.
        for (table, column) in SEALED_COLUMNS {
            let select = format!(
                "SELECT county_code, id, {column} FROM {table}
                 WHERE {column} <> '' AND {column} NOT LIKE $1 LIMIT $2"
            );
            let update =
                format!("UPDATE {table} SET {column} = $3 WHERE county_code = $1 AND id = $2");
            loop {
                let rows: Vec<(String, String, String)> = {
                    let mut c = self.read().await?;
                    on!(c.conn(), |c| sqlx::query_as(&select)
                        .bind(&current)
                        .bind(RESEAL_BATCH)
                        .fetch_all(&mut *c)
                        .await)?
                };
                if rows.is_empty() {
                    break;
                }
                let mut tx = self.begin().await?;
                for (county, id, value) in rows {
                    let aad = format!("{table}.{column}:{id}");
                    let plain = keys.open(&aad, &value)?;
                    on!(tx.conn(), |c| sqlx::query(&update)
                        .bind(&county)
                        .bind(&id)
                        .bind(keys.seal(&aad, &plain))
                        .execute(&mut *c)
                        .await
                        .map(|r| r.rows_affected()))?;
                    done.records += 1;
                }
                tx.commit().await?;
            }
        }
        // Histories.
        loop {
            let rows: Vec<(String, String, i64, String)> = {
                let mut c = self.read().await?;
                on!(c.conn(), |c| sqlx::query_as(
                    "SELECT county_code, child_id, version, changes FROM child_versions
                     WHERE changes NOT LIKE $1 LIMIT $2"
                )
                .bind(&current)
                .bind(RESEAL_BATCH)
                .fetch_all(&mut *c)
                .await)?
            };
            if rows.is_empty() {
                break;
            }
            let mut tx = self.begin().await?;
            for (county, child, version, changes) in rows {
                let aad = format!("child_versions.changes:{child}:{version}");
                let plain = keys.open(&aad, &changes)?;
                on!(tx.conn(), |c| sqlx::query(
                    "UPDATE child_versions SET changes = $4
                     WHERE county_code = $1 AND child_id = $2 AND version = $3"
                )
                .bind(&county)
                .bind(&child)
                .bind(version)
                .bind(keys.seal(&aad, &plain))
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
                done.versions += 1;
            }
            tx.commit().await?;
        }
        done.allowances = self.reseal_allowances(keys, &current).await?;
        Ok(done)
    }

    /// `weibao keys rotate`: a new data key seals everything, then the old keys are
    /// dropped from the key file and the database. Run with the server stopped. Safe to
    /// interrupt: the file keeps every key until nothing uses the old ones, and a second
    /// run finishes the job.
    pub async fn rotate_keys(&self) -> Result<(u32, Resealed), StoreError> {
        let path = self.key_file.as_path();
        let mut keys = FieldKeys::read(path)?
            .ok_or_else(|| StoreError::Config(format!("密钥文件 {} 不存在", path.display())))?;
        keys.add_key();
        keys.write()?;
        self.register_keys(&keys).await?;
        let done = self.reseal(&keys).await?;
        let left = self.reseal(&keys).await?;
        if left != Resealed::default() {
            return Err(StoreError::Config(
                "轮换期间仍有记录以旧密钥写入：请停止服务器后重新执行 weibao keys rotate".into(),
            ));
        }
        // The database forgets the old keys first, then the file: interrupted between
        // the two, the file still holds every key the database names.
        let current = i64::from(keys.current());
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "DELETE FROM field_keys WHERE id <> 0 AND id <> $1"
        )
        .bind(current)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        keys.retire_old();
        keys.write()?;
        let id = keys.current();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(keys));
        Ok((id, done))
    }
}

/// Where the key file is: the given path, else `<data_dir>/weibao.keys`.
pub fn key_path(key_file: Option<&Path>, data_dir: &Path) -> PathBuf {
    key_file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data_dir.join("weibao.keys"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> FieldKeys {
        FieldKeys::generate(Path::new("/nonexistent/k"))
    }

    #[test]
    fn sealed_values_open_only_in_their_place_and_under_their_key() {
        let mut k = keys();
        let sealed = k.seal("children.id_number:c1", "510812201503070012");
        assert!(sealed.starts_with("sm4g2:1:"));
        assert!(!sealed.contains("510812"));
        assert_eq!(
            k.open("children.id_number:c1", &sealed).unwrap(),
            "510812201503070012"
        );
        assert!(
            k.open("children.id_number:c2", &sealed).is_err(),
            "moved to another record"
        );
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        assert!(k.open("children.id_number:c1", &tampered).is_err());
        // Two seals of one value differ (random nonce); both open.
        assert_ne!(
            sealed,
            k.seal("children.id_number:c1", "510812201503070012")
        );
        // Rotation: the new key seals, the old still opens until retired.
        k.add_key();
        let newer = k.seal("a", "x");
        assert!(newer.starts_with("sm4g2:2:") && k.is_current(&newer) && !k.is_current(&sealed));
        assert!(k.open("children.id_number:c1", &sealed).is_ok());
        k.retire_old();
        assert!(k.open("children.id_number:c1", &sealed).is_err());
        assert_eq!(k.open("a", &newer).unwrap(), "x");
        // Plain values from before encryption pass through.
        assert_eq!(k.open("a", "plain").unwrap(), "plain");
    }

    #[test]
    fn values_sealed_in_the_first_hex_format_still_open_and_count_as_not_current() {
        use base64::Engine;
        let k = keys();
        let sealed = k.seal("children.details:c1", "{\"notes\":\"住址\"}");
        let body = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(sealed.strip_prefix("sm4g2:1:").unwrap())
            .unwrap();
        let old = format!("sm4g1:1:{}", hex(&body));
        // A third shorter than the hex it replaces.
        assert!(sealed.len() <= 8 + (old.len() - 8) * 2 / 3 + 1);
        assert_eq!(
            k.open("children.details:c1", &old).unwrap(),
            "{\"notes\":\"住址\"}"
        );
        assert!(k.open("children.details:c2", &old).is_err());
        assert!(!k.is_current(&old), "the next re-sealing pass rewrites it");
    }

    #[test]
    fn the_blind_index_is_keyed() {
        let (a, b) = (keys(), keys());
        assert_eq!(a.index("510812201503070012"), a.index("510812201503070012"));
        assert_ne!(a.index("510812201503070012"), b.index("510812201503070012"));
        assert_eq!(a.index("x").len(), 64);
    }

    #[test]
    fn key_files_round_trip_and_refuse_garbage() {
        let dir = std::env::temp_dir().join(format!("weibao-keys-{}", uuid::Uuid::new_v4()));
        let path = dir.join("weibao.keys");
        assert!(FieldKeys::read(&path).unwrap().is_none());
        let mut k = FieldKeys::generate(&path);
        k.add_key();
        k.write().unwrap();
        let back = FieldKeys::read(&path).unwrap().unwrap();
        assert_eq!(back.check_values(), k.check_values());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "sm4 1 abc\n").unwrap();
        assert!(FieldKeys::read(&path).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
