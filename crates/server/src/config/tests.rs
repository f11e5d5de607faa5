//! Loading settings through every layer: defaults, precedence, and errors that name the
//! setting and where its value came from.

use std::collections::BTreeMap;

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn defaults() {
    let c = Config::load(&Flags::default(), env_of(&[])).expect("defaults load");
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.issuer, None);
    assert_eq!(
        c.database,
        Database::Sqlite {
            url: "sqlite://gatehouse.db".into(),
            path: "gatehouse.db".into()
        }
    );
    assert_eq!(c.log_format, LogFormat::Pretty);
    assert!(c.bootstrap.is_none() && c.master_key.is_none());
    assert!(c.metrics_listen.is_none(), "/metrics is off by default");
    assert_eq!(
        c.trusted_proxies,
        Default::default(),
        "no proxy is trusted by default"
    );
}

#[test]
fn flag_over_env_over_file_over_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("g.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1000\"\nissuer = \"https://file.example/\"\nlog_format = \"json\"\n",
    )
    .expect("write");
    let flags = Flags {
        config_file: Some(file),
        listen: Some("127.0.0.1:3000".into()),
        ..Flags::default()
    };
    let env = env_of(&[
        ("GATEHOUSE_LISTEN", "127.0.0.1:2000"),
        ("GATEHOUSE_ISSUER", "https://env.example/"),
    ]);
    let c = Config::load(&flags, env).expect("loads");
    assert_eq!(c.listen.port(), 3000, "flag wins over env and file");
    assert_eq!(
        c.issuer.as_deref(),
        Some("https://env.example/"),
        "env wins over file"
    );
    assert_eq!(c.log_format, LogFormat::Json, "file wins over default");
}

#[test]
fn issuer_needs_trailing_slash() {
    let e = Config::load(
        &Flags::default(),
        env_of(&[("GATEHOUSE_ISSUER", "https://id.example.com")]),
    )
    .expect_err("rejected");
    assert_eq!(e.setting, "GATEHOUSE_ISSUER");
    assert!(e.to_string().contains("trailing slash"), "{e}");
    for bad in ["ftp://x/", "https://x/?a=1", "not a url/"] {
        assert!(
            Config::load(&Flags::default(), env_of(&[("GATEHOUSE_ISSUER", bad)])).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn bad_values_name_their_setting() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("GATEHOUSE_LISTEN", "localhost")], "GATEHOUSE_LISTEN"),
        (
            &[("GATEHOUSE_DATABASE_URL", "mysql://x")],
            "GATEHOUSE_DATABASE_URL",
        ),
        (
            &[("GATEHOUSE_DATABASE_URL", "postgres://u:pw@h/db")],
            "GATEHOUSE_MASTER_KEY",
        ),
        (&[("GATEHOUSE_MASTER_KEY", "short")], "GATEHOUSE_MASTER_KEY"),
        (
            &[("GATEHOUSE_BOOTSTRAP_CLIENT_ID", "abc")],
            "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
        ),
        (
            &[
                ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", "abc"),
                ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", "too-short"),
            ],
            "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
        ),
        (&[("GATEHOUSE_LOG_FORMAT", "xml")], "GATEHOUSE_LOG_FORMAT"),
        (&[("GATEHOUSE_LOG_LEVEL", "info,[[")], "GATEHOUSE_LOG_LEVEL"),
        (
            &[("GATEHOUSE_RATE_LIMIT_AUTH", "fast")],
            "GATEHOUSE_RATE_LIMIT_AUTH",
        ),
        (
            &[("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.1,lb.internal")],
            "GATEHOUSE_TRUSTED_PROXIES",
        ),
        (
            &[("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/40")],
            "GATEHOUSE_TRUSTED_PROXIES",
        ),
        (
            &[("GATEHOUSE_METRICS_LISTEN", "9464")],
            "GATEHOUSE_METRICS_LISTEN",
        ),
        (
            &[("GATEHOUSE_DEFAULT_COUNTRY", "USA")],
            "GATEHOUSE_DEFAULT_COUNTRY",
        ),
        (
            &[("GATEHOUSE_GITHUB_URL", "github.com")],
            "GATEHOUSE_GITHUB_URL",
        ),
    ];
    for (env, setting) in cases {
        let e = Config::load(&Flags::default(), env_of(env)).expect_err("rejected");
        assert_eq!(&e.setting, setting, "{e}");
    }
}

#[test]
fn outbox_retry_is_attempts_and_seconds() {
    let c = Config::load(&Flags::default(), env_of(&[])).expect("defaults");
    assert_eq!(c.outbox_retry, (5, std::time::Duration::from_secs(30)));
    let c = Config::load(
        &Flags::default(),
        env_of(&[("GATEHOUSE_OUTBOX_RETRY", "3:0.5")]),
    )
    .expect("loads");
    assert_eq!(c.outbox_retry, (3, std::time::Duration::from_millis(500)));
    for bad in ["0:30", "21:30", "5", "5:0", "5:-1", "x:30"] {
        let e = Config::load(
            &Flags::default(),
            env_of(&[("GATEHOUSE_OUTBOX_RETRY", bad)]),
        )
        .expect_err(bad);
        assert_eq!(e.setting, "GATEHOUSE_OUTBOX_RETRY", "{bad}");
    }
}

#[test]
fn secrets_are_not_echoed() {
    let e = Config::load(
        &Flags::default(),
        env_of(&[("GATEHOUSE_DATABASE_URL", "mysql://u:hunter2@h/db")]),
    )
    .expect_err("rejected");
    assert!(!e.to_string().contains("hunter2"));
    let c = Config::load(
        &Flags::default(),
        env_of(&[
            ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", "ops"),
            (
                "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
                "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t",
            ),
        ]),
    )
    .expect("loads");
    assert!(!format!("{c:?}").contains("s3cr3t"));
}

#[test]
fn unknown_file_keys_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("g.toml");
    std::fs::write(&file, "listne = \"127.0.0.1:1\"\n").expect("write");
    let flags = Flags {
        config_file: Some(file),
        ..Flags::default()
    };
    let e = Config::load(&flags, env_of(&[])).expect_err("rejected");
    assert!(e.to_string().contains("listne"), "{e}");
}

#[test]
fn errors_say_where_the_value_came_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("g.toml");
    std::fs::write(&file, "link_max_age = \"5\"\nlisten = \"nowhere\"\n").expect("write");
    let with_file = Flags {
        config_file: Some(file.clone()),
        ..Flags::default()
    };
    let e = Config::load(&with_file, env_of(&[])).expect_err("file value");
    assert_eq!(
        e.to_string(),
        format!(
            "invalid setting GATEHOUSE_LISTEN (from config file {}): `nowhere` is not an \
             address like 127.0.0.1:8080",
            file.display()
        )
    );
    let e = Config::load(&with_file, env_of(&[("GATEHOUSE_LISTEN", "127.0.0.1:1")]))
        .expect_err("the file's link_max_age");
    assert_eq!(e.setting, "GATEHOUSE_LINK_MAX_AGE");
    assert!(e.origin.starts_with("config file "), "{e}");
    let e = Config::load(
        &Flags {
            log_format: Some("yaml".into()),
            ..Flags::default()
        },
        env_of(&[("GATEHOUSE_LOG_FORMAT", "json")]),
    )
    .expect_err("flag value");
    assert_eq!(
        e.to_string(),
        "invalid setting GATEHOUSE_LOG_FORMAT (from --log-format): `yaml` is neither `pretty` \
         nor `json`"
    );
    let e = Config::load(
        &Flags::default(),
        env_of(&[("GATEHOUSE_OUTBOX_RETRY", "9")]),
    )
    .expect_err("env value");
    assert_eq!(e.origin, "the environment");
    // An empty variable is unset: the default applies.
    let c = Config::load(&Flags::default(), env_of(&[("GATEHOUSE_LISTEN", "")])).expect("loads");
    assert_eq!(c.listen.port(), 8080);
}

#[test]
fn file_values_are_strings_under_known_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("g.toml");
    std::fs::write(&file, "brute_force_threshold = 3\n").expect("write");
    let flags = Flags {
        config_file: Some(file),
        ..Flags::default()
    };
    let e = Config::load(&flags, env_of(&[])).expect_err("rejected");
    assert_eq!(e.setting, "--config");
    let e = Config::load(
        &Flags {
            config_file: Some(dir.path().join("missing.toml")),
            ..Flags::default()
        },
        env_of(&[]),
    )
    .expect_err("no file");
    assert!(e.message.starts_with("cannot read it"), "{e}");
}

#[test]
fn actions_fetch_names_origins_or_any_https() {
    let any = FetchPolicy::parse("*").expect("any");
    let url = |s: &str| url::Url::parse(s).expect("url");
    assert!(any.allows(&url("https://api.example.com/x")));
    assert!(!any.allows(&url("http://api.example.com/x")));
    let some =
        FetchPolicy::parse("https://api.example.com, http://127.0.0.1:9000").expect("origins");
    assert!(some.allows(&url("https://api.example.com/v1?q=1")));
    assert!(some.allows(&url("http://127.0.0.1:9000/hook")));
    assert!(!some.allows(&url("http://127.0.0.1:9001/hook")));
    assert!(!some.allows(&url("https://api.example.com.evil.example/")));
    assert!(!some.allows(&url("http://api.example.com/")));
    for bad in ["", "ftp://x.example", "https://x.example/path", "not a url"] {
        assert!(FetchPolicy::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn redis_is_optional_and_checked() {
    let c = Config::load(&Flags::default(), env_of(&[])).expect("defaults");
    assert!(c.redis_url.is_none());
    assert_eq!(c.redis_prefix, "gatehouse");
    let c = Config::load(
        &Flags::default(),
        env_of(&[
            ("GATEHOUSE_REDIS_URL", "rediss://:pw@cache.internal:6380/2"),
            ("GATEHOUSE_REDIS_PREFIX", "acme:prod"),
        ]),
    )
    .expect("redis");
    assert_eq!(
        c.redis_url.as_ref().map(Secret::expose),
        Some("rediss://:pw@cache.internal:6380/2")
    );
    assert!(!format!("{c:?}").contains(":pw@"), "never in a log line");
    assert_eq!(c.redis_prefix, "acme:prod");
    for (key, bad) in [
        ("GATEHOUSE_REDIS_URL", "http://cache.internal"),
        ("GATEHOUSE_REDIS_PREFIX", "has space"),
    ] {
        let e = Config::load(&Flags::default(), env_of(&[(key, bad)])).expect_err(bad);
        assert_eq!(e.setting, key);
    }
}

#[test]
fn log_retention_is_days_or_off() {
    let days = |v: &str| {
        Config::load(
            &Flags::default(),
            env_of(&[("GATEHOUSE_LOG_RETENTION_DAYS", v)]),
        )
        .map(|c| c.log_retention_days)
    };
    let defaults = Config::load(&Flags::default(), env_of(&[])).expect("defaults");
    assert_eq!(defaults.log_retention_days, Some(30));
    assert_eq!(days("90").expect("90"), Some(90));
    assert_eq!(days("off").expect("off"), None);
    for bad in ["0", "-1", "ten", "4000"] {
        assert!(days(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_dashboard_is_on_unless_turned_off() {
    let admin = |v: &str| {
        Config::load(&Flags::default(), env_of(&[("GATEHOUSE_ADMIN", v)])).map(|c| c.admin)
    };
    assert!(
        Config::load(&Flags::default(), env_of(&[]))
            .expect("defaults")
            .admin
    );
    assert!(!admin("off").expect("off"));
    assert!(admin("on").expect("on"));
    assert!(admin("maybe").is_err());
}

#[test]
fn shutdown_grace_is_seconds() {
    let grace = |v: &str| {
        Config::load(
            &Flags::default(),
            env_of(&[("GATEHOUSE_SHUTDOWN_GRACE", v)]),
        )
        .map(|c| c.shutdown_grace)
    };
    let defaults = Config::load(&Flags::default(), env_of(&[])).expect("defaults");
    assert_eq!(defaults.shutdown_grace, std::time::Duration::from_secs(25));
    assert_eq!(
        grace("0.5").expect("half"),
        std::time::Duration::from_millis(500)
    );
    for bad in ["0", "-1", "soon", "601"] {
        assert!(grace(bad).is_err(), "{bad}");
    }
}

#[test]
fn otlp_endpoint_is_an_http_base_url() {
    let endpoint = |v: &str| {
        Config::load(&Flags::default(), env_of(&[("GATEHOUSE_OTLP_ENDPOINT", v)]))
            .map(|c| c.otlp_endpoint)
    };
    let defaults = Config::load(&Flags::default(), env_of(&[])).expect("defaults");
    assert_eq!(defaults.otlp_endpoint, None, "no export unless asked");
    assert_eq!(
        endpoint("http://collector:4318/").expect("url").as_deref(),
        Some("http://collector:4318")
    );
    for bad in ["collector:4318", "ftp://collector"] {
        assert!(endpoint(bad).is_err(), "{bad}");
    }
}
