//! Times `authz::policy` for a login that touches a large extension configuration: 100
//! groups (the user in 10, nested so that all 100 apply, and mapped from 5 upstream
//! groups), 200 roles and 1,000 permissions of the application, 100 roles and 500
//! permissions of another. Prints microseconds per policy; `bench/authz-policy.sh` sets it
//! against one RSA-2048 signature measured in the same run.

use std::time::Instant;

use gatehouse_core::authz::{AuthzData, Group, Mapping, Permission, Role, policy};

fn data() -> AuthzData {
    let app = |i: usize| if i % 3 == 2 { "other-app" } else { "app" };
    let permissions: Vec<Permission> = (0..1_500)
        .map(|i| Permission {
            id: format!("p{i}"),
            name: format!("do:thing{i}"),
            application_type: "client".into(),
            application_id: if i < 1_000 { "app" } else { "other-app" }.into(),
            ..Permission::default()
        })
        .collect();
    let roles: Vec<Role> = (0..300)
        .map(|i| {
            let base = if app(i) == "app" {
                (i * 5) % 1_000
            } else {
                1_000 + (i * 5) % 500
            };
            Role {
                id: format!("r{i}"),
                name: format!("role{i}"),
                application_type: "client".into(),
                application_id: app(i).into(),
                permissions: (base..base + 5).map(|p| format!("p{p}")).collect(),
                ..Role::default()
            }
        })
        .collect();
    let groups: Vec<Group> = (0..100)
        .map(|i| Group {
            id: format!("g{i}"),
            name: format!("group{i}"),
            // The user is in every tenth group; each group nests the next, so all apply.
            members: if i % 10 == 0 {
                vec!["user".into()]
            } else {
                vec![]
            },
            nested: if i + 1 < 100 {
                vec![format!("g{}", i + 1)]
            } else {
                vec![]
            },
            roles: (0..3).map(|k| format!("r{}", (i * 3 + k) % 300)).collect(),
            mappings: if i < 5 {
                vec![Mapping {
                    id: format!("m{i}"),
                    group_name: format!("upstream{i}"),
                    connection_name: "corp".into(),
                }]
            } else {
                vec![]
            },
            ..Group::default()
        })
        .collect();
    AuthzData {
        groups,
        roles,
        permissions,
        ..AuthzData::default()
    }
}

fn main() {
    let data = data();
    let upstream: Vec<String> = (0..5).map(|i| format!("upstream{i}")).collect();
    let once = policy(&data, "user", "corp", &upstream, "app");
    let rounds = 2_000;
    let start = Instant::now();
    let mut permissions = 0;
    for _ in 0..rounds {
        permissions += policy(&data, "user", "corp", &upstream, "app")
            .permissions
            .len();
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    assert_eq!(permissions, once.permissions.len() * rounds as usize);
    println!(
        "policy: {} groups, {} roles, {} permissions of the application; {per:.1} us per login",
        once.groups.len(),
        once.roles.len(),
        once.permissions.len()
    );
}
