//! Turns a parsed user search into a SQL condition with bound parameters. Every value the
//! caller wrote is bound; only names from fixed lists are written into the SQL text.

use gatehouse_core::user_search::{SearchField, SortField, Term, UserQuery, UserSort};

use crate::Dialect;

/// A bound value.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
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
            let escaped = term
                .value
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let p = self.bind(Bind::Text(format!("{escaped}%")));
            format!("LOWER({expr}) LIKE {p} ESCAPE '\\'")
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

    fn query(&mut self, q: &UserQuery) -> Result<String, BadValue> {
        Ok(match q {
            UserQuery::Term(t) => format!("COALESCE(({}), FALSE)", self.term(t)?),
            UserQuery::Not(inner) => format!("NOT ({})", self.query(inner)?),
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
