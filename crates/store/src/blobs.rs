//! Where photo bytes live: a small storage interface, a local directory by default.
//!
//! A blob is written and synced to disk before the database row that names it commits, so
//! an acknowledged photo is never lost; a blob whose row never committed is an orphan that
//! costs disk space, not data.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Stores bytes by key. Keys are ids this crate makes (letters, digits and '-').
pub trait BlobStore: Send + Sync + 'static {
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()>;
    fn get(&self, key: &str) -> std::io::Result<Vec<u8>>;
    /// Removes a blob for good (a retention period ended); a blob not there is no error.
    fn delete(&self, key: &str) -> std::io::Result<()>;
    /// Whether a blob is there (without reading it).
    fn exists(&self, key: &str) -> std::io::Result<bool> {
        match self.get(key) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Files under a directory, two levels of fan-out by the key's first characters.
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> LocalDir {
        LocalDir { root: root.into() }
    }

    fn path(&self, key: &str) -> std::io::Result<PathBuf> {
        if key.len() < 4 || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "blob key must be an id",
            ));
        }
        Ok(self.root.join(&key[..2]).join(&key[2..4]).join(key))
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

impl BlobStore for LocalDir {
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(key)?;
        let dir = path.parent().expect("blob paths have a parent");
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{key}.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        sync_dir(dir)
    }

    fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path(key)?)
    }

    fn delete(&self, key: &str) -> std::io::Result<()> {
        let path = self.path(key)?;
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(path.parent().expect("blob paths have a parent")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn exists(&self, key: &str) -> std::io::Result<bool> {
        self.path(key)?.try_exists()
    }
}

impl crate::db::Store {
    /// Writes a blob (synced) off the async threads; `what` names it in an error (照片, 附件).
    pub(crate) async fn put_blob(
        &self,
        key: &str,
        bytes: Vec<u8>,
        what: &str,
    ) -> Result<(), crate::error::StoreError> {
        let blobs = self.blobs.clone();
        let key = key.to_string();
        let failed = |e: &dyn std::fmt::Display| {
            crate::error::StoreError::Config(format!("{what}保存失败：{e}"))
        };
        tokio::task::spawn_blocking(move || blobs.put(&key, &bytes))
            .await
            .map_err(|e| failed(&e))?
            .map_err(|e| failed(&e))
    }

    /// Deletes a blob off the async threads.
    pub(crate) async fn delete_blob(&self, key: &str) -> Result<(), crate::error::StoreError> {
        let blobs = self.blobs.clone();
        let key = key.to_string();
        tokio::task::spawn_blocking(move || blobs.delete(&key))
            .await
            .map_err(|e| crate::error::StoreError::Config(format!("删除文件失败：{e}")))?
            .map_err(|e| crate::error::StoreError::Config(format!("删除文件失败：{e}")))
    }

    /// Reads a blob off the async threads; `what` names it in an error (照片, 附件).
    pub(crate) async fn get_blob(
        &self,
        key: &str,
        what: &str,
    ) -> Result<Vec<u8>, crate::error::StoreError> {
        let blobs = self.blobs.clone();
        let key = key.to_string();
        tokio::task::spawn_blocking(move || blobs.get(&key))
            .await
            .map_err(|e| crate::error::StoreError::Config(format!("{what}读取失败：{e}")))?
            .map_err(|e| crate::error::StoreError::Config(format!("{what}文件缺失：{e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_paths() {
        let dir = std::env::temp_dir().join(format!("weibao-blob-{}", uuid::Uuid::new_v4()));
        let store = LocalDir::new(&dir);
        store.put("abcd-1234", b"photo").unwrap();
        assert_eq!(store.get("abcd-1234").unwrap(), b"photo");
        assert!(store.exists("abcd-1234").unwrap());
        assert!(!store.exists("abcd-1235").unwrap());
        store.delete("abcd-1234").unwrap();
        assert!(!store.exists("abcd-1234").unwrap());
        store.delete("abcd-1234").unwrap();
        assert!(store.put("../../etc/passwd", b"x").is_err());
        assert!(store.get("ab/cd").is_err());
        assert!(store.get("zzzz-missing").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
