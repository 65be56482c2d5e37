//! Backup policy: a scheduled database dump to S3-compatible storage, sized from the volume it protects.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checks;
use crate::error::Problems;

/// A scheduled backup of one database to an S3-compatible bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupPolicy {
    /// The policy's name (a DNS-1123 label); the CronJob is named `backup-<name>`.
    pub name: String,
    /// The tenant volume holding the database; the backup's resources are sized from it.
    pub volume: String,
    /// When to run, in cron syntax (`"0 3 * * *"`).
    pub schedule: String,
    /// How many backups to keep in the bucket (1 to 1000).
    pub retention: u32,
    /// Where backups go.
    pub target: S3Target,
    /// How to dump the database.
    pub database: Database,
}

/// An S3-compatible bucket (MinIO, S3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Target {
    /// The endpoint URL, e.g. `https://minio.backup.svc:9000`.
    pub endpoint: String,
    /// The bucket name.
    pub bucket: String,
    /// A key prefix inside the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The name of the Secret holding `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. Keys never appear in specs.
    pub credentials_secret: String,
}

/// The database engine and how to reach it. In spec files: one map with an `engine`
/// (`postgres`, `mysql`, `custom`) and that engine's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "DatabaseRepr", into = "DatabaseRepr")]
pub enum Database {
    /// PostgreSQL, dumped with `pg_dump`.
    Postgres {
        /// The database host (a Service name).
        host: String,
        /// The database name.
        database: String,
        /// The Secret with the `PGUSER` and `PGPASSWORD` keys.
        credentials_secret: String,
    },
    /// MySQL or MariaDB, dumped with `mysqldump`.
    Mysql {
        /// The database host (a Service name).
        host: String,
        /// The database name.
        database: String,
        /// The Secret with the `MYSQL_USER` and `MYSQL_PASSWORD` keys.
        credentials_secret: String,
    },
    /// A custom image and command that writes the dump to `/backup`.
    Custom {
        /// The image.
        image: String,
        /// The command.
        command: Vec<String>,
    },
}

/// Database engines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Engine {
    /// PostgreSQL.
    #[default]
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// A custom image and command.
    Custom,
}

/// The spec-file form of a [`Database`], read field by field so errors keep their path.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseRepr {
    /// The engine.
    pub engine: Engine,
    /// Postgres, MySQL: the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Postgres, MySQL: the database name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Postgres, MySQL: the Secret with the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
    /// Custom: the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Custom: the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

impl TryFrom<DatabaseRepr> for Database {
    type Error = String;

    fn try_from(r: DatabaseRepr) -> Result<Self, String> {
        let need = |v: Option<String>, field: &str, engine: &str| v.ok_or_else(|| format!("missing field `{field}` (required for engine {engine})"));
        match r.engine {
            Engine::Postgres | Engine::Mysql => {
                let engine = if r.engine == Engine::Postgres { "postgres" } else { "mysql" };
                if r.image.is_some() || r.command.is_some() {
                    return Err(format!("image and command are for engine custom, not {engine}"));
                }
                let host = need(r.host, "host", engine)?;
                let database = need(r.database, "database", engine)?;
                let credentials_secret = need(r.credentials_secret, "credentialsSecret", engine)?;
                Ok(if r.engine == Engine::Postgres {
                    Database::Postgres { host, database, credentials_secret }
                } else {
                    Database::Mysql { host, database, credentials_secret }
                })
            }
            Engine::Custom => {
                if r.host.is_some() || r.database.is_some() || r.credentials_secret.is_some() {
                    return Err("host, database and credentialsSecret are for engines postgres and mysql; a custom image gets its own env".into());
                }
                Ok(Database::Custom { image: need(r.image, "image", "custom")?, command: r.command.unwrap_or_default() })
            }
        }
    }
}

impl From<Database> for DatabaseRepr {
    fn from(d: Database) -> Self {
        match d {
            Database::Postgres { host, database, credentials_secret } => DatabaseRepr {
                engine: Engine::Postgres,
                host: Some(host),
                database: Some(database),
                credentials_secret: Some(credentials_secret),
                ..Default::default()
            },
            Database::Mysql { host, database, credentials_secret } => DatabaseRepr {
                engine: Engine::Mysql,
                host: Some(host),
                database: Some(database),
                credentials_secret: Some(credentials_secret),
                ..Default::default()
            },
            Database::Custom { image, command } => DatabaseRepr { engine: Engine::Custom, image: Some(image), command: Some(command), ..Default::default() },
        }
    }
}

impl BackupPolicy {
    pub(crate) fn validate(&self, p: &mut Problems, path: &str, volumes: &BTreeSet<&str>) {
        p.check(|| format!("{path}.name"), checks::check_dns1123_label_max(&self.name, 40));
        if !volumes.contains(self.volume.as_str()) {
            let known: Vec<&str> = volumes.iter().copied().collect();
            p.add(
                format!("{path}.volume"),
                if known.is_empty() {
                    format!("{:?} is not a volume of this tenant; declare it under storage first", self.volume)
                } else {
                    format!("{:?} is not a volume of this tenant; known volumes: {}", self.volume, known.join(", "))
                },
            );
        }
        p.check(|| format!("{path}.schedule"), checks::check_cron_schedule(&self.schedule));
        if self.retention == 0 || self.retention > 1000 {
            p.add(format!("{path}.retention"), format!("{} is outside 1 to 1000 backups kept", self.retention));
        }
        let t = &self.target;
        // Credentials first: an endpoint carrying keys is never quoted back.
        if checks::redact_userinfo(&t.endpoint) != t.endpoint.as_str() || t.endpoint.contains('@') {
            p.add(format!("{path}.target.endpoint"), "must not embed credentials; put the keys in the Secret named by credentialsSecret");
        } else if !(t.endpoint.starts_with("https://") || t.endpoint.starts_with("http://")) || t.endpoint.chars().any(char::is_whitespace) {
            p.add(format!("{path}.target.endpoint"), format!("{:?} is not an http(s) URL such as \"https://minio.example.com:9000\"", t.endpoint));
        }
        p.check(|| format!("{path}.target.bucket"), check_bucket(&t.bucket));
        if let Some(prefix) = &t.prefix {
            if prefix.starts_with('/') || prefix.len() > 512 || prefix.chars().any(char::is_control) {
                p.add(format!("{path}.target.prefix"), "must be a relative key prefix without a leading '/', at most 512 characters");
            }
        }
        p.check(|| format!("{path}.target.credentialsSecret"), checks::check_secret_name(&t.credentials_secret));
        match &self.database {
            Database::Postgres { host, database, credentials_secret } | Database::Mysql { host, database, credentials_secret } => {
                p.check(|| format!("{path}.database.host"), checks::check_dns1123_subdomain(host));
                if database.is_empty() || database.len() > 63 || !database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    p.add(format!("{path}.database.database"), format!("{database:?} is not a database name (1 to 63 letters, digits, '_' or '-')"));
                }
                p.check(|| format!("{path}.database.credentialsSecret"), checks::check_secret_name(credentials_secret));
            }
            Database::Custom { image, command } => {
                p.check(|| format!("{path}.database.image"), checks::check_image_reference(image));
                if command.is_empty() {
                    p.add(format!("{path}.database.command"), "a custom backup needs a command that writes its dump to /backup");
                }
            }
        }
    }
}

/// S3 bucket naming rules: 3 to 63 lowercase letters, digits, '.' and '-', starting and ending alphanumeric.
fn check_bucket(bucket: &str) -> Result<(), String> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(format!("{bucket:?} is not an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)"))
    }
}
