//! Turns a parsed user search into a SQL condition with bound parameters. Every value the
//! caller wrote is bound; only names from fixed lists are written into the SQL text.

use gatehouse_core::user_search::{
    Range, RangeField, RangeValue, SearchField, SortField, Term, UserQuery, UserSort,
};
use time::OffsetDateTime;

use crate::Dialect;

/// A bound value.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
    Time(OffsetDateTime),
}

/// Binds every value of a [`Condition`] to a query, in order; a macro because the query
/// type differs per dialect.
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut q = $query;
        for b in $binds {
            q = match b {
                $crate::user_query::Bind::Text(t) => q.bind(t),
                $crate::user_query::Bind::Int(i) => q.bind(i),
                $crate::user_query::Bind::Bool(v) => q.bind(v),
                $crate::user_query::Bind::Time(t) => q.bind(t),
            };
        }
        q
    }};
}

pub(crate) use bind_all;

/// A condition on `users u` and the values for its placeholders, which start at `first`.
pub(crate) struct Condition {
    pub sql: String,
    pub binds: Vec<Bind>,
}

struct Compiler {
    dialect: Dialect,
    next: usize,
    binds: Vec<Bind>,
}

/// Why a query cannot run (a value of the wrong kind for its field).
#[derive(Debug)]
pub(crate) struct BadValue(pub String);

impl Compiler {
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        let n = self.next;
        self.next += 1;
        format!("${n}")
    }

    /// A JSON value as text: booleans as `true`/`false`, numbers as written.
    fn json_text(&mut self, column: &str, path: &[String]) -> String {
        match self.dialect {
            Dialect::Postgres => {
                let args: Vec<String> = path
                    .iter()
                    .map(|p| format!("{}::text", self.bind(Bind::Text(p.clone()))))
                    .collect();
                format!("jsonb_extract_path_text({column}, {})", args.join(", "))
            }
            Dialect::Sqlite => {
                let quoted: Vec<String> = path
                    .iter()
                    .map(|p| format!("\"{}\"", p.replace('\\', "\\\\").replace('"', "\\\"")))
                    .collect();
                let p = self.bind(Bind::Text(format!("$.{}", quoted.join("."))));
                format!(
                    "(CASE json_type({column}, {p}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                     ELSE CAST(json_extract({column}, {p}) AS TEXT) END)"
                )
            }
        }
    }

    fn profile(&self, name: &'static str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("(u.profile->>'{name}')"),
            Dialect::Sqlite => format!("json_extract(u.profile, '$.{name}')"),
        }
    }

    fn text_match(&mut self, expr: &str, term: &Term) -> String {
        if term.prefix {
            let stem = term.value.to_lowercase();
            let escaped = stem
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let p = self.bind(Bind::Text(format!("{escaped}%")));
            let like = format!("LOWER({expr}) LIKE {p} ESCAPE '\\'");
            // SQLite uses an index for LIKE only on a bare column, never on LOWER(...); the
            // same prefix as a range of the expression can use an expression index. Under
            // SQLite's binary collation the range holds exactly the strings with that prefix;
            // the LIKE stays, so the range only ever narrows the search. PostgreSQL reads
            // the LIKE itself from a `text_pattern_ops` index.
            if self.dialect == Dialect::Sqlite && !stem.is_empty() {
                let from = self.bind(Bind::Text(stem.clone()));
                let mut range = format!("LOWER({expr}) >= {from}");
                if let Some(next) = successor(&stem) {
                    let to = self.bind(Bind::Text(next));
                    range.push_str(&format!(" AND LOWER({expr}) < {to}"));
                }
                return format!("{range} AND {like}");
            }
            like
        } else {
            let p = self.bind(Bind::Text(term.value.to_lowercase()));
            format!("LOWER({expr}) = {p}")
        }
    }

    fn exact(&mut self, expr: &str, term: &Term) -> String {
        if term.prefix {
            return self.text_match(expr, term);
        }
        let p = self.bind(Bind::Text(term.value.clone()));
        format!("{expr} = {p}")
    }

    fn boolean(&mut self, column: &str, term: &Term) -> Result<String, BadValue> {
        let b = match term.value.as_str() {
            "true" => true,
            "false" => false,
            other => return Err(BadValue(format!("{other} is not true or false"))),
        };
        let p = self.bind(Bind::Bool(b));
        Ok(format!("{column} = {p}"))
    }

    fn identity(&mut self, column: &str, term: &Term) -> String {
        let cond = self.exact(&format!("i.{column}"), term);
        format!("EXISTS (SELECT 1 FROM identities i WHERE i.owner_id = u.user_id AND {cond})")
    }

    fn term(&mut self, t: &Term) -> Result<String, BadValue> {
        Ok(match &t.field {
            SearchField::UserId => self.exact("u.user_id", t),
            SearchField::Email => self.text_match("u.email", t),
            SearchField::Username => self.text_match("u.username", t),
            SearchField::PhoneNumber => self.exact("u.phone_number", t),
            SearchField::EmailVerified => self.boolean("u.email_verified", t)?,
            SearchField::PhoneVerified => self.boolean("u.phone_verified", t)?,
            SearchField::Blocked => self.boolean("u.blocked", t)?,
            SearchField::LoginsCount => {
                let n: i64 = t
                    .value
                    .parse()
                    .map_err(|_| BadValue(format!("{} is not a number", t.value)))?;
                let p = self.bind(Bind::Int(n));
                format!("u.logins_count = {p}")
            }
            SearchField::Profile(name) => {
                let expr = self.profile(name);
                self.text_match(&expr, t)
            }
            SearchField::IdentityConnection => self.identity("connection", t),
            SearchField::IdentityProvider => self.identity("provider", t),
            SearchField::IdentityUserId => self.identity("provider_user_id", t),
            SearchField::AppMetadata(path) => {
                let expr = self.json_text("u.app_metadata", path);
                self.text_match(&expr, t)
            }
            SearchField::UserMetadata(path) => {
                let expr = self.json_text("u.user_metadata", path);
                self.text_match(&expr, t)
            }
            SearchField::AnyText => {
                let parts = [
                    self.text_match("u.email", t),
                    self.text_match("u.username", t),
                    {
                        let e = self.profile("name");
                        self.text_match(&e, t)
                    },
                    {
                        let e = self.profile("nickname");
                        self.text_match(&e, t)
                    },
                ];
                // NULL columns make LOWER(...) = x NULL, not false; COALESCE keeps NOT sound.
                format!("COALESCE(({}), FALSE)", parts.join(") OR ("))
            }
        })
    }

    fn range(&mut self, r: &Range) -> String {
        let column = match r.field {
            RangeField::LoginsCount => "u.logins_count",
            RangeField::CreatedAt => "u.created_at",
            RangeField::UpdatedAt => "u.updated_at",
            RangeField::LastLogin => "u.last_login",
        };
        let mut parts = Vec::new();
        for (bound, inclusive_op, exclusive_op) in [(&r.lower, ">=", ">"), (&r.upper, "<=", "<")] {
            let Some(b) = bound else { continue };
            let p = self.bind(match b.value {
                RangeValue::Int(n) => Bind::Int(n),
                RangeValue::Time(t) => Bind::Time(t),
            });
            let op = if b.inclusive {
                inclusive_op
            } else {
                exclusive_op
            };
            parts.push(format!("{column} {op} {p}"));
        }
        if parts.is_empty() {
            // `[* TO *]`: any value, which a NULL last_login is not.
            return format!("{column} IS NOT NULL");
        }
        parts.join(" AND ")
    }

    fn query(&mut self, q: &UserQuery) -> Result<String, BadValue> {
        Ok(match q {
            // A term is left bare, not wrapped in COALESCE(..., FALSE), so that the database
            // can use an index for it. Outside NOT that changes no answer: AND and OR never
            // turn a NULL (unknown) operand into TRUE where FALSE would not give TRUE, and
            // WHERE keeps only TRUE rows.
            UserQuery::Term(t) => self.term(t)?,
            UserQuery::Range(r) => self.range(r),
            // NOT of NULL is NULL: the operand is made FALSE first, so a missing value
            // never matches and its negation does.
            UserQuery::Not(inner) => format!("NOT COALESCE(({}), FALSE)", self.query(inner)?),
            UserQuery::And(parts) | UserQuery::Or(parts) => {
                let joiner = if matches!(q, UserQuery::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let compiled = parts
                    .iter()
                    .map(|p| self.query(p).map(|s| format!("({s})")))
                    .collect::<Result<Vec<_>, _>>()?;
                compiled.join(joiner)
            }
        })
    }
}

/// The smallest string greater than every string that starts with `stem` (by code point), or
/// `None` when there is none.
fn successor(stem: &str) -> Option<String> {
    let mut chars: Vec<char> = stem.chars().collect();
    while let Some(last) = chars.pop() {
        // The next code point, skipping the surrogates, which are no chars.
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The `WHERE` condition for `query`, placeholders numbered from `first`.
pub(crate) fn condition(
    dialect: Dialect,
    query: Option<&UserQuery>,
    first: usize,
) -> Result<Condition, BadValue> {
    let mut c = Compiler {
        dialect,
        next: first,
        binds: Vec::new(),
    };
    let sql = match query {
        Some(q) => c.query(q)?,
        None => "TRUE".to_owned(),
    };
    Ok(Condition {
        sql,
        binds: c.binds,
    })
}

/// `ORDER BY` for `sort`, with the user id as a tiebreaker so pages are stable.
pub(crate) fn order_by(sort: UserSort) -> String {
    let column = match sort.field {
        SortField::CreatedAt => "u.created_at",
        SortField::UpdatedAt => "u.updated_at",
        SortField::LastLogin => "u.last_login",
        SortField::Email => "u.email",
        SortField::LoginsCount => "u.logins_count",
        SortField::UserId => "u.user_id",
    };
    let dir = if sort.descending { "DESC" } else { "ASC" };
    format!("{column} {dir}, u.user_id {dir}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::user_search::parse;

    /// The query with every caller-written value and JSON path segment replaced, keeping only
    /// what may shape the SQL: the structure, the fields, booleans and numbers.
    fn anonymised(q: &UserQuery) -> UserQuery {
        match q {
            UserQuery::And(p) => UserQuery::And(p.iter().map(anonymised).collect()),
            UserQuery::Or(p) => UserQuery::Or(p.iter().map(anonymised).collect()),
            UserQuery::Not(i) => UserQuery::Not(Box::new(anonymised(i))),
            UserQuery::Range(r) => UserQuery::Range(r.clone()),
            UserQuery::Term(t) => {
                let field = match &t.field {
                    SearchField::AppMetadata(p) => {
                        SearchField::AppMetadata(vec!["k".into(); p.len()])
                    }
                    SearchField::UserMetadata(p) => {
                        SearchField::UserMetadata(vec!["k".into(); p.len()])
                    }
                    f => f.clone(),
                };
                let value = match t.field {
                    SearchField::EmailVerified
                    | SearchField::PhoneVerified
                    | SearchField::Blocked
                    | SearchField::LoginsCount => t.value.clone(),
                    // An empty prefix (`email:*`) has no range; any other value's shape is v's.
                    _ if t.value.is_empty() => String::new(),
                    _ => "v".into(),
                };
                UserQuery::Term(Term {
                    field,
                    value,
                    prefix: t.prefix,
                })
            }
        }
    }

    fn placeholders(sql: &str) -> usize {
        let mut seen = std::collections::BTreeSet::new();
        let b = sql.as_bytes();
        for (i, _) in sql.match_indices('$') {
            let digits: String = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .map(|&c| c as char)
                .collect();
            if let Ok(n) = digits.parse::<usize>() {
                seen.insert(n);
            }
        }
        seen.len()
    }

    #[test]
    fn successors() {
        assert_eq!(successor("abc").as_deref(), Some("abd"));
        assert_eq!(successor("az").as_deref(), Some("a{"));
        assert_eq!(successor("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(successor("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(successor("\u{10ffff}"), None);
        assert_eq!(successor(""), None);
    }

    #[test]
    fn indexable_shapes() {
        let sql = |d, q: &str| {
            condition(d, Some(&parse(q).expect("parses")), 1)
                .expect("sql")
                .sql
        };
        // Bare terms, so an index can serve them; COALESCE only under NOT.
        assert_eq!(
            sql(Dialect::Postgres, "email:\"a@b\""),
            "LOWER(u.email) = $1"
        );
        assert_eq!(
            sql(Dialect::Postgres, "email:ab*"),
            "LOWER(u.email) LIKE $1 ESCAPE '\\'"
        );
        assert_eq!(
            sql(Dialect::Sqlite, "email:ab*"),
            "LOWER(u.email) >= $2 AND LOWER(u.email) < $3 AND LOWER(u.email) LIKE $1 ESCAPE '\\'"
        );
        assert_eq!(
            sql(Dialect::Sqlite, "NOT blocked:true"),
            "NOT COALESCE((u.blocked = $1), FALSE)"
        );
        assert_eq!(
            sql(Dialect::Postgres, "logins_count:[10 TO 20}"),
            "u.logins_count >= $1 AND u.logins_count < $2"
        );
        assert_eq!(
            sql(Dialect::Sqlite, "last_login:[* TO *]"),
            "u.last_login IS NOT NULL"
        );
    }

    proptest::proptest! {
        #[test]
        fn caller_text_never_reaches_the_sql(
            q in "((email|app_metadata\\.[a-z'\"$]{1,4}|user_metadata\\.x|name|identities\\.connection|user_id|blocked|logins_count):)?[a-z0-9'\"%_$;\\\\]{1,6}\\*?( (AND|OR|NOT) )?",
            dialect in proptest::prop_oneof![proptest::strategy::Just(Dialect::Sqlite), proptest::strategy::Just(Dialect::Postgres)],
        ) {
            let Ok(parsed) = parse(&q) else { return Ok(()); };
            let Ok(ours) = condition(dialect, Some(&parsed), 1) else { return Ok(()); };
            let plain = condition(dialect, Some(&anonymised(&parsed)), 1).expect("same kinds compile");
            // Values and paths only ever become bound parameters, never SQL text.
            proptest::prop_assert_eq!(&ours.sql, &plain.sql);
            proptest::prop_assert_eq!(placeholders(&ours.sql), ours.binds.len());
        }
    }
}
