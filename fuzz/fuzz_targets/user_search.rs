//! The user-search `q` parser and its SQL compiler: never panic, and no caller text in the SQL.
#![no_main]

use gatehouse_core::user_search::parse;
use gatehouse_store::Dialect;
use gatehouse_store::testing::compile_user_search;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|q: &str| {
    let Ok(query) = parse(q) else { return };
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        if let Ok((sql, binds)) = compile_user_search(dialect, &query) {
            // Every placeholder is one bound value; a value never opens a string literal.
            assert!(sql.matches('$').count() >= binds);
            assert!(!sql.contains(';'), "{sql}");
        }
    }
});
