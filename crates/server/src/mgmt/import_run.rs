//! A users import running in the background: `POST /jobs/users-imports` answers with the job
//! `pending`, and this task makes it `processing`, imports the users one at a time (each parsed
//! from its own bytes of the file, so memory holds the file and one user, not a hundred
//! thousand parsed users) and saves the counts every [`SAVE_EVERY`] users, so
//! `GET /jobs/{id}` shows the progress; then `completed` (or `failed` when storage failed).

use std::ops::Range;

use gatehouse_core::connection::Connection;
use gatehouse_core::job::{ImportError, Job};
use serde_json::Value;

use super::jobs::{Imported, import_one, redact};
use crate::AppState;

/// Users imported between two saves of the job's counts.
const SAVE_EVERY: u64 = 500;
/// The most rejected users whose entries a job keeps (the counts go on).
const MAX_ERRORS: usize = 10_000;

/// Imports that may run at once on one server: each holds its file (up to 64 MB) until it
/// ends, so more are refused (429) rather than queued without bound. Auth0 allows two
/// concurrent import jobs per tenant as well.
pub const MAX_RUNNING: usize = 2;

/// One of the [`MAX_RUNNING`] places (`App::imports`), given back when the import ends.
pub type Slot = tokio::sync::OwnedSemaphorePermit;

/// An import to run.
pub struct Run {
    /// Its place among the imports running.
    pub slot: Slot,
    /// The job, saved as `pending`.
    pub job: Job,
    /// The database connection the users go into.
    pub connection: Connection,
    /// The users file.
    pub file: Vec<u8>,
    /// Where each user is in the file.
    pub users: Vec<Range<usize>>,
    /// Whether existing users are rewritten.
    pub upsert: bool,
}

/// Runs `run` to the end, saving progress on the way.
pub async fn run(state: AppState, run: Run) {
    let Run {
        slot: _slot,
        mut job,
        connection,
        file,
        users,
        upsert,
    } = run;
    job.status = "processing".into();
    if let Err(e) = state.stores.jobs.save_job(&job, state.clock.now()).await {
        tracing::warn!(job = %job.id, error = %e, "users import not started");
        return;
    }
    for (done, range) in (1u64..).zip(users) {
        // The file was checked whole before the job was made.
        let entry: Value = serde_json::from_slice(&file[range]).unwrap_or(Value::Null);
        match import_one(&state, &connection, &entry, upsert).await {
            Ok(Ok(Imported::Inserted)) => job.summary.inserted += 1,
            Ok(Ok(Imported::Updated)) => job.summary.updated += 1,
            Ok(Err(problem)) => {
                job.summary.failed += 1;
                if job.errors.len() < MAX_ERRORS {
                    job.errors.push(ImportError {
                        user: redact(&entry),
                        errors: vec![problem],
                    });
                }
            }
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "users import failed");
                job.status = "failed".into();
                break;
            }
        }
        if done % SAVE_EVERY == 0
            && let Err(e) = state.stores.jobs.save_job(&job, state.clock.now()).await
        {
            tracing::warn!(job = %job.id, error = %e, "users import progress not saved");
        }
    }
    if job.status == "processing" {
        job.status = "completed".into();
    }
    if let Err(e) = state.stores.jobs.save_job(&job, state.clock.now()).await {
        tracing::warn!(job = %job.id, error = %e, "users import outcome not saved");
    }
}

/// Where each element of the JSON array in `file` is, after checking that the whole file is
/// one JSON array (without building it). The scan tracks strings and nesting only: the
/// elements are valid JSON because the file is.
pub fn array_elements(file: &[u8]) -> Result<Vec<Range<usize>>, String> {
    // serde_json checks strings' UTF-8 only when it builds them; skipping them does not.
    std::str::from_utf8(file).map_err(|e| e.to_string())?;
    let mut de = serde_json::Deserializer::from_slice(file);
    serde::de::Deserializer::deserialize_seq(&mut de, serde::de::IgnoredAny)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    let open = file.iter().position(|b| *b == b'[').ok_or("not an array")?;
    let mut elements = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut start: Option<usize> = None;
    for (i, &b) in file.iter().enumerate().skip(open + 1) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => continue,
            b',' | b']' if depth == 0 => {
                if let Some(s) = start.take() {
                    elements.push(s..trim_end(file, s, i));
                }
                if b == b']' {
                    break;
                }
                continue;
            }
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        start.get_or_insert(i);
    }
    Ok(elements)
}

/// The end of an element that runs from `start` to just before `end`, less trailing spaces.
fn trim_end(file: &[u8], start: usize, end: usize) -> usize {
    let mut e = end;
    while e > start && file[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_found_whatever_they_hold() {
        let file = br#" [ {"a": "x,]}\"{"}, 3 ,"s]",[1,[2]], null ,
            {"nested": {"b": [ "]" ]}} ] "#;
        let parts: Vec<&str> = array_elements(file)
            .expect("an array")
            .into_iter()
            .map(|r| std::str::from_utf8(&file[r]).expect("utf-8"))
            .collect();
        assert_eq!(
            parts,
            vec![
                r#"{"a": "x,]}\"{"}"#,
                "3",
                r#""s]""#,
                "[1,[2]]",
                "null",
                r#"{"nested": {"b": [ "]" ]}}"#
            ]
        );
        for part in &parts {
            serde_json::from_str::<Value>(part).expect("each is JSON");
        }
        assert_eq!(array_elements(b"[]").expect("empty").len(), 0);
        for bad in [
            &b"{}"[..],
            b"[1,]",
            b"[1",
            b"[1] 2",
            b"",
            b"nope",
            b"[\"\xff\"]",
        ] {
            assert!(
                array_elements(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
