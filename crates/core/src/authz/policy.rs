//! A user's policy for one application, as the extension computes it:
//! 1. the groups listing the user as a member;
//! 2. the groups one of whose mappings names the login's connection and a group name the
//!    upstream provider sent, or the name of a group from step 1 (one pass);
//! 3. every group those are nested in, transitively: nesting goes upward (if A nests B, B's
//!    members are A's members and get A's roles). A cycle ends where a group repeats;
//! 4. the roles of those groups and the roles listing the user directly, of this
//!    application only; their permissions.
//!
//! Names come out once each, in the order the data holds them. Work is linear in the size of
//! the data: groups and roles are indexed once per call.

use std::collections::{HashMap, HashSet};

use super::{AuthzData, Group};

/// What a login's policy gives: names, for tokens and `app_metadata.authorization`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Group names.
    pub groups: Vec<String>,
    /// Role names (of the application only).
    pub roles: Vec<String>,
    /// Permission names (of those roles).
    pub permissions: Vec<String>,
}

/// The indexes of `data.groups` whose members include `user_id`.
fn direct(data: &AuthzData, user_id: &str) -> Vec<usize> {
    data.groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.members.iter().any(|m| m == user_id))
        .map(|(i, _)| i)
        .collect()
}

/// `start` and every group they are nested in, transitively.
fn with_ancestors(data: &AuthzData, start: Vec<usize>) -> HashSet<usize> {
    let index: HashMap<&str, usize> = data
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.id.as_str(), i))
        .collect();
    // Child -> the groups that nest it.
    let mut parents: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, g) in data.groups.iter().enumerate() {
        for child in &g.nested {
            if let Some(&c) = index.get(child.as_str()) {
                parents.entry(c).or_default().push(i);
            }
        }
    }
    let mut seen: HashSet<usize> = HashSet::new();
    let mut todo = start;
    while let Some(g) = todo.pop() {
        if seen.insert(g)
            && let Some(ps) = parents.get(&g)
        {
            todo.extend(ps.iter().copied().filter(|p| !seen.contains(p)));
        }
    }
    seen
}

fn names_in_order<'a>(groups: &'a [Group], set: &HashSet<usize>) -> Vec<&'a Group> {
    groups
        .iter()
        .enumerate()
        .filter(|(i, _)| set.contains(i))
        .map(|(_, g)| g)
        .collect()
}

/// The user's groups without mappings (the extension's `/users/{id}/groups/calculate`):
/// direct memberships and what they are nested in.
pub fn calculate_groups<'a>(data: &'a AuthzData, user_id: &str) -> Vec<&'a Group> {
    let set = with_ancestors(data, direct(data, user_id));
    names_in_order(&data.groups, &set)
}

/// The ids of the roles of `groups` and of the roles listing `user_id`.
fn role_ids<'a>(data: &'a AuthzData, groups: &[&'a Group], user_id: &str) -> HashSet<&'a str> {
    let mut ids: HashSet<&str> = groups
        .iter()
        .flat_map(|g| g.roles.iter().map(String::as_str))
        .collect();
    ids.extend(
        data.roles
            .iter()
            .filter(|r| r.users.iter().any(|u| u == user_id))
            .map(|r| r.id.as_str()),
    );
    ids
}

/// The user's roles in every application (the extension's `/users/{id}/roles/calculate`).
pub fn calculate_roles<'a>(data: &'a AuthzData, user_id: &str) -> Vec<&'a super::Role> {
    let groups = calculate_groups(data, user_id);
    let ids = role_ids(data, &groups, user_id);
    data.roles
        .iter()
        .filter(|r| ids.contains(r.id.as_str()))
        .collect()
}

/// The roles a group's members get (the extension's `/groups/{id}/roles/nested`): those of
/// the group and of every group it is nested in, each with the first of those groups (in data
/// order) that gives it; empty for an unknown group.
pub fn nested_roles<'a>(data: &'a AuthzData, group_id: &str) -> Vec<(&'a super::Role, &'a Group)> {
    let Some(start) = data.groups.iter().position(|g| g.id == group_id) else {
        return Vec::new();
    };
    let set = with_ancestors(data, vec![start]);
    let groups = names_in_order(&data.groups, &set);
    let mut giver: HashMap<&str, &Group> = HashMap::new();
    for g in &groups {
        for r in &g.roles {
            giver.entry(r.as_str()).or_insert(g);
        }
    }
    data.roles
        .iter()
        .filter_map(|r| giver.get(r.id.as_str()).map(|g| (r, *g)))
        .collect()
}

/// The policy of `user_id` logging in to `client_id` through `connection`, the upstream
/// provider having sent `upstream_groups`.
pub fn policy(
    data: &AuthzData,
    user_id: &str,
    connection: &str,
    upstream_groups: &[String],
    client_id: &str,
) -> Policy {
    let mut start = direct(data, user_id);
    let mapped_names: HashSet<&str> = upstream_groups
        .iter()
        .map(String::as_str)
        .chain(start.iter().map(|&i| data.groups[i].name.as_str()))
        .collect();
    for (i, g) in data.groups.iter().enumerate() {
        let mapped = g.mappings.iter().any(|m| {
            m.connection_name == connection && mapped_names.contains(m.group_name.as_str())
        });
        if mapped && !start.contains(&i) {
            start.push(i);
        }
    }
    let set = with_ancestors(data, start);
    let groups = names_in_order(&data.groups, &set);
    let ids = role_ids(data, &groups, user_id);
    let roles: Vec<&super::Role> = data
        .roles
        .iter()
        .filter(|r| r.application_id == client_id && ids.contains(r.id.as_str()))
        .collect();
    let permission_ids: HashSet<&str> = roles
        .iter()
        .flat_map(|r| r.permissions.iter().map(String::as_str))
        .collect();
    let mut seen_roles = HashSet::new();
    let mut seen_groups = HashSet::new();
    let mut seen_permissions = HashSet::new();
    Policy {
        groups: groups
            .iter()
            .filter(|g| seen_groups.insert(g.name.as_str()))
            .map(|g| g.name.clone())
            .collect(),
        roles: roles
            .iter()
            .filter(|r| seen_roles.insert(r.name.as_str()))
            .map(|r| r.name.clone())
            .collect(),
        permissions: data
            .permissions
            .iter()
            .filter(|p| permission_ids.contains(p.id.as_str()))
            .filter(|p| seen_permissions.insert(p.name.as_str()))
            .map(|p| p.name.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Mapping, Permission, Role};
    use super::*;

    fn group(id: &str, members: &[&str], nested: &[&str], roles: &[&str]) -> Group {
        Group {
            id: id.into(),
            name: format!("{id}-name"),
            members: members.iter().map(|s| (*s).to_owned()).collect(),
            nested: nested.iter().map(|s| (*s).to_owned()).collect(),
            roles: roles.iter().map(|s| (*s).to_owned()).collect(),
            ..Group::default()
        }
    }

    fn role(id: &str, app: &str, permissions: &[&str]) -> Role {
        Role {
            id: id.into(),
            name: format!("{id}-name"),
            application_type: "client".into(),
            application_id: app.into(),
            permissions: permissions.iter().map(|s| (*s).to_owned()).collect(),
            ..Role::default()
        }
    }

    fn permission(id: &str, app: &str) -> Permission {
        Permission {
            id: id.into(),
            name: format!("{id}-name"),
            application_type: "client".into(),
            application_id: app.into(),
            ..Permission::default()
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| format!("{s}-name")).collect()
    }

    #[test]
    fn nesting_goes_upward_and_roles_follow_the_application() {
        // staff nests engineers: engineers' members are staff too, not the other way round.
        let data = AuthzData {
            groups: vec![
                group(
                    "staff",
                    &["boss"],
                    &["engineers"],
                    &["r-staff", "r-other-app"],
                ),
                group("engineers", &["ada"], &[], &["r-eng"]),
            ],
            roles: vec![
                role("r-staff", "app", &["p-read"]),
                role("r-eng", "app", &["p-write", "p-read"]),
                role("r-other-app", "other", &["p-other"]),
            ],
            permissions: vec![
                permission("p-read", "app"),
                permission("p-write", "app"),
                permission("p-other", "other"),
            ],
            ..AuthzData::default()
        };
        let p = policy(&data, "ada", "db", &[], "app");
        assert_eq!(p.groups, names(&["staff", "engineers"]));
        assert_eq!(p.roles, names(&["r-staff", "r-eng"]));
        assert_eq!(p.permissions, names(&["p-read", "p-write"]));
        let boss = policy(&data, "boss", "db", &[], "app");
        assert_eq!(boss.groups, names(&["staff"]));
        assert_eq!(boss.permissions, names(&["p-read"]));
        assert_eq!(policy(&data, "nobody", "db", &[], "app"), Policy::default());
        // Unfiltered by application for the calculate routes.
        assert_eq!(calculate_roles(&data, "boss").len(), 2);
    }

    #[test]
    fn a_groups_nested_roles_come_from_it_and_what_nests_it() {
        let data = AuthzData {
            groups: vec![
                group("staff", &[], &["engineers"], &["r-staff", "r-eng"]),
                group("engineers", &[], &["interns"], &["r-eng"]),
                group("interns", &[], &["staff"], &[]),
                group("other", &[], &[], &["r-other"]),
            ],
            roles: vec![
                role("r-eng", "app", &[]),
                role("r-staff", "app", &[]),
                role("r-other", "app", &[]),
            ],
            ..AuthzData::default()
        };
        let got: Vec<(&str, &str)> = nested_roles(&data, "engineers")
            .iter()
            .map(|(r, g)| (r.id.as_str(), g.id.as_str()))
            .collect();
        // A cycle (interns nests staff) ends where a group repeats.
        assert_eq!(got, vec![("r-eng", "staff"), ("r-staff", "staff")]);
        assert!(nested_roles(&data, "none").is_empty());
        assert_eq!(nested_roles(&data, "other").len(), 1);
    }

    #[test]
    fn mappings_match_the_connection_and_the_upstream_or_direct_group_names() {
        let mut corp = group("corp", &[], &[], &["r"]);
        corp.mappings = vec![Mapping {
            id: "m1".into(),
            group_name: "Domain Admins".into(),
            connection_name: "corp-saml".into(),
        }];
        let mut via_group = group("via-group", &[], &[], &[]);
        via_group.mappings = vec![Mapping {
            id: "m2".into(),
            group_name: "local-name".into(),
            connection_name: "db".into(),
        }];
        let data = AuthzData {
            groups: vec![corp, via_group, group("local", &["u2"], &[], &[])],
            roles: vec![role("r", "app", &[])],
            ..AuthzData::default()
        };
        let admins = ["Domain Admins".to_owned()];
        assert_eq!(
            policy(&data, "u", "corp-saml", &admins, "app").groups,
            names(&["corp"])
        );
        // Another connection, or another case, maps nothing.
        assert!(
            policy(&data, "u", "other", &admins, "app")
                .groups
                .is_empty()
        );
        assert!(
            policy(
                &data,
                "u",
                "corp-saml",
                &["domain admins".to_owned()],
                "app"
            )
            .groups
            .is_empty()
        );
        // A direct group's name maps too.
        assert_eq!(
            policy(&data, "u2", "db", &[], "app").groups,
            names(&["via-group", "local"])
        );
        // Calculated groups leave mappings out.
        assert_eq!(calculate_groups(&data, "u2").len(), 1);
    }

    #[test]
    fn cycles_end_and_deep_nesting_is_followed() {
        let data = AuthzData {
            groups: vec![
                group("a", &["u"], &["b"], &[]),
                group("b", &[], &["a"], &[]),
                group("c", &[], &["c", "a"], &[]),
            ],
            ..AuthzData::default()
        };
        assert_eq!(
            policy(&data, "u", "db", &[], "app").groups,
            names(&["a", "b", "c"])
        );
        // A chain of 10,000 groups, each nesting the next: the member of the last is in all.
        let n = 10_000;
        let groups = (0..n)
            .map(|i| {
                let nested = if i + 1 < n {
                    vec![format!("g{}", i + 1)]
                } else {
                    vec![]
                };
                let members = if i + 1 == n {
                    vec!["deep".to_owned()]
                } else {
                    vec![]
                };
                Group {
                    id: format!("g{i}"),
                    name: format!("g{i}"),
                    members,
                    nested,
                    ..Group::default()
                }
            })
            .collect();
        let data = AuthzData {
            groups,
            ..AuthzData::default()
        };
        assert_eq!(policy(&data, "deep", "db", &[], "app").groups.len(), n);
    }

    #[test]
    fn large_memberships_and_direct_roles() {
        let members: Vec<String> = (0..50_000).map(|i| format!("user{i}")).collect();
        let mut everyone = group("everyone", &[], &[], &["r1"]);
        everyone.members = members;
        let mut direct_role = role("r2", "app", &["p2"]);
        direct_role.users = vec!["user49999".into()];
        let data = AuthzData {
            groups: vec![everyone],
            roles: vec![role("r1", "app", &["p1"]), direct_role],
            permissions: vec![permission("p1", "app"), permission("p2", "app")],
            ..AuthzData::default()
        };
        let p = policy(&data, "user49999", "db", &[], "app");
        assert_eq!(p.roles, names(&["r1", "r2"]));
        assert_eq!(p.permissions, names(&["p1", "p2"]));
    }

    #[test]
    fn the_extensions_export_reads_and_writes_back_unchanged() {
        let export = serde_json::json!({
            "configuration": [{"_id": "v1", "groupsInToken": true, "rolesInToken": false,
                               "permissionsInToken": true, "persistGroups": false,
                               "persistRoles": false, "persistPermissions": true,
                               "groupsPassthrough": false, "rolesPassthrough": false,
                               "permissionsPassthrough": false}],
            "groups": [{"_id": "0d5b4a0e-1b7c-4c1e-9a0e-3c1f9d2b8a11", "name": "Staff",
                        "description": "Everyone", "members": ["auth0|1"], "nested": [],
                        "roles": [], "mappings": [{"_id": "5e1f", "groupName": "All",
                                                    "connectionName": "corp"}]}],
            "roles": [{"_id": "r1", "name": "Reader", "description": "Reads",
                       "applicationType": "client", "applicationId": "abc",
                       "permissions": ["p1"]}],
            "permissions": [{"_id": "p1", "name": "read:docs", "description": "Read",
                             "applicationType": "client", "applicationId": "abc"}],
            "applications": []
        });
        let data: AuthzData = serde_json::from_value(export.clone()).expect("reads");
        assert!(data.configuration().groups_in_token && data.applies_to_logins());
        assert_eq!(serde_json::to_value(&data).expect("writes"), export);
        assert!(!AuthzData::default().applies_to_logins());
    }
}
