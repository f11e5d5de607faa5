//! The user search language: a practical subset of Auth0's Lucene syntax (search engine
//! v3). `field:value`, `field:"quoted phrase"`, trailing `*` for prefixes, `AND`, `OR`,
//! `NOT` (or `-`), parentheses; terms side by side are ANDed. Ranges on numbers and dates:
//! `logins_count:[10 TO 20]`, `created_at:{2024-01-01 TO *]` (`[]` inclusive, `{}`
//! exclusive, `*` open).
//!
//! The parser yields an AST; the store turns it into SQL with bound parameters.

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserQuery {
    /// All must match.
    And(Vec<UserQuery>),
    /// Any may match.
    Or(Vec<UserQuery>),
    /// Must not match.
    Not(Box<UserQuery>),
    /// One comparison.
    Term(Term),
    /// A range of a number or a date.
    Range(Range),
}

/// `field:[lower TO upper]`; `None` is an open end (`*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// What is compared.
    pub field: RangeField,
    /// The lower end.
    pub lower: Option<RangeBound>,
    /// The upper end.
    pub upper: Option<RangeBound>,
}

/// Fields that take ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeField {
    /// `logins_count`.
    LoginsCount,
    /// `created_at`.
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `last_login`.
    LastLogin,
}

/// One end of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeBound {
    /// The value.
    pub value: RangeValue,
    /// Whether the value itself is in the range.
    pub inclusive: bool,
}

/// A range end's value, of the field's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeValue {
    /// A count.
    Int(i64),
    /// An instant; a bare date is resolved to a day's start or end when parsed.
    Time(time::OffsetDateTime),
}

/// `field:value` or `field:value*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// What is compared.
    pub field: SearchField,
    /// The value, without quotes or the trailing `*`.
    pub value: String,
    /// Whether the value is a prefix (`value*`).
    pub prefix: bool,
}

/// Searchable fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchField {
    /// `user_id`.
    UserId,
    /// `email`.
    Email,
    /// `email_verified` (true/false).
    EmailVerified,
    /// `username`.
    Username,
    /// `phone_number`.
    PhoneNumber,
    /// `phone_verified`.
    PhoneVerified,
    /// `blocked`.
    Blocked,
    /// `logins_count`.
    LoginsCount,
    /// A root profile attribute: `name`, `nickname`, `given_name`, `family_name`, `picture`.
    Profile(&'static str),
    /// `identities.connection`.
    IdentityConnection,
    /// `identities.provider`.
    IdentityProvider,
    /// `identities.user_id`.
    IdentityUserId,
    /// `app_metadata.<path>`.
    AppMetadata(Vec<String>),
    /// `user_metadata.<path>`.
    UserMetadata(Vec<String>),
    /// No field: email, name, nickname or username.
    AnyText,
}

/// A query that cannot be parsed or uses what we do not support.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SearchError(pub String);

const MAX_DEPTH: usize = 16;
const MAX_TERMS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    /// A word or `field:value`; `quoted` when the value part was in quotes.
    Word {
        text: String,
        quoted: bool,
        field: Option<String>,
    },
    /// `field:[a TO b]`: the text between the brackets and whether each end is inclusive.
    Range {
        field: String,
        text: String,
        lower_inclusive: bool,
        upper_inclusive: bool,
    },
}

fn tokenize(input: &str) -> Result<Vec<Token>, SearchError> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '-' if tokens
                .last()
                .is_none_or(|t| !matches!(t, Token::Word { .. } | Token::Range { .. })) =>
            {
                chars.next();
                tokens.push(Token::Not);
            }
            _ => {
                let mut field = None;
                let mut text = String::new();
                let mut quoted = false;
                let mut range = None;
                loop {
                    match chars.peek().copied() {
                        None => break,
                        Some(c) if c.is_whitespace() || c == '(' || c == ')' => break,
                        Some(open @ ('[' | '{')) if text.is_empty() && field.is_some() => {
                            chars.next();
                            let mut inner = String::new();
                            let close = loop {
                                match chars.next() {
                                    None => {
                                        return Err(SearchError("unterminated range".into()));
                                    }
                                    Some(c @ (']' | '}')) => break c,
                                    Some(c) => inner.push(c),
                                }
                            };
                            range = Some((inner, open == '[', close == ']'));
                            break;
                        }
                        Some('"') if text.is_empty() => {
                            chars.next();
                            quoted = true;
                            loop {
                                match chars.next() {
                                    None => {
                                        return Err(SearchError(
                                            "unterminated quoted phrase".into(),
                                        ));
                                    }
                                    Some('"') => break,
                                    Some('\\') => text.extend(chars.next()),
                                    Some(c) => text.push(c),
                                }
                            }
                            break;
                        }
                        Some(':') if field.is_none() && !quoted => {
                            chars.next();
                            field = Some(std::mem::take(&mut text));
                        }
                        Some('\\') => {
                            chars.next();
                            text.extend(chars.next());
                        }
                        Some(c) => {
                            chars.next();
                            text.push(c);
                        }
                    }
                }
                if let (Some((text, lower_inclusive, upper_inclusive)), Some(field)) =
                    (range, field.clone())
                {
                    tokens.push(Token::Range {
                        field,
                        text,
                        lower_inclusive,
                        upper_inclusive,
                    });
                    continue;
                }
                let token = match (field.is_none() && !quoted, text.as_str()) {
                    (true, "AND") | (true, "&&") => Token::And,
                    (true, "OR") | (true, "||") => Token::Or,
                    (true, "NOT") => Token::Not,
                    _ => Token::Word {
                        text,
                        quoted,
                        field,
                    },
                };
                tokens.push(token);
            }
        }
    }
    Ok(tokens)
}

fn field(name: Option<&str>) -> Result<SearchField, SearchError> {
    let Some(name) = name else {
        return Ok(SearchField::AnyText);
    };
    let path = |rest: &str| -> Result<Vec<String>, SearchError> {
        let parts: Vec<String> = rest.split('.').map(str::to_owned).collect();
        if parts.iter().any(|p| p.is_empty()) || parts.len() > 8 {
            return Err(SearchError(format!("invalid field {name}")));
        }
        Ok(parts)
    };
    Ok(match name {
        "user_id" => SearchField::UserId,
        "email" => SearchField::Email,
        "email_verified" => SearchField::EmailVerified,
        "username" => SearchField::Username,
        "phone_number" => SearchField::PhoneNumber,
        "phone_verified" => SearchField::PhoneVerified,
        "blocked" => SearchField::Blocked,
        "logins_count" => SearchField::LoginsCount,
        "name" => SearchField::Profile("name"),
        "nickname" => SearchField::Profile("nickname"),
        "given_name" => SearchField::Profile("given_name"),
        "family_name" => SearchField::Profile("family_name"),
        "picture" => SearchField::Profile("picture"),
        "identities.connection" => SearchField::IdentityConnection,
        "identities.provider" => SearchField::IdentityProvider,
        "identities.user_id" => SearchField::IdentityUserId,
        _ => {
            if let Some(rest) = name.strip_prefix("app_metadata.") {
                SearchField::AppMetadata(path(rest)?)
            } else if let Some(rest) = name.strip_prefix("user_metadata.") {
                SearchField::UserMetadata(path(rest)?)
            } else {
                return Err(SearchError(format!("unsupported search field {name}")));
            }
        }
    })
}

/// `lower TO upper` of a range on `name`.
fn range(
    name: &str,
    text: &str,
    lower_inclusive: bool,
    upper_inclusive: bool,
) -> Result<Range, SearchError> {
    let field = match name {
        "logins_count" => RangeField::LoginsCount,
        "created_at" => RangeField::CreatedAt,
        "updated_at" => RangeField::UpdatedAt,
        "last_login" => RangeField::LastLogin,
        other => return Err(SearchError(format!("{other} does not take a range"))),
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let [lower, "TO", upper] = words.as_slice() else {
        return Err(SearchError("a range must look like [a TO b]".into()));
    };
    let bound = |word: &str, inclusive: bool, upper: bool| -> Result<_, SearchError> {
        if word == "*" {
            return Ok(None);
        }
        if field == RangeField::LoginsCount {
            let n = word
                .parse::<i64>()
                .map_err(|_| SearchError(format!("{word} is not a number")))?;
            return Ok(Some(RangeBound {
                value: RangeValue::Int(n),
                inclusive,
            }));
        }
        instant(word, inclusive, upper).map(Some)
    };
    Ok(Range {
        field,
        lower: bound(lower, lower_inclusive, false)?,
        upper: bound(upper, upper_inclusive, true)?,
    })
}

/// A date end: an RFC 3339 instant as written; a bare date (`2024-01-31`) stands for the
/// whole day, as Elasticsearch rounds dates in ranges, so `[a TO b]` includes all of day `b`
/// and `{a TO b}` excludes all of day `a`.
fn instant(word: &str, inclusive: bool, upper: bool) -> Result<RangeBound, SearchError> {
    use time::format_description::well_known::Rfc3339;
    let bad = || SearchError(format!("{word} is not a date"));
    if let Ok(t) = time::OffsetDateTime::parse(word, &Rfc3339) {
        return Ok(RangeBound {
            value: RangeValue::Time(t),
            inclusive,
        });
    }
    let day = time::Date::parse(
        word,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| bad())?;
    // Past an inclusive upper day or an exclusive lower day, the bound is the next midnight.
    let (day, inclusive) = match (upper, inclusive) {
        (true, true) => (day.next_day().ok_or_else(bad)?, false),
        (false, false) => (day.next_day().ok_or_else(bad)?, true),
        (_, inclusive) => (day, inclusive),
    };
    Ok(RangeBound {
        value: RangeValue::Time(day.midnight().assume_utc()),
        inclusive,
    })
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    terms: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self, depth: usize) -> Result<UserQuery, SearchError> {
        let mut parts = vec![self.and(depth)?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            UserQuery::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<UserQuery, SearchError> {
        let mut parts = vec![self.unary(depth)?];
        loop {
            match self.peek() {
                Some(Token::And) => {
                    self.pos += 1;
                    parts.push(self.unary(depth)?);
                }
                Some(Token::Or) | Some(Token::Close) | None => break,
                Some(_) => parts.push(self.unary(depth)?),
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            UserQuery::And(parts)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<UserQuery, SearchError> {
        if depth > MAX_DEPTH {
            return Err(SearchError("query is nested too deeply".into()));
        }
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Not) => {
                self.pos += 1;
                Ok(UserQuery::Not(Box::new(self.unary(depth + 1)?)))
            }
            Some(Token::Open) => {
                self.pos += 1;
                let inner = self.or(depth + 1)?;
                if self.peek() != Some(&Token::Close) {
                    return Err(SearchError("missing closing parenthesis".into()));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Token::Word {
                text,
                quoted,
                field: name,
            }) => {
                self.pos += 1;
                self.terms += 1;
                if self.terms > MAX_TERMS {
                    return Err(SearchError("too many terms".into()));
                }
                let field = field(name.as_deref())?;
                let (value, prefix) = match text.strip_suffix('*') {
                    Some(stem) if !quoted => (stem.to_owned(), true),
                    _ => (text, false),
                };
                if value.is_empty() && !prefix {
                    return Err(SearchError("empty search value".into()));
                }
                match field {
                    SearchField::EmailVerified
                    | SearchField::PhoneVerified
                    | SearchField::Blocked
                        if prefix || !matches!(value.as_str(), "true" | "false") =>
                    {
                        return Err(SearchError(format!("{value} is not true or false")));
                    }
                    SearchField::LoginsCount if prefix || value.parse::<i64>().is_err() => {
                        return Err(SearchError(format!("{value} is not a number")));
                    }
                    _ => {}
                }
                if (value.contains('*') || value.contains('?')) && !quoted {
                    return Err(SearchError("only a trailing * is supported".into()));
                }
                Ok(UserQuery::Term(Term {
                    field,
                    value,
                    prefix,
                }))
            }
            Some(Token::Range {
                field,
                text,
                lower_inclusive,
                upper_inclusive,
            }) => {
                self.pos += 1;
                self.terms += 1;
                if self.terms > MAX_TERMS {
                    return Err(SearchError("too many terms".into()));
                }
                range(&field, &text, lower_inclusive, upper_inclusive).map(UserQuery::Range)
            }
            Some(t) => Err(SearchError(format!("unexpected {t:?}"))),
            None => Err(SearchError("unexpected end of query".into())),
        }
    }
}

/// Orders for `sort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    /// `created_at` (the default).
    #[default]
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `last_login`.
    LastLogin,
    /// `email`.
    Email,
    /// `logins_count`.
    LoginsCount,
    /// `user_id`.
    UserId,
}

/// `sort=<field>:1` (ascending) or `<field>:-1` (descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserSort {
    /// The field.
    pub field: SortField,
    /// Newest/largest first.
    pub descending: bool,
}

impl UserSort {
    /// Parses Auth0's `sort` parameter.
    pub fn parse(text: &str) -> Result<Self, SearchError> {
        let (name, dir) = text
            .split_once(':')
            .ok_or_else(|| SearchError("sort must look like field:1 or field:-1".into()))?;
        let field = match name {
            "created_at" => SortField::CreatedAt,
            "updated_at" => SortField::UpdatedAt,
            "last_login" => SortField::LastLogin,
            "email" => SortField::Email,
            "logins_count" => SortField::LoginsCount,
            "user_id" => SortField::UserId,
            other => return Err(SearchError(format!("cannot sort by {other}"))),
        };
        let descending = match dir {
            "1" => false,
            "-1" => true,
            _ => return Err(SearchError("sort direction must be 1 or -1".into())),
        };
        Ok(UserSort { field, descending })
    }
}

/// Parses a `q` parameter.
pub fn parse(input: &str) -> Result<UserQuery, SearchError> {
    if input.len() > 2048 {
        return Err(SearchError("query is too long".into()));
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(SearchError("empty query".into()));
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        terms: 0,
    };
    let q = p.or(0)?;
    if p.pos != p.tokens.len() {
        return Err(SearchError("unexpected text after the query".into()));
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(field: SearchField, value: &str, prefix: bool) -> UserQuery {
        UserQuery::Term(Term {
            field,
            value: value.into(),
            prefix,
        })
    }

    #[test]
    fn fields_phrases_and_prefixes() {
        assert_eq!(
            parse(r#"email:"jane@example.com""#),
            Ok(term(SearchField::Email, "jane@example.com", false))
        );
        assert_eq!(
            parse("name:jo*"),
            Ok(term(SearchField::Profile("name"), "jo", true))
        );
        assert_eq!(
            parse("app_metadata.plan.tier:gold"),
            Ok(term(
                SearchField::AppMetadata(vec!["plan".into(), "tier".into()]),
                "gold",
                false
            ))
        );
        assert_eq!(
            parse(r#"identities.connection:"Username-Password-Authentication""#),
            Ok(term(
                SearchField::IdentityConnection,
                "Username-Password-Authentication",
                false
            ))
        );
        assert_eq!(parse("jane"), Ok(term(SearchField::AnyText, "jane", false)));
        assert_eq!(
            parse(r#"name:"a \"b\"""#),
            Ok(term(SearchField::Profile("name"), "a \"b\"", false))
        );
    }

    #[test]
    fn boolean_structure() {
        let q =
            parse("email_verified:true AND (name:a OR name:b) NOT blocked:true").expect("parses");
        assert_eq!(
            q,
            UserQuery::And(vec![
                term(SearchField::EmailVerified, "true", false),
                UserQuery::Or(vec![
                    term(SearchField::Profile("name"), "a", false),
                    term(SearchField::Profile("name"), "b", false),
                ]),
                UserQuery::Not(Box::new(term(SearchField::Blocked, "true", false))),
            ])
        );
        assert_eq!(
            parse("-email:x@y"),
            Ok(UserQuery::Not(Box::new(term(
                SearchField::Email,
                "x@y",
                false
            ))))
        );
        assert!(matches!(parse("a b"), Ok(UserQuery::And(_))));
    }

    #[test]
    fn ranges() {
        use time::macros::datetime;
        let int = |n, inclusive| {
            Some(RangeBound {
                value: RangeValue::Int(n),
                inclusive,
            })
        };
        let at = |t, inclusive| {
            Some(RangeBound {
                value: RangeValue::Time(t),
                inclusive,
            })
        };
        assert_eq!(
            parse("logins_count:[10 TO 20]"),
            Ok(UserQuery::Range(Range {
                field: RangeField::LoginsCount,
                lower: int(10, true),
                upper: int(20, true),
            }))
        );
        assert_eq!(
            parse("logins_count:{10 TO *]"),
            Ok(UserQuery::Range(Range {
                field: RangeField::LoginsCount,
                lower: int(10, false),
                upper: None,
            }))
        );
        // Bare dates cover whole days: through the end of the upper day, after the lower one.
        assert_eq!(
            parse("created_at:[2024-01-01 TO 2024-01-31]"),
            Ok(UserQuery::Range(Range {
                field: RangeField::CreatedAt,
                lower: at(datetime!(2024-01-01 0:00 UTC), true),
                upper: at(datetime!(2024-02-01 0:00 UTC), false),
            }))
        );
        assert_eq!(
            parse("last_login:{2024-01-01 TO 2024-01-31}"),
            Ok(UserQuery::Range(Range {
                field: RangeField::LastLogin,
                lower: at(datetime!(2024-01-02 0:00 UTC), true),
                upper: at(datetime!(2024-01-31 0:00 UTC), false),
            }))
        );
        assert_eq!(
            parse("updated_at:[* TO 2024-01-01T12:30:00Z}"),
            Ok(UserQuery::Range(Range {
                field: RangeField::UpdatedAt,
                lower: None,
                upper: at(datetime!(2024-01-01 12:30 UTC), false),
            }))
        );
        assert!(matches!(
            parse("email:a* AND logins_count:[1 TO 2]"),
            Ok(UserQuery::And(parts)) if matches!(parts[1], UserQuery::Range(_))
        ));
        for bad in [
            "logins_count:[1 TO",
            "logins_count:[a TO 2]",
            "logins_count:[1 2]",
            "email:[a TO b]",
            "created_at:[yesterday TO *]",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sorts() {
        assert_eq!(
            UserSort::parse("created_at:-1"),
            Ok(UserSort {
                field: SortField::CreatedAt,
                descending: true
            })
        );
        assert!(UserSort::parse("password:1").is_err());
        assert!(UserSort::parse("email:2").is_err());
        assert!(parse(r#"name:"a*b""#).is_ok(), "a quoted star is literal");
    }

    #[test]
    fn rejects_what_it_cannot_do() {
        for bad in [
            "",
            "password:x",
            "email:\"open",
            "(name:a",
            "name:a)",
            "name:*a",
            "blocked:maybe",
            "logins_count:many",
            "app_metadata..x:1",
            "AND",
            &"(".repeat(40),
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    fn query_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        proptest::collection::vec(
            prop_oneof![
                Just("(".to_owned()),
                Just(")".to_owned()),
                Just(" AND ".to_owned()),
                Just(" OR ".to_owned()),
                Just("NOT ".to_owned()),
                Just("-".to_owned()),
                Just("\"".to_owned()),
                Just("*".to_owned()),
                Just("\\".to_owned()),
                Just("email:".to_owned()),
                Just("app_metadata.a.b:".to_owned()),
                Just("logins_count:".to_owned()),
                "[a-z0-9 ]{1,5}",
                "\\PC{0,3}",
            ],
            0..60,
        )
        .prop_map(|parts| parts.concat())
    }

    fn depth_and_terms(q: &UserQuery) -> (usize, usize) {
        match q {
            UserQuery::Term(_) | UserQuery::Range(_) => (0, 1),
            UserQuery::Not(inner) => {
                let (d, t) = depth_and_terms(inner);
                (d + 1, t)
            }
            UserQuery::And(parts) | UserQuery::Or(parts) => parts
                .iter()
                .map(depth_and_terms)
                .fold((0, 0), |(d, t), (pd, pt)| (d.max(pd + 1), t + pt)),
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics_and_respects_the_caps(q in query_text()) {
            if let Ok(parsed) = parse(&q) {
                let (depth, terms) = depth_and_terms(&parsed);
                proptest::prop_assert!(terms <= MAX_TERMS);
                // Each parenthesis or NOT adds at most one level, and AND/OR one more.
                proptest::prop_assert!(depth <= 2 * (MAX_DEPTH + 2));
            }
        }
    }
}
