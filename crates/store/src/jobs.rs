//! Management API jobs: the outcome is one JSON document per job.

use async_trait::async_trait;
use gatehouse_core::job::{ExportSpec, ImportError, ImportSummary, Job};
use gatehouse_core::store::{JobStore, StoreResult};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::db;
use crate::pool::on_pool;

/// The parts of a job without columns of their own.
#[derive(Serialize, Deserialize)]
struct JobData {
    connection_id: String,
    external_id: Option<String>,
    summary: ImportSummary,
    errors: Vec<ImportError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    export: Option<ExportSpec>,
}

#[async_trait]
impl JobStore for SqlStore {
    #[tracing::instrument(name = "JobStore::save_job", skip_all, fields(otel.kind = "client"))]
    async fn save_job(&self, job: &Job, now: OffsetDateTime) -> StoreResult<()> {
        let data = JobData {
            connection_id: job.connection_id.clone(),
            external_id: job.external_id.clone(),
            summary: job.summary.clone(),
            errors: job.errors.clone(),
            export: job.export.clone(),
        };
        on_pool!(self, p => sqlx::query(
            "INSERT INTO jobs (id, kind, status, data, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, data = excluded.data, \
             updated_at = excluded.updated_at",
        )
        .bind(&job.id)
        .bind(&job.kind)
        .bind(&job.status)
        .bind(Json(data))
        .bind(job.created_at)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "JobStore::fail_stalled_jobs", skip_all, fields(otel.kind = "client"))]
    async fn fail_stalled_jobs(&self, saved_before: OffsetDateTime) -> StoreResult<u64> {
        on_pool!(self, p => sqlx::query(
            "UPDATE jobs SET status = 'failed' \
             WHERE status IN ('pending', 'processing') AND updated_at < $1",
        )
        .bind(saved_before)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))
    }

    #[tracing::instrument(name = "JobStore::job", skip_all, fields(otel.kind = "client"))]
    async fn job(&self, id: &str) -> StoreResult<Option<Job>> {
        type Row = (String, String, String, Json<JobData>, OffsetDateTime);
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, kind, status, data, created_at FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(|(id, kind, status, Json(d), created_at)| Job {
            id,
            kind,
            status,
            connection_id: d.connection_id,
            external_id: d.external_id,
            created_at,
            summary: d.summary,
            errors: d.errors,
            export: d.export,
        }))
    }
}
