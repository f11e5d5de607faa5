//! Offset pagination as the Management API does it: `page` (0-based), `per_page`,
//! `include_totals`; with totals, `{start, limit, length, total, <items>}`.

use std::future::Future;

use axum::Json;
use gatehouse_core::store::{Page, StoreResult};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::MgmtError;

/// Auth0's default page size.
pub const DEFAULT_PER_PAGE: u32 = 50;
/// Auth0's largest page.
pub const MAX_PER_PAGE: u32 = 100;

/// Paging parameters; booleans arrive as `"true"`/`"false"` strings.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// 0-based page.
    pub page: Option<String>,
    /// Items per page.
    pub per_page: Option<String>,
    /// Whether to wrap the items with totals.
    pub include_totals: Option<String>,
}

impl PageQuery {
    /// The page asked for, validated.
    pub fn page(&self) -> Result<Page, MgmtError> {
        let page = match self.page.as_deref() {
            None | Some("") => 0,
            Some(p) => p
                .parse::<u32>()
                .map_err(|_| MgmtError::invalid_query("page must be an integer >= 0"))?,
        };
        let per_page = match self.per_page.as_deref() {
            None | Some("") => DEFAULT_PER_PAGE,
            Some(p) => p
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                .ok_or_else(|| {
                    MgmtError::invalid_query(format!(
                        "per_page must be between 1 and {MAX_PER_PAGE}"
                    ))
                })?,
        };
        Ok(Page::number(page, per_page))
    }

    /// Whether totals were asked for.
    pub fn include_totals(&self) -> Result<bool, MgmtError> {
        parse_bool("include_totals", self.include_totals.as_deref())
    }
}

/// Parses Auth0's string booleans; absent is false.
pub fn parse_bool(name: &str, value: Option<&str>) -> Result<bool, MgmtError> {
    match value {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(MgmtError::invalid_query(format!(
            "{name} must be true or false"
        ))),
    }
}

/// The list body: a bare array, or the totals envelope under `key`.
pub fn envelope(key: &str, items: Vec<Value>, page: Page, total: i64, totals: bool) -> Value {
    if !totals {
        return Value::Array(items);
    }
    let mut body = json!({
        "start": page.offset,
        "limit": page.limit,
        "length": items.len(),
        "total": total,
    });
    body[key] = Value::Array(items);
    body
}

/// Checkpoint paging (`take`, then `from` = the `next` of the previous page), answered
/// with `{<items>, next}`; `next` is absent on the last page, which ends a client's loop.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint {
    offset: i64,
    take: u32,
}

impl Checkpoint {
    /// `Some` when the request uses checkpoint paging (it sent `take`).
    pub fn parse(take: Option<&str>, from: Option<&str>) -> Result<Option<Self>, MgmtError> {
        let Some(take) = take.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let take: u32 = take
            .parse()
            .ok()
            .filter(|n| (1..=MAX_PER_PAGE).contains(n))
            .ok_or_else(|| {
                MgmtError::invalid_query(format!("take must be between 1 and {MAX_PER_PAGE}"))
            })?;
        let offset: i64 = match from {
            None | Some("") => 0,
            Some(f) => f
                .parse()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| MgmtError::invalid_query("from is not a valid checkpoint"))?,
        };
        Ok(Some(Checkpoint { offset, take }))
    }

    /// The rows to fetch: one more than asked, to learn whether a next page exists.
    pub fn page(self) -> Page {
        Page {
            offset: self.offset,
            limit: self.take + 1,
        }
    }

    /// The body for rows fetched with [`Checkpoint::page`].
    pub fn body(self, key: &str, mut items: Vec<Value>) -> Value {
        let more = items.len() > self.take as usize;
        items.truncate(self.take as usize);
        let mut body = json!({});
        body[key] = Value::Array(items);
        if more {
            body["next"] = json!((self.offset + i64::from(self.take)).to_string());
        }
        body
    }
}

/// How one list request pages (offset pages, or checkpoints where the endpoint has them),
/// and the one place that turns its rows into Auth0's list body.
#[derive(Debug, Clone, Copy)]
pub struct Listing {
    checkpoint: Option<Checkpoint>,
    page: Page,
    totals: bool,
}

impl Listing {
    /// Offset paging from `page`, `per_page` and `include_totals`.
    pub fn offset(q: &PageQuery) -> Result<Self, MgmtError> {
        Ok(Listing {
            checkpoint: None,
            page: q.page()?,
            totals: q.include_totals()?,
        })
    }

    /// Checkpoint paging when the request sent `take`, offset paging otherwise.
    pub fn parse(q: &PageQuery, take: Option<&str>, from: Option<&str>) -> Result<Self, MgmtError> {
        match Checkpoint::parse(take, from)? {
            Some(cp) => Ok(Listing {
                checkpoint: Some(cp),
                page: cp.page(),
                totals: false,
            }),
            None => Self::offset(q),
        }
    }

    /// The rows to load.
    pub fn page(&self) -> Page {
        self.page
    }

    /// The body for `items` loaded for [`Listing::page`]; `count` (the total) is awaited only
    /// when the request asked for totals.
    pub async fn answer(
        self,
        key: &str,
        items: Vec<Value>,
        count: impl Future<Output = StoreResult<i64>>,
    ) -> Result<Json<Value>, MgmtError> {
        if let Some(cp) = self.checkpoint {
            return Ok(Json(cp.body(key, items)));
        }
        let total = if self.totals { count.await? } else { 0 };
        Ok(Json(envelope(key, items, self.page, total, self.totals)))
    }

    /// The body for a list held whole in memory: the page (or checkpoint) is cut from `all`.
    pub fn answer_all(self, key: &str, all: Vec<Value>) -> Json<Value> {
        let total = all.len() as i64;
        let items = all
            .into_iter()
            .skip(usize::try_from(self.page.offset).unwrap_or(usize::MAX))
            .take(self.page.limit as usize)
            .collect();
        if let Some(cp) = self.checkpoint {
            return Json(cp.body(key, items));
        }
        Json(envelope(key, items, self.page, total, self.totals))
    }
}
