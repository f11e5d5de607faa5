//! Storage traits, one small trait per aggregate, implemented by `gatehouse-store`.
//!
//! Callers hold them as `Arc<dyn Trait>`; nothing here knows which database is behind them.

use async_trait::async_trait;

use crate::client::Client;
use crate::client_grant::ClientGrant;
use crate::connection::Connection;
use crate::id::{Audience, ClientId, ConnectionName, UserId};
use crate::log::{LogEvent, LogFilter};
use crate::refresh_token::RefreshToken;
use crate::resource_server::ResourceServer;
use crate::role::{Permission, Role, UserPermission};
use crate::seed::{SeedOutcome, SeedPlan};
use crate::session::{AuthorizationCode, Session};
use crate::signing_key::SigningKey;
use crate::tenant::TenantSettings;
use crate::user::User;
use crate::user_search::{UserQuery, UserSort};

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint would be broken (the thing already exists).
    #[error("already exists: {0}")]
    Conflict(String),
    /// A row the call relies on is missing.
    #[error("not found: {0}")]
    NotFound(String),
    /// A stored value could not be read back into the domain.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The database failed or is unreachable.
    #[error("database error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A window of a list: skip `offset` rows, return at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: i64,
    /// Most rows to return.
    pub limit: u32,
}

impl Page {
    /// Page `page` (0-based, as in Auth0's Management API) of `per_page` rows.
    pub fn number(page: u32, per_page: u32) -> Self {
        Page {
            offset: i64::from(page) * i64::from(per_page),
            limit: per_page,
        }
    }
}

/// Schema, seed and health.
#[async_trait]
pub trait SetupStore: Send + Sync {
    /// Applies the embedded migrations; safe to run from several replicas at once.
    async fn migrate(&self) -> StoreResult<()>;
    /// Applies `plan` in one transaction under a database-wide lock.
    async fn apply_seed(&self, plan: &SeedPlan) -> StoreResult<SeedOutcome>;
    /// Checks the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Deletes what expired before `before` and can never be used again: sessions (expired
    /// or ended), authorization codes, emailed tickets, passwordless codes and Actions'
    /// execution records. Returns how
    /// many rows went. Refresh tokens stay: their family's history serves reuse detection.
    async fn sweep_expired(&self, before: time::OffsetDateTime) -> StoreResult<u64>;
}

/// Tenant settings.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// The settings, or `None` on a database that was never seeded.
    async fn tenant(&self) -> StoreResult<Option<TenantSettings>>;
    /// Reads the settings, lets `change` edit them and writes them back, as one transaction
    /// that holds the row (PostgreSQL: `FOR UPDATE`; SQLite: its one writer), so edits made
    /// at once on any replicas never undo one another. `change` returning `false` writes
    /// nothing (`None`); otherwise the settings written. `NotFound` on a database that was
    /// never seeded.
    async fn modify_tenant(
        &self,
        change: &mut (dyn for<'t> FnMut(&'t mut TenantSettings) -> bool + Send),
    ) -> StoreResult<Option<TenantSettings>>;
}

/// Named JSON documents (the Authorization Extension's data, Actions), each written by
/// compare-and-set on its version so that writers on any replica never undo one another.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// The document `name` and its version, or `None` before its first write.
    async fn document(&self, name: &str) -> StoreResult<Option<(serde_json::Value, i64)>>;
    /// Writes `data` as `name` if its stored version is still `version` (0: not written yet);
    /// it becomes `version + 1`. `false` when another writer came first.
    async fn save_document(
        &self,
        name: &str,
        data: &serde_json::Value,
        version: i64,
    ) -> StoreResult<bool>;
}

/// Applications.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Inserts a new client; `Conflict` if the id is taken.
    async fn insert_client(&self, client: &Client) -> StoreResult<()>;
    /// Inserts a new client enabled on every existing connection, in one transaction (Auth0's
    /// default for new applications, tenant flag `enable_client_connections`); `Conflict` if
    /// the id is taken.
    async fn insert_client_on_all_connections(&self, client: &Client) -> StoreResult<()>;
    /// One client by id.
    async fn client(&self, client_id: &ClientId) -> StoreResult<Option<Client>>;
    /// A page of clients, oldest first.
    async fn list_clients(&self, page: Page) -> StoreResult<Vec<Client>>;
    /// How many clients there are.
    async fn count_clients(&self) -> StoreResult<i64>;
    /// Replaces a client's fields (all but `client_id` and `created_at`); `NotFound` if absent.
    async fn update_client(&self, client: &Client) -> StoreResult<()>;
    /// Deletes a client with its grants and its place on connections; `NotFound` if absent.
    async fn delete_client(&self, client_id: &ClientId) -> StoreResult<()>;
}

/// APIs.
#[async_trait]
pub trait ResourceServerStore: Send + Sync {
    /// Inserts a new API; `Conflict` if the id or identifier is taken.
    async fn insert_resource_server(&self, rs: &ResourceServer) -> StoreResult<()>;
    /// One API by its identifier (audience).
    async fn resource_server_by_identifier(
        &self,
        identifier: &Audience,
    ) -> StoreResult<Option<ResourceServer>>;
    /// One API by its id or its identifier (Auth0 accepts either in the path).
    async fn resource_server(&self, id_or_identifier: &str) -> StoreResult<Option<ResourceServer>>;
    /// A page of APIs, oldest first.
    async fn list_resource_servers(&self, page: Page) -> StoreResult<Vec<ResourceServer>>;
    /// How many APIs there are.
    async fn count_resource_servers(&self) -> StoreResult<i64>;
    /// Replaces an API's mutable fields (not `id`, `identifier`, `is_system`); `NotFound` if absent.
    async fn update_resource_server(&self, rs: &ResourceServer) -> StoreResult<()>;
    /// Deletes an API with its client grants; `NotFound` if absent.
    async fn delete_resource_server(&self, id: &str) -> StoreResult<()>;
}

/// Client grants.
#[async_trait]
pub trait ClientGrantStore: Send + Sync {
    /// Inserts a grant; `Conflict` if the client already has one for the audience,
    /// `NotFound` if the client or the API does not exist.
    async fn insert_client_grant(&self, grant: &ClientGrant) -> StoreResult<()>;
    /// The grant of `client_id` for `audience`.
    async fn client_grant(
        &self,
        client_id: &ClientId,
        audience: &Audience,
    ) -> StoreResult<Option<ClientGrant>>;
    /// One grant by id.
    async fn client_grant_by_id(&self, id: &str) -> StoreResult<Option<ClientGrant>>;
    /// A page of grants matching `filter`, oldest first.
    async fn list_client_grants(
        &self,
        filter: &ClientGrantFilter,
        page: Page,
    ) -> StoreResult<Vec<ClientGrant>>;
    /// How many grants match `filter`.
    async fn count_client_grants(&self, filter: &ClientGrantFilter) -> StoreResult<i64>;
    /// Replaces a grant's scopes and kept properties (`id`, client and audience never
    /// change); `NotFound` if absent.
    async fn update_client_grant(&self, grant: &ClientGrant) -> StoreResult<()>;
    /// Deletes a grant; `NotFound` if absent.
    async fn delete_client_grant(&self, id: &str) -> StoreResult<()>;
}

/// Which client grants to list; `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct ClientGrantFilter {
    /// Only this client's grants.
    pub client_id: Option<String>,
    /// Only grants for this audience.
    pub audience: Option<String>,
}

/// Connections.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Inserts a connection; `Conflict` if the name is taken.
    async fn insert_connection(&self, connection: &Connection) -> StoreResult<()>;
    /// One connection by name.
    async fn connection_by_name(&self, name: &ConnectionName) -> StoreResult<Option<Connection>>;
    /// One connection by id.
    async fn connection(&self, id: &str) -> StoreResult<Option<Connection>>;
    /// A page of connections matching `filter`, oldest first.
    async fn list_connections(
        &self,
        filter: &ConnectionFilter,
        page: Page,
    ) -> StoreResult<Vec<Connection>>;
    /// How many connections match `filter`.
    async fn count_connections(&self, filter: &ConnectionFilter) -> StoreResult<i64>;
    /// Replaces options, extra settings and the enabled clients; `NotFound` if absent.
    async fn update_connection(&self, connection: &Connection) -> StoreResult<()>;
    /// Enables (`true`) or disables (`false`) clients on a connection, in one transaction;
    /// `NotFound` if the connection or a client to enable is missing.
    async fn set_connection_clients(&self, id: &str, changes: &[(String, bool)])
    -> StoreResult<()>;
    /// Deletes a connection and the users whose primary identity lives in it.
    async fn delete_connection(&self, id: &str) -> StoreResult<()>;
}

/// Which connections to list; empty matches all.
#[derive(Debug, Clone, Default)]
pub struct ConnectionFilter {
    /// Only these strategies.
    pub strategies: Vec<String>,
    /// Only the connection with this name.
    pub name: Option<String>,
}

/// A remembered consent: what a user allowed an application for an API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The user.
    pub user_id: UserId,
    /// The application.
    pub client_id: ClientId,
    /// The API ("" for none).
    pub audience: Audience,
    /// The scopes allowed.
    pub scope: Vec<String>,
}

/// Which consents (every given field must match).
#[derive(Debug, Clone, Default)]
pub struct ConsentFilter {
    /// Of this user.
    pub user_id: Option<UserId>,
    /// To this application.
    pub client_id: Option<ClientId>,
    /// For this API.
    pub audience: Option<Audience>,
}

/// Users and identities.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user and its identities in one transaction; `Conflict` if the user id, any
    /// (`connection`, identity `user_id`) pair, or the email, username or phone number within
    /// the connection is taken.
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    /// One user with its identities, primary first.
    async fn user(&self, user_id: &UserId) -> StoreResult<Option<User>>;
    /// The user owning the identity (`connection`, provider-side `user_id`); login starts here.
    async fn user_by_identity(
        &self,
        connection: &ConnectionName,
        identity_user_id: &str,
    ) -> StoreResult<Option<User>>;
    /// Deletes a user and all its identities; `NotFound` if there is none.
    async fn delete_user(&self, user_id: &UserId) -> StoreResult<()>;
    /// Replaces a user's root attributes, metadata and identities' credentials and profile
    /// data (identities are matched by connection and id); `Conflict` when a new email,
    /// username or phone number is taken in the connection; `NotFound` if absent.
    async fn update_user(&self, user: &User) -> StoreResult<()>;
    /// A page of users matching `query` (all when `None`), in `sort` order.
    async fn search_users(
        &self,
        query: Option<&UserQuery>,
        sort: UserSort,
        page: Page,
    ) -> StoreResult<Vec<User>>;
    /// How many users match `query`.
    async fn count_users(&self, query: Option<&UserQuery>) -> StoreResult<i64>;
    /// Up to `limit` users matching `query` whose ids sort after `after`, by id: a walk over
    /// every user that costs the same at the millionth as at the first (exports).
    async fn users_after(
        &self,
        query: Option<&UserQuery>,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<User>>;
    /// Users whose email, or a linked identity's, is `email` (case-insensitive), oldest first.
    async fn users_by_email(&self, email: &str) -> StoreResult<Vec<User>>;
    /// The user who logs in to `connection` with `login` (email, username or phone number,
    /// any case).
    async fn user_by_login(
        &self,
        connection: &ConnectionName,
        login: &str,
    ) -> StoreResult<Option<User>>;
    /// Adds one consecutive failed login for (`user_id`, `ip`) and returns the count.
    async fn record_login_failure(
        &self,
        user_id: &UserId,
        ip: &str,
        at: time::OffsetDateTime,
    ) -> StoreResult<i64>;
    /// Consecutive failed logins for (`user_id`, `ip`).
    async fn login_failures(&self, user_id: &UserId, ip: &str) -> StoreResult<i64>;
    /// The addresses (keys) with at least `at_least` consecutive failed logins for `user_id`,
    /// in order.
    async fn login_failure_ips(&self, user_id: &UserId, at_least: i64) -> StoreResult<Vec<String>>;
    /// How many users logged in at or after `since`.
    async fn count_active_users(&self, since: time::OffsetDateTime) -> StoreResult<i64>;
    /// Forgets failed logins: of one address, or all of the user's when `ip` is `None`.
    async fn clear_login_failures(&self, user_id: &UserId, ip: Option<&str>) -> StoreResult<()>;
    /// The count of (`user_id`, `ip`) and when its last failure was, if it has any.
    async fn login_failure_state(
        &self,
        user_id: &UserId,
        ip: &str,
    ) -> StoreResult<Option<(i64, time::OffsetDateTime)>>;
    /// Moves the last failure of (`user_id`, `ip`) to `at` if it was at or before `cutoff`,
    /// and says whether it did: of concurrent attempts once a wait is over, exactly one wins.
    async fn claim_login_attempt(
        &self,
        user_id: &UserId,
        ip: &str,
        cutoff: time::OffsetDateTime,
        at: time::OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Moves the only identity of `secondary_id` to `primary_id` (last position, with
    /// `profile_data`) and deletes the secondary user with its metadata, in one transaction.
    /// `NotFound` if either user is gone; `Conflict` if the secondary has linked identities
    /// of its own (or is the primary), or if either user is blocked (checked under the same
    /// lock, so a block cannot be laundered by link-then-unlink). Of two links of one
    /// secondary, one wins.
    async fn link_identity(
        &self,
        primary_id: &UserId,
        secondary_id: &UserId,
        profile_data: &serde_json::Value,
    ) -> StoreResult<()>;
    /// Detaches the non-primary identity (`connection`, `identity_user_id`) of `primary_id`
    /// into `standalone`, a new user whose only identity it becomes (its `identities` say
    /// which); `NotFound` if the primary has no such secondary identity.
    async fn unlink_identity(&self, primary_id: &UserId, standalone: &User) -> StoreResult<()>;
    /// Swaps an identity's password hash for a stronger one, only if it is still `old` (so a
    /// password changed meanwhile is kept); whether it was swapped.
    async fn upgrade_password_hash(
        &self,
        connection: &ConnectionName,
        identity_user_id: &str,
        old: &str,
        new: &str,
    ) -> StoreResult<bool>;
    /// Counts a successful login: `logins_count`, `last_login`, `last_ip`.
    async fn record_login(
        &self,
        user_id: &UserId,
        ip: Option<&str>,
        at: time::OffsetDateTime,
    ) -> StoreResult<()>;
}

/// Passwordless one-time codes: one live code per (connection, recipient).
#[async_trait]
pub trait OtpStore: Send + Sync {
    /// Stores a new code, replacing (and so invalidating) any earlier one for the same
    /// connection and recipient.
    async fn put_otp(&self, otp: &crate::passwordless::Otp) -> StoreResult<()>;
    /// Spends one of the `max_attempts` attempts of the live code for (`connection`,
    /// `recipient`) and returns it, or `None` when there is no unexpired, unused code with
    /// attempts left. Atomic, so concurrent guesses cannot exceed the limit.
    async fn claim_otp_attempt(
        &self,
        connection: &ConnectionName,
        recipient: &str,
        max_attempts: i64,
        now: time::OffsetDateTime,
    ) -> StoreResult<Option<crate::passwordless::Otp>>;
    /// Counts a wrong code for the recipient of code `id` (across codes: a new code does not
    /// reset it) and returns the failures since the window started; a window older than
    /// `window_start` starts again at this failure.
    async fn record_otp_failure(
        &self,
        id: &str,
        now: time::OffsetDateTime,
        window_start: time::OffsetDateTime,
    ) -> StoreResult<i64>;
    /// Wrong codes for (`connection`, `recipient`) since `window_start`.
    async fn otp_failures(
        &self,
        connection: &ConnectionName,
        recipient: &str,
        window_start: time::OffsetDateTime,
    ) -> StoreResult<i64>;
    /// Marks a code used; `false` if it already was (of two concurrent uses, one wins).
    async fn consume_otp(&self, id: &str) -> StoreResult<bool>;
}

/// The outbox of mail and SMS (see [`crate::outbox`]).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Queues a message.
    async fn enqueue_message(&self, message: &crate::outbox::OutboxMessage) -> StoreResult<()>;
    /// How many messages wait to be sent (due or retrying), for `/metrics`.
    async fn pending_messages(&self) -> StoreResult<i64>;
    /// Claims the oldest due pending message with fewer than `max_attempts` attempts: one
    /// conditional UPDATE counts the attempt, records `token` and moves `due_at` to
    /// `lease_until`, so of concurrent claimers (on any replica) exactly one gets it, and a
    /// claimer that dies leaves it to be claimed again when the lease ends.
    async fn claim_message(
        &self,
        token: &str,
        max_attempts: i64,
        now: time::OffsetDateTime,
        lease_until: time::OffsetDateTime,
    ) -> StoreResult<Option<crate::outbox::OutboxMessage>>;
    /// Marks message `id` sent; `false` if `token` no longer holds its claim.
    async fn message_sent(
        &self,
        id: &str,
        token: &str,
        now: time::OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Records a failed attempt of message `id`: due again at `retry_at`, or failed for good
    /// when that is `None`; `false` if `token` no longer holds its claim.
    async fn message_failed(
        &self,
        id: &str,
        token: &str,
        error: &str,
        retry_at: Option<time::OffsetDateTime>,
        now: time::OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Messages of `kind` queued for `recipient_hash` since `since`, whatever became of them.
    async fn count_messages(
        &self,
        kind: &str,
        recipient_hash: &[u8],
        since: time::OffsetDateTime,
    ) -> StoreResult<i64>;
}

/// Management API jobs.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Stores a job (insert, or replace the one with its id), saved at `now`.
    async fn save_job(&self, job: &crate::job::Job, now: time::OffsetDateTime) -> StoreResult<()>;
    /// Fails the jobs still `pending` or `processing` that were last saved before
    /// `saved_before` (their process died); returns how many.
    async fn fail_stalled_jobs(&self, saved_before: time::OffsetDateTime) -> StoreResult<u64>;
    /// The job with this id.
    async fn job(&self, id: &str) -> StoreResult<Option<crate::job::Job>>;
}

/// Login sessions and authorization codes.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    /// A live session (not revoked, not expired at `now`, used since `idle_since`).
    async fn live_session(
        &self,
        id_hash: &[u8],
        now: time::OffsetDateTime,
        idle_since: time::OffsetDateTime,
    ) -> StoreResult<Option<Session>>;
    /// Marks a session used now.
    async fn touch_session(&self, id_hash: &[u8], at: time::OffsetDateTime) -> StoreResult<()>;
    /// Ends a session; the session as it was, if it was not ended already.
    async fn revoke_session(
        &self,
        id_hash: &[u8],
        at: time::OffsetDateTime,
    ) -> StoreResult<Option<Session>>;
    /// Ends every session of `user_id` but the one whose id hash is `keep` (the browser that
    /// changed the password); returns those that were not ended already.
    async fn revoke_user_sessions(
        &self,
        user_id: &UserId,
        keep: Option<&[u8]>,
        at: time::OffsetDateTime,
    ) -> StoreResult<Vec<Session>>;
    /// Adds `client_id` to the applications a session answered (once).
    async fn add_session_client(&self, id_hash: &[u8], client_id: &str) -> StoreResult<()>;
    /// A user's sessions that are neither ended nor expired at `now`, newest first.
    async fn user_sessions(
        &self,
        user_id: &UserId,
        now: time::OffsetDateTime,
    ) -> StoreResult<Vec<Session>>;
    /// A session by its public id (`sid`), ended or not.
    async fn session_by_sid(&self, sid: &str) -> StoreResult<Option<Session>>;
    /// Marks the one-time value whose hash is `key_hash` used until `expires_at` (forgetting
    /// marks whose time is over at `now`); `false` if it already was: of concurrent uses,
    /// on any replica, exactly one wins.
    async fn use_once(
        &self,
        key_hash: &[u8],
        expires_at: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Stores a new authorization code.
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    /// Redeems a code: returns it if it was unused and unexpired, marking it used in the same
    /// statement, so of two concurrent redemptions exactly one gets it.
    async fn consume_code(
        &self,
        code_hash: &[u8],
        now: time::OffsetDateTime,
    ) -> StoreResult<Option<AuthorizationCode>>;
    /// A code whatever its state (to recognise a replay).
    async fn code(&self, code_hash: &[u8]) -> StoreResult<Option<AuthorizationCode>>;
    /// The scopes `user_id` allowed `client_id` for `audience` ("" for none), if any.
    async fn consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        audience: &Audience,
    ) -> StoreResult<Option<Vec<String>>>;
    /// Records (replaces) what the user allowed.
    async fn save_consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        audience: &Audience,
        scope: &[String],
        at: time::OffsetDateTime,
    ) -> StoreResult<()>;
    /// A page of remembered consents matching `filter`, in key order.
    async fn list_consents(&self, filter: &ConsentFilter, page: Page) -> StoreResult<Vec<Consent>>;
    /// How many consents match `filter`.
    async fn count_consents(&self, filter: &ConsentFilter) -> StoreResult<i64>;
    /// Forgets the consents matching `filter` (all of it given); how many there were.
    async fn delete_consents(&self, filter: &ConsentFilter) -> StoreResult<u64>;
    /// Stores a one-time ticket of `kind` for a user.
    async fn insert_ticket(
        &self,
        ticket_hash: &[u8],
        kind: &str,
        user_id: &UserId,
        now: time::OffsetDateTime,
        expires_at: time::OffsetDateTime,
    ) -> StoreResult<()>;
    /// The user of an unused, unexpired ticket of `kind`, without using it up.
    async fn ticket_user(
        &self,
        ticket_hash: &[u8],
        kind: &str,
        now: time::OffsetDateTime,
    ) -> StoreResult<Option<String>>;
    /// Uses a ticket up: the user if it was still good; exactly one caller gets it.
    async fn use_ticket(
        &self,
        ticket_hash: &[u8],
        kind: &str,
        now: time::OffsetDateTime,
    ) -> StoreResult<Option<String>>;
}

/// What a rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The old token was retired and its successor stored.
    Rotated,
    /// Another rotation retired it first (or it is no longer live); nothing changed.
    AlreadyRetired,
    /// The family was revoked; nothing changed.
    FamilyRevoked,
}

/// Refresh tokens.
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// Stores a new token, unless its family was revoked: `false` then, and nothing is
    /// stored. The check and the insert are atomic with respect to a revocation of the
    /// family (or of the user's tokens), so a refresh under way while the family is revoked
    /// cannot leave a live successor behind.
    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<bool>;
    /// A token by its hash.
    async fn refresh_token(&self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>>;
    /// Rotates in one transaction: retires the token `old_hash` at `at` and stores
    /// `successor` (of the same family), so a crash leaves the old token live or both
    /// changes made, never a family without a live token. Only one of two concurrent
    /// rotations retires the token; the other gets `AlreadyRetired` and changes nothing,
    /// unless `allow_retired` (the reuse interval), when it stores its successor too.
    async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        successor: &RefreshToken,
        at: time::OffsetDateTime,
        allow_retired: bool,
    ) -> StoreResult<Rotation>;
    /// Pushes a token's idle expiry forward.
    async fn touch_refresh_token(
        &self,
        token_hash: &[u8],
        idle_expires_at: time::OffsetDateTime,
    ) -> StoreResult<()>;
    /// The live token (neither rotated, revoked nor expired at `now`) of each of `user_id`'s
    /// families, oldest family first.
    async fn live_refresh_tokens(
        &self,
        user_id: &UserId,
        now: time::OffsetDateTime,
        page: Page,
    ) -> StoreResult<Vec<RefreshToken>>;
    /// The live token of family `family_id`, if any.
    async fn live_refresh_token(
        &self,
        family_id: &str,
        now: time::OffsetDateTime,
    ) -> StoreResult<Option<RefreshToken>>;
    /// Revokes a family: every token of it, and any successor inserted later; returns how
    /// many tokens were live.
    async fn revoke_refresh_family(
        &self,
        family_id: &str,
        at: time::OffsetDateTime,
    ) -> StoreResult<u64>;
    /// Revokes every family of `user_id` (as [`Self::revoke_refresh_family`] does): the
    /// user was blocked or changed their password. Returns how many tokens were live.
    async fn revoke_user_refresh_tokens(
        &self,
        user_id: &UserId,
        at: time::OffsetDateTime,
    ) -> StoreResult<u64>;
    /// Revokes every family of `user_id` that came from the login session `session_id`;
    /// returns how many tokens were live.
    async fn revoke_session_refresh_tokens(
        &self,
        user_id: &UserId,
        session_id: &str,
        at: time::OffsetDateTime,
    ) -> StoreResult<u64>;
}

/// Signing keys.
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every key, newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// One transaction: previous -> retired, current -> previous, next -> current, and
    /// `new_next` becomes next. `Conflict` if another rotation got there first.
    async fn rotate_signing_keys(&self, new_next: &SigningKey) -> StoreResult<()>;
    /// Retires the key `kid` if it is the previous one (tokens it signed stop verifying);
    /// whether it did.
    async fn revoke_previous_signing_key(&self, kid: &str) -> StoreResult<bool>;
}

/// Roles, their permissions and their members; users' direct permissions.
#[async_trait]
pub trait RoleStore: Send + Sync {
    /// Inserts a role; `Conflict` if the name is taken.
    async fn insert_role(&self, role: &Role) -> StoreResult<()>;
    /// One role.
    async fn role(&self, id: &str) -> StoreResult<Option<Role>>;
    /// Roles whose name contains `name_filter` (case-insensitive), oldest first.
    async fn list_roles(&self, name_filter: Option<&str>, page: Page) -> StoreResult<Vec<Role>>;
    /// How many roles match.
    async fn count_roles(&self, name_filter: Option<&str>) -> StoreResult<i64>;
    /// Replaces name and description; `NotFound` if absent, `Conflict` on a taken name.
    async fn update_role(&self, role: &Role) -> StoreResult<()>;
    /// Deletes a role; `NotFound` if absent.
    async fn delete_role(&self, id: &str) -> StoreResult<()>;
    /// Adds permissions to a role (existing ones are kept).
    async fn add_role_permissions(
        &self,
        role_id: &str,
        permissions: &[Permission],
    ) -> StoreResult<()>;
    /// Removes permissions from a role.
    async fn remove_role_permissions(
        &self,
        role_id: &str,
        permissions: &[Permission],
    ) -> StoreResult<()>;
    /// A role's permissions, ordered by API and name.
    async fn role_permissions(&self, role_id: &str, page: Page) -> StoreResult<Vec<Permission>>;
    /// How many permissions a role has.
    async fn count_role_permissions(&self, role_id: &str) -> StoreResult<i64>;
    /// Gives users a role; `NotFound` if a user or the role is missing (nothing changes then).
    async fn add_role_users(&self, role_id: &str, user_ids: &[String]) -> StoreResult<()>;
    /// Ids of a role's users.
    async fn role_users(&self, role_id: &str, page: Page) -> StoreResult<Vec<String>>;
    /// Gives a user roles; `NotFound` if the user or a role is missing (nothing changes then).
    async fn add_user_roles(&self, user_id: &UserId, role_ids: &[String]) -> StoreResult<()>;
    /// Takes roles from a user.
    async fn remove_user_roles(&self, user_id: &UserId, role_ids: &[String]) -> StoreResult<()>;
    /// A user's roles, by name.
    async fn user_roles(&self, user_id: &UserId, page: Page) -> StoreResult<Vec<Role>>;
    /// How many roles a user has.
    async fn count_user_roles(&self, user_id: &UserId) -> StoreResult<i64>;
    /// Gives a user permissions directly.
    async fn add_user_permissions(
        &self,
        user_id: &UserId,
        permissions: &[Permission],
    ) -> StoreResult<()>;
    /// Takes direct permissions from a user.
    async fn remove_user_permissions(
        &self,
        user_id: &UserId,
        permissions: &[Permission],
    ) -> StoreResult<()>;
    /// Every permission a user has, directly or through roles, with its sources.
    async fn user_permissions(&self, user_id: &UserId) -> StoreResult<Vec<UserPermission>>;
}

/// Tenant logs.
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Appends events in one transaction.
    async fn append_logs(&self, events: &[LogEvent]) -> StoreResult<()>;
    /// One event.
    async fn log(&self, log_id: &str) -> StoreResult<Option<LogEvent>>;
    /// Events matching `filter`, newest first unless `oldest_first` (checkpoint paging
    /// through `filter.after` is always oldest first).
    async fn list_logs(
        &self,
        filter: &LogFilter,
        oldest_first: bool,
        page: Page,
    ) -> StoreResult<Vec<LogEvent>>;
    /// How many events match `filter`.
    async fn count_logs(&self, filter: &LogFilter) -> StoreResult<i64>;
    /// Per UTC day (`YYYY-MM-DD`) in [`from`, `to`), how many events of each of `types`'
    /// kinds there were, and how many users logged in; days without any are left out.
    async fn daily_counts(
        &self,
        types: &DailyTypes<'_>,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
    ) -> StoreResult<Vec<DailyCount>>;
    /// Stores Actions' execution records (`(id, record, expires_at)`; an id already there is
    /// kept), in one transaction. `sweep_expired` deletes them once expired.
    async fn append_executions(
        &self,
        executions: &[(String, serde_json::Value, time::OffsetDateTime)],
    ) -> StoreResult<()>;
    /// The execution record `id`, expired or not.
    async fn execution(&self, id: &str) -> StoreResult<Option<serde_json::Value>>;
    /// Deletes the log events dated before `before` (the retention period); how many went.
    async fn delete_logs_before(&self, before: time::OffsetDateTime) -> StoreResult<u64>;
}

/// One day's counts of logins and sign-ups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyCount {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// Successful logins.
    pub logins: i64,
    /// Successful sign-ups.
    pub signups: i64,
    /// Failed logins and sign-ups.
    pub failures: i64,
    /// Distinct users among the logins.
    pub active_users: i64,
}

/// The log types [`LogStore::daily_counts`] counts.
#[derive(Debug, Clone, Copy)]
pub struct DailyTypes<'a> {
    /// A successful login's.
    pub login: &'a str,
    /// A successful sign-up's.
    pub signup: &'a str,
    /// The failures' (at least one).
    pub failures: &'a [&'a str],
}

/// Every store a running server uses, as trait objects over one database.
#[derive(Clone)]
pub struct Stores {
    /// Schema, seed and health.
    pub setup: std::sync::Arc<dyn SetupStore>,
    /// Tenant settings.
    pub tenant: std::sync::Arc<dyn TenantStore>,
    /// Applications.
    pub clients: std::sync::Arc<dyn ClientStore>,
    /// APIs.
    pub resource_servers: std::sync::Arc<dyn ResourceServerStore>,
    /// Client grants.
    pub client_grants: std::sync::Arc<dyn ClientGrantStore>,
    /// Connections.
    pub connections: std::sync::Arc<dyn ConnectionStore>,
    /// Users and identities.
    pub users: std::sync::Arc<dyn UserStore>,
    /// Signing keys.
    pub signing_keys: std::sync::Arc<dyn SigningKeyStore>,
    /// Roles and permissions.
    pub roles: std::sync::Arc<dyn RoleStore>,
    /// Tenant logs.
    pub logs: std::sync::Arc<dyn LogStore>,
    /// Refresh tokens.
    pub refresh_tokens: std::sync::Arc<dyn RefreshTokenStore>,
    /// Sessions and authorization codes.
    pub sessions: std::sync::Arc<dyn SessionStore>,
    /// Management API jobs.
    pub jobs: std::sync::Arc<dyn JobStore>,
    /// Passwordless one-time codes.
    pub otps: std::sync::Arc<dyn OtpStore>,
    /// Queued mail and SMS.
    pub outbox: std::sync::Arc<dyn OutboxStore>,
    /// Named JSON documents.
    pub documents: std::sync::Arc<dyn DocumentStore>,
}
