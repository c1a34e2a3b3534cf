//! `weibao backup`, `weibao restore` and `weibao db copy`: a store's snapshot stream
//! (weibao_store::DumpItem) written to a gzip file, read back from one, or relayed straight
//! into another database, with a progress line.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;
use weibao_store::{DumpItem, DumpSummary, Store};

fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg} （{elapsed}）").expect("progress template"),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Counts what passes for the progress line.
struct Progress {
    bar: ProgressBar,
    verb: &'static str,
    table: String,
    rows: u64,
    blobs: u64,
}

impl Progress {
    fn new(verb: &'static str) -> Progress {
        Progress {
            bar: spinner(verb),
            verb,
            table: String::new(),
            rows: 0,
            blobs: 0,
        }
    }

    fn saw(&mut self, item: &DumpItem) {
        match item {
            DumpItem::Table { name, .. } => self.table = name.clone(),
            DumpItem::Rows(batch) => {
                // Row objects are separated by "},{" at the top level of the batch; the
                // count is for the progress line only.
                self.rows += batch.get().matches("},{").count() as u64 + 1;
            }
            DumpItem::Blob { .. } => self.blobs += 1,
            _ => {}
        }
        self.bar.set_message(format!(
            "{}：{} 表，约 {} 行，{} 张照片",
            self.verb, self.table, self.rows, self.blobs
        ));
    }
}

fn report(summary: &DumpSummary) -> String {
    let tables: Vec<String> = summary
        .rows
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    format!(
        "{} 行，{} 张照片（{}）",
        summary.total_rows(),
        summary.blobs,
        tables.join("，")
    )
}

/// Writes a snapshot to `out` (gzip JSON lines) through a temporary file renamed into
/// place once synced, so a failed backup never leaves a truncated file under that name.
pub async fn backup(store: &Store, out: &Path) -> Result<String, String> {
    let tmp = out.with_extension("partial");
    let file = File::create(&tmp).map_err(|e| format!("无法创建 {}：{e}", tmp.display()))?;
    let (tx, mut rx) = mpsc::channel(8);
    let source = store.clone();
    let reader = tokio::spawn(async move { source.snapshot(tx).await });
    let mut progress = Progress::new("备份");
    let mut gz = GzEncoder::new(BufWriter::new(file), flate2::Compression::fast());
    let written: Result<(), String> = async {
        while let Some(item) = rx.recv().await {
            progress.saw(&item);
            item.write(&mut gz)
                .map_err(|e| format!("写入 {} 失败：{e}", tmp.display()))?;
        }
        Ok(())
    }
    .await;
    drop(rx);
    let read = reader.await.map_err(|e| format!("备份中断：{e}"));
    progress.bar.finish_and_clear();
    let finished = (|| -> Result<DumpSummary, String> {
        let summary = read?.map_err(|e| format!("备份失败：{e}"))?;
        written?;
        let file = gz
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .map_err(|e| format!("写入 {} 失败：{e}", tmp.display()))?;
        file.sync_all()
            .map_err(|e| format!("写入 {} 失败：{e}", tmp.display()))?;
        std::fs::rename(&tmp, out).map_err(|e| format!("无法写入 {}：{e}", out.display()))?;
        Ok(summary)
    })();
    let summary = finished.inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "已备份到 {}（{} 字节）：{}",
        out.display(),
        size,
        report(&summary)
    ))
}

/// Loads a backup file into `store` (empty and migrated): all of it or nothing.
pub async fn restore(store: &Store, file: &Path) -> Result<String, String> {
    let f = File::open(file).map_err(|e| format!("无法打开备份文件 {}：{e}", file.display()))?;
    let (tx, rx) = mpsc::channel(8);
    let target = store.clone();
    let loader = tokio::spawn(async move { target.load(rx).await });
    let mut progress = Progress::new("恢复");
    let mut input = BufReader::new(GzDecoder::new(BufReader::new(f)));
    let read: Result<(), String> = async {
        // A read error ends the stream early; the loader then reports the missing trailer
        // (or this error, when it is the cause).
        while let Some(item) = DumpItem::read(&mut input).map_err(|e| e.to_string())? {
            progress.saw(&item);
            if tx.send(item).await.is_err() {
                break;
            }
        }
        Ok(())
    }
    .await;
    drop(tx);
    let loaded = loader.await.map_err(|e| format!("恢复中断：{e}"))?;
    progress.bar.finish_and_clear();
    match (read, loaded) {
        (Err(e), _) => Err(format!("恢复失败，未写入任何数据：{e}")),
        (Ok(()), Err(e)) => Err(format!("恢复失败，未写入任何数据：{e}")),
        (Ok(()), Ok(summary)) => Ok(format!("已恢复：{}", report(&summary))),
    }
}

/// Copies the installation in `from` into `to` (empty and migrated).
pub async fn copy(from: &Store, to: &Store) -> Result<String, String> {
    let (tx, mut rx) = mpsc::channel(8);
    let (relay, relayed) = mpsc::channel(8);
    let source = from.clone();
    let reader = tokio::spawn(async move { source.snapshot(tx).await });
    let target = to.clone();
    let loader = tokio::spawn(async move { target.load(relayed).await });
    let mut progress = Progress::new("迁移");
    while let Some(item) = rx.recv().await {
        progress.saw(&item);
        if relay.send(item).await.is_err() {
            break;
        }
    }
    drop(relay);
    drop(rx);
    let loaded = loader.await.map_err(|e| format!("迁移中断：{e}"))?;
    let read = reader.await.map_err(|e| format!("迁移中断：{e}"))?;
    progress.bar.finish_and_clear();
    read.map_err(|e| format!("读取源数据库失败，目标未写入任何数据：{e}"))?;
    let summary = loaded.map_err(|e| format!("迁移失败，目标未写入任何数据：{e}"))?;
    Ok(format!("已迁移：{}", report(&summary)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_lines_round_trip_items() {
        let mut buf = Vec::new();
        {
            let mut gz = GzEncoder::new(&mut buf, flate2::Compression::fast());
            DumpItem::Blob {
                key: "abcd".into(),
                hex: "00ff".into(),
            }
            .write(&mut gz)
            .unwrap();
            std::io::Write::flush(&mut gz.finish().unwrap()).unwrap();
        }
        let mut input = BufReader::new(GzDecoder::new(&buf[..]));
        match DumpItem::read(&mut input).unwrap() {
            Some(DumpItem::Blob { key, hex }) => {
                assert_eq!((key.as_str(), hex.as_str()), ("abcd", "00ff"))
            }
            other => panic!("{other:?}"),
        }
        assert!(DumpItem::read(&mut input).unwrap().is_none());
    }
}
