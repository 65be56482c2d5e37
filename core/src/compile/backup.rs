//! Compiles a backup policy to a CronJob sized from the volume it backs up (formula in `docs/backups.md`).

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, PodSpec, PodTemplateSpec, ResourceRequirements, SecretKeySelector, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use super::release::restricted_container_security;
use super::tenant::meta;
use crate::labels;
use crate::model::backup::{BackupPolicy, Database};
use crate::model::tenant::Volume as TenantVolume;
use crate::quantity::Quantity;

/// The image that uploads dumps to S3 and prunes old ones.
pub const UPLOADER_IMAGE: &str = "minio/mc:RELEASE.2025-08-13T08-35-41Z";
const GIB: i128 = 1 << 30;
const MIB: i128 = 1 << 20;

/// Resources of a backup run, derived from the size of the volume it backs up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSizing {
    /// Scratch space for the dump: 120% of the volume, at least 1 GiB.
    pub scratch_bytes: i128,
    /// Memory limit: 256 MiB plus 16 MiB per GiB of volume, at most 4 GiB.
    pub memory_bytes: i128,
    /// Deadline: 10 minutes plus 2 minutes per GiB of volume, at most 24 hours.
    pub deadline_seconds: i64,
}

/// Sizes a backup run for a volume of `volume_bytes` bytes.
pub fn backup_sizing(volume_bytes: i128) -> BackupSizing {
    let gib = (volume_bytes.max(0) + GIB - 1) / GIB;
    BackupSizing {
        scratch_bytes: ((volume_bytes.max(0) * 6 / 5).max(GIB) + MIB - 1) / MIB * MIB,
        memory_bytes: (256 * MIB + 16 * MIB * gib).min(4 * GIB),
        deadline_seconds: i64::try_from((600 + 120 * gib).min(86_400)).unwrap_or(86_400),
    }
}

fn mib(bytes: i128) -> K8sQuantity {
    K8sQuantity(format!("{}Mi", bytes / MIB))
}

fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { name: secret.into(), key: key.into(), optional: Some(false) }),
            ..Default::default()
        }),
    }
}

fn plain_env(name: &str, value: &str) -> EnvVar {
    EnvVar { name: name.into(), value: Some(value.into()), value_from: None }
}

/// Compiles one backup policy of the tenant whose namespace is `ns`.
pub(crate) fn compile_backup(ns: &str, policy: &BackupPolicy, volume: &TenantVolume) -> CronJob {
    let volume_bytes = Quantity::parse(&volume.size).map(|q| q.millis() / 1000).unwrap_or(GIB);
    let sizing = backup_sizing(volume_bytes);
    let resources = ResourceRequirements {
        requests: Some(BTreeMap::from([("cpu".to_string(), K8sQuantity("100m".into())), ("memory".to_string(), mib(sizing.memory_bytes / 2))])),
        limits: Some(BTreeMap::from([("cpu".to_string(), K8sQuantity("1".into())), ("memory".to_string(), mib(sizing.memory_bytes))])),
        ..Default::default()
    };
    let scratch = VolumeMount { name: "scratch".into(), mount_path: "/backup".into(), ..Default::default() };
    let (image, command, env) = match &policy.database {
        Database::Postgres { host, database, credentials_secret } => (
            "postgres:17".to_string(),
            vec!["sh".into(), "-c".into(), "pg_dump --format=custom --file=/backup/dump \"$PGDATABASE\"".into()],
            vec![
                plain_env("PGHOST", host),
                plain_env("PGDATABASE", database),
                secret_env("PGUSER", credentials_secret, "PGUSER"),
                secret_env("PGPASSWORD", credentials_secret, "PGPASSWORD"),
            ],
        ),
        Database::Mysql { host, database, credentials_secret } => (
            "mariadb:11".to_string(),
            vec!["sh".into(), "-c".into(), "mariadb-dump --single-transaction -h \"$DB_HOST\" -u \"$MYSQL_USER\" \"$DB_NAME\" > /backup/dump".into()],
            vec![
                plain_env("DB_HOST", host),
                plain_env("DB_NAME", database),
                secret_env("MYSQL_USER", credentials_secret, "MYSQL_USER"),
                secret_env("MYSQL_PWD", credentials_secret, "MYSQL_PASSWORD"),
            ],
        ),
        Database::Custom { image, command } => (image.clone(), command.clone(), Vec::new()),
    };
    let target = &policy.target;
    let dest = match &target.prefix {
        Some(prefix) => format!("target/{}/{}/{}", target.bucket, prefix.trim_end_matches('/'), policy.name),
        None => format!("target/{}/{}", target.bucket, policy.name),
    };
    let upload_script = format!(
        "set -eu; mc alias set target \"$S3_ENDPOINT\" \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" >/dev/null; \
         stamp=$(date -u +%Y%m%dT%H%M%SZ); mc cp /backup/dump \"{dest}/$stamp.dump\"; \
         mc ls \"{dest}/\" | awk '{{print $NF}}' | sort -r | tail -n +{keep} | while read -r old; do mc rm \"{dest}/$old\"; done",
        keep = u64::from(policy.retention) + 1
    );
    let dump = Container {
        name: "dump".into(),
        image: Some(image),
        command: Some(command),
        env: Some(env),
        resources: Some(resources.clone()),
        volume_mounts: Some(vec![scratch.clone()]),
        security_context: Some(restricted_container_security()),
        ..Default::default()
    };
    let upload = Container {
        name: "upload".into(),
        image: Some(UPLOADER_IMAGE.into()),
        command: Some(vec!["sh".into(), "-c".into(), upload_script]),
        env: Some(vec![
            plain_env("S3_ENDPOINT", &target.endpoint),
            secret_env("AWS_ACCESS_KEY_ID", &target.credentials_secret, "AWS_ACCESS_KEY_ID"),
            secret_env("AWS_SECRET_ACCESS_KEY", &target.credentials_secret, "AWS_SECRET_ACCESS_KEY"),
        ]),
        resources: Some(resources),
        volume_mounts: Some(vec![scratch]),
        security_context: Some(restricted_container_security()),
        ..Default::default()
    };
    let mut job_labels = labels::tenant_labels(ns);
    job_labels.insert("moorage.dev/backup".into(), policy.name.clone());
    CronJob {
        metadata: meta(&format!("backup-{}", policy.name), ns, job_labels.clone()),
        spec: CronJobSpec {
            schedule: policy.schedule.clone(),
            concurrency_policy: Some("Forbid".into()),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: None,
                spec: Some(JobSpec {
                    backoff_limit: Some(1),
                    active_deadline_seconds: Some(sizing.deadline_seconds),
                    template: PodTemplateSpec {
                        metadata: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta { labels: Some(job_labels), ..Default::default() }),
                        spec: Some(PodSpec {
                            restart_policy: Some("Never".into()),
                            service_account_name: Some(super::tenant::WORKLOAD_SERVICE_ACCOUNT.into()),
                            automount_service_account_token: Some(false),
                            security_context: Some(super::release::restricted_pod_security()),
                            init_containers: Some(vec![dump]),
                            containers: vec![upload],
                            volumes: Some(vec![Volume {
                                name: "scratch".into(),
                                empty_dir: Some(EmptyDirVolumeSource { size_limit: Some(mib(sizing.scratch_bytes)), medium: None }),
                                ..Default::default()
                            }]),
                            ..Default::default()
                        }),
                    },
                    ..Default::default()
                }),
            },
            ..Default::default()
        },
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_grows_with_the_volume_and_is_bounded() {
        let small = backup_sizing(GIB);
        assert_eq!(small.scratch_bytes, 1229 * MIB); // 1.2 GiB rounded up to MiB
        assert_eq!(small.memory_bytes, 272 * MIB);
        assert_eq!(small.deadline_seconds, 720);
        let big = backup_sizing(500 * GIB);
        assert_eq!(big.scratch_bytes, 600 * GIB);
        assert_eq!(big.memory_bytes, 4 * GIB);
        assert_eq!(big.deadline_seconds, 60_600);
        assert_eq!(backup_sizing(10_000 * GIB).deadline_seconds, 86_400);
        assert_eq!(backup_sizing(0).scratch_bytes, GIB);
    }
}
