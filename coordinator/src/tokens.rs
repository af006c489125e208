//! Bearer tokens for the HTTP API: issued once, stored only as SHA-256 hashes.
//!
//! The token file (`tokens.json` in the coordinator's state folder, mode 0600) holds a name, the
//! scopes, the creation time and the hex SHA-256 of each token. The token itself is printed once by
//! `factory tokens add` and never stored, so a leaked state folder does not leak credentials.
//! The file is read on every check, so `factory tokens revoke` takes effect at the next request
//! without restarting the coordinator (the file is a few hundred bytes).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Name of the token file inside the state folder.
pub const TOKEN_FILE: &str = "tokens.json";
/// Prefix of every token, so a leaked one is easy to recognise in logs and scanners.
pub const TOKEN_PREFIX: &str = "fct_";

/// What a token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Submit runs (`POST /v1/runs`).
    Submit,
    /// Read runs, events and reviewer pages.
    Read,
    /// Approve or reject a delivered run's rollout.
    Approve,
}

impl Scope {
    /// The scope's name on the command line and in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Submit => "submit",
            Scope::Read => "read",
            Scope::Approve => "approve",
        }
    }

    /// Parse a comma-separated list such as `submit,read`.
    pub fn parse_list(text: &str) -> Result<Vec<Scope>, TokenError> {
        let mut scopes = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let scope = match part {
                "submit" => Scope::Submit,
                "read" => Scope::Read,
                "approve" => Scope::Approve,
                other => return Err(TokenError::BadScope(other.to_string())),
            };
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err(TokenError::BadScope(text.to_string()));
        }
        Ok(scopes)
    }
}

/// One issued token as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who holds it (unique), e.g. `release-bot`.
    pub name: String,
    /// Hex SHA-256 of the token.
    pub sha256: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Unix ms when issued.
    pub created_unix_ms: u64,
}

/// The token file's content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    /// Every live token.
    pub tokens: Vec<TokenEntry>,
}

/// What token handling can fail with.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Reading or writing the token file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The token file is not what we write.
    #[error("{path}: not a token file: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A scope nobody knows (or an empty list).
    #[error("unknown scope list `{0}`: use a comma-separated list of submit, read, approve")]
    BadScope(String),
    /// Names are short and plain so they can stand in logs and approvals.
    #[error("bad token name `{0}`: use 1-64 letters, digits, `-`, `_` or `.`")]
    BadName(String),
    /// A token with this name exists already.
    #[error("a token named `{0}` exists already; revoke it first")]
    Duplicate(String),
    /// No token with this name.
    #[error("no token named `{0}`")]
    UnknownName(String),
}

/// The token file of one state folder.
#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
}

impl TokenStore {
    /// The store inside `state_dir` (the file need not exist yet: no file means no tokens).
    pub fn new(state_dir: &Path) -> Self {
        TokenStore {
            path: state_dir.join(TOKEN_FILE),
        }
    }

    /// Path of the token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the file; a missing file is an empty one.
    pub fn load(&self) -> Result<TokenFile, TokenError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => self.parse(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
            Err(source) => Err(self.io(source)),
        }
    }

    /// Read the file without blocking the runtime's threads.
    pub async fn load_async(&self) -> Result<TokenFile, TokenError> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => self.parse(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
            Err(source) => Err(self.io(source)),
        }
    }

    /// Issue a new token: store its hash and return the token, which is never shown again.
    pub fn add(&self, name: &str, scopes: Vec<Scope>) -> Result<String, TokenError> {
        check_name(name)?;
        let mut file = self.load()?;
        if file.tokens.iter().any(|t| t.name == name) {
            return Err(TokenError::Duplicate(name.to_string()));
        }
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(self.random_bytes()?));
        file.tokens.push(TokenEntry {
            name: name.to_string(),
            sha256: hash_token(&token),
            scopes,
            created_unix_ms: now_unix_ms(),
        });
        self.save(&file)?;
        Ok(token)
    }

    /// Remove the token with this name.
    pub fn revoke(&self, name: &str) -> Result<(), TokenError> {
        let mut file = self.load()?;
        let before = file.tokens.len();
        file.tokens.retain(|t| t.name != name);
        if file.tokens.len() == before {
            return Err(TokenError::UnknownName(name.to_string()));
        }
        self.save(&file)
    }

    fn parse(&self, bytes: &[u8]) -> Result<TokenFile, TokenError> {
        serde_json::from_slice(bytes).map_err(|e| TokenError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }

    fn io(&self, source: std::io::Error) -> TokenError {
        TokenError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn random_bytes(&self) -> Result<[u8; 32], TokenError> {
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(|source| TokenError::Io {
                path: PathBuf::from("/dev/urandom"),
                source,
            })?;
        Ok(bytes)
    }

    /// Write through a temporary file created 0600 and renamed, so a crash never leaves a
    /// half-written file and the hashes are never world-readable, not even for a moment.
    fn save(&self, file: &TokenFile) -> Result<(), TokenError> {
        use std::io::Write;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|source| TokenError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let tmp = self.path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let bytes = serde_json::to_vec_pretty(file).map_err(|e| TokenError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let mut out = options.open(&tmp).map_err(|source| TokenError::Io {
            path: tmp.clone(),
            source,
        })?;
        out.write_all(&bytes)
            .and_then(|()| out.sync_all())
            .map_err(|source| TokenError::Io {
                path: tmp.clone(),
                source,
            })?;
        std::fs::rename(&tmp, &self.path).map_err(|source| self.io(source))
    }
}

impl TokenFile {
    /// The entry whose hash matches `token`. Every entry is compared in constant time and the loop
    /// does not stop early, so timing tells nothing about how much of a guess matched.
    pub fn find(&self, token: &str) -> Option<&TokenEntry> {
        let hash = hash_token(token);
        let mut found = None;
        for entry in &self.tokens {
            if constant_time_eq(entry.sha256.as_bytes(), hash.as_bytes()) {
                found = Some(entry);
            }
        }
        found
    }
}

/// Hex SHA-256 of a token, as stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equality whose time depends only on the lengths, not on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn check_name(name: &str) -> Result<(), TokenError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(TokenError::BadName(name.to_string()))
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<Vec<Scope>, ()>) {
        assert_eq!(
            Scope::parse_list(input).map_err(|_| ()),
            expected,
            "{input}"
        );
    }

    #[test]
    fn scope_lists_parse() {
        check("read", Ok(vec![Scope::Read]));
        check(
            "submit, read,approve",
            Ok(vec![Scope::Submit, Scope::Read, Scope::Approve]),
        );
        check("read,read", Ok(vec![Scope::Read]));
        check("", Err(()));
        check("admin", Err(()));
    }

    #[test]
    fn add_find_revoke_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let token = store.add("bot", vec![Scope::Read]).unwrap();
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() == TOKEN_PREFIX.len() + 64);
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(
            !text.contains(&token),
            "the token itself must never be stored"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            store.add("bot", vec![Scope::Read]),
            Err(TokenError::Duplicate(_))
        ));
        let file = store.load().unwrap();
        assert_eq!(file.find(&token).map(|e| e.name.as_str()), Some("bot"));
        assert!(file.find("fct_guess").is_none());
        store.revoke("bot").unwrap();
        assert!(store.load().unwrap().find(&token).is_none());
        assert!(matches!(
            store.revoke("bot"),
            Err(TokenError::UnknownName(_))
        ));
    }

    #[test]
    fn names_are_plain() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        for bad in ["", "a b", "x/y", &"n".repeat(65)] {
            assert!(matches!(
                store.add(bad, vec![Scope::Read]),
                Err(TokenError::BadName(_))
            ));
        }
    }
}
