//! A short-lived in-memory copy of what the token path reads on every request: clients,
//! APIs, client grants and tenant settings. A client-credentials token then costs one RSA
//! signature and no database round trip.
//!
//! Freshness: any successful Management API write on this replica clears the copy at once
//! and tells the other replicas to clear theirs (`replicas`, PostgreSQL `NOTIFY`: well within
//! a second); `TTL` bounds staleness when an announcement is lost.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use gatehouse_core::client::Client;
use gatehouse_core::client_grant::ClientGrant;
use gatehouse_core::id::{Audience, ClientId};
use gatehouse_core::resource_server::ResourceServer;
use gatehouse_core::store::{StoreResult, Stores};
use gatehouse_core::tenant::TenantSettings;

/// How long a cached entry is trusted.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries per map before it is emptied (bounds memory against lookups of random ids).
const MAX_ENTRIES: usize = 10_000;

struct Map<K, V> {
    inner: RwLock<HashMap<K, (Instant, V)>>,
    /// Lookups answered here, and those that went to the store (for `/metrics`).
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K: Eq + Hash + Clone, V: Clone> Map<K, V> {
    fn new() -> Self {
        Map {
            inner: RwLock::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        let map = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let found = map
            .get(key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, v)| v.clone());
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn lookups(&self) -> Lookups {
        Lookups {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    fn put(&self, key: K, value: V) {
        let mut map = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (Instant::now(), value));
    }

    fn clear(&self) {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

/// How often a cache answered a lookup itself, and how often it asked the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lookups {
    /// Answered from the cache.
    pub hits: u64,
    /// Read from the store.
    pub misses: u64,
}

/// The cached reads, absent results included (so unknown ids cost no query either).
pub struct Catalog {
    stores: Stores,
    clients: Map<ClientId, Option<Arc<Client>>>,
    apis: Map<Audience, Option<Arc<ResourceServer>>>,
    grants: Map<(ClientId, Audience), Option<Arc<ClientGrant>>>,
    tenant: Map<(), Arc<TenantSettings>>,
    origins: Map<Origins, Arc<std::collections::HashSet<String>>>,
    authz: Map<(), Arc<gatehouse_core::authz::AuthzData>>,
    actions: Map<(), Arc<gatehouse_core::actions::ActionsData>>,
}

/// Which origins a set holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Origins {
    /// Every origin some client registered for browser calls.
    Registered,
    /// The web origins of clients that allow cross-origin authentication.
    CrossOriginAuthentication,
}

impl Catalog {
    /// An empty catalog over `stores`.
    pub fn new(stores: Stores) -> Self {
        Catalog {
            stores,
            clients: Map::new(),
            apis: Map::new(),
            grants: Map::new(),
            tenant: Map::new(),
            origins: Map::new(),
            authz: Map::new(),
            actions: Map::new(),
        }
    }

    /// Each cache's lookups so far, by name.
    pub fn lookups(&self) -> [(&'static str, Lookups); 7] {
        [
            ("clients", self.clients.lookups()),
            ("apis", self.apis.lookups()),
            ("grants", self.grants.lookups()),
            ("tenant", self.tenant.lookups()),
            ("origins", self.origins.lookups()),
            ("authz", self.authz.lookups()),
            ("actions", self.actions.lookups()),
        ]
    }

    /// Forgets everything (after a write).
    pub fn clear(&self) {
        self.clients.clear();
        self.apis.clear();
        self.grants.clear();
        self.tenant.clear();
        self.origins.clear();
        self.authz.clear();
        self.actions.clear();
    }

    /// The Authorization Extension's document (every login reads its switches).
    pub async fn authz(&self) -> StoreResult<Arc<gatehouse_core::authz::AuthzData>> {
        self.document(&self.authz, crate::authz_api::DOCUMENT).await
    }

    /// The Actions document (every login reads its flows).
    pub async fn actions(&self) -> StoreResult<Arc<gatehouse_core::actions::ActionsData>> {
        self.document(&self.actions, crate::actions::DOCUMENT).await
    }

    /// The store's document `name`, through `cache`.
    async fn document<T>(&self, cache: &Map<(), Arc<T>>, name: &str) -> StoreResult<Arc<T>>
    where
        T: serde::de::DeserializeOwned + Default,
    {
        if let Some(hit) = cache.get(&()) {
            return Ok(hit);
        }
        let (data, _): (T, i64) = crate::documents::load(&self.stores, name).await?;
        let data = Arc::new(data);
        cache.put((), data.clone());
        Ok(data)
    }

    /// Every origin some client registered for browser calls: `allowed_origins`,
    /// `web_origins` and the origins of `callbacks`.
    pub async fn cors_origins(&self) -> StoreResult<Arc<std::collections::HashSet<String>>> {
        self.origin_set(Origins::Registered).await
    }

    /// The web origins (`web_origins`, `allowed_origins`) of clients with
    /// `cross_origin_authentication` on: who may preflight `/co/authenticate`.
    pub async fn cross_origin_origins(
        &self,
    ) -> StoreResult<Arc<std::collections::HashSet<String>>> {
        self.origin_set(Origins::CrossOriginAuthentication).await
    }

    async fn origin_set(
        &self,
        kind: Origins,
    ) -> StoreResult<Arc<std::collections::HashSet<String>>> {
        if let Some(hit) = self.origins.get(&kind) {
            return Ok(hit);
        }
        let clients = self
            .stores
            .clients
            .list_clients(gatehouse_core::store::Page {
                offset: 0,
                limit: u32::MAX,
            })
            .await?;
        let mut set = std::collections::HashSet::new();
        for c in &clients {
            let s = &c.settings;
            match kind {
                Origins::Registered => set.extend(
                    s.callbacks
                        .iter()
                        .filter_map(|u| gatehouse_core::authorize_request::origin_of(u))
                        .chain(s.web_origins()),
                ),
                Origins::CrossOriginAuthentication if s.cross_origin_authentication() => {
                    set.extend(s.web_origins());
                }
                Origins::CrossOriginAuthentication => {}
            }
        }
        let set = Arc::new(set);
        self.origins.put(kind, set.clone());
        Ok(set)
    }

    /// A client by id.
    pub async fn client(&self, id: &ClientId) -> StoreResult<Option<Arc<Client>>> {
        if let Some(hit) = self.clients.get(id) {
            return Ok(hit);
        }
        let found = self.stores.clients.client(id).await?.map(Arc::new);
        self.clients.put(id.clone(), found.clone());
        Ok(found)
    }

    /// An API by identifier.
    pub async fn api(&self, identifier: &Audience) -> StoreResult<Option<Arc<ResourceServer>>> {
        if let Some(hit) = self.apis.get(identifier) {
            return Ok(hit);
        }
        let found = self
            .stores
            .resource_servers
            .resource_server_by_identifier(identifier)
            .await?
            .map(Arc::new);
        self.apis.put(identifier.clone(), found.clone());
        Ok(found)
    }

    /// The grant of a client for an audience.
    pub async fn grant(
        &self,
        client_id: &ClientId,
        audience: &Audience,
    ) -> StoreResult<Option<Arc<ClientGrant>>> {
        let key = (client_id.clone(), audience.clone());
        if let Some(hit) = self.grants.get(&key) {
            return Ok(hit);
        }
        let found = self
            .stores
            .client_grants
            .client_grant(client_id, audience)
            .await?
            .map(Arc::new);
        self.grants.put(key, found.clone());
        Ok(found)
    }

    /// Tenant settings (defaults on a database not yet seeded).
    pub async fn tenant(&self) -> StoreResult<Arc<TenantSettings>> {
        if let Some(hit) = self.tenant.get(&()) {
            return Ok(hit);
        }
        let t = Arc::new(self.stores.tenant.tenant().await?.unwrap_or_default());
        self.tenant.put((), t.clone());
        Ok(t)
    }
}
