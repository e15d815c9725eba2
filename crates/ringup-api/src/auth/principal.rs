//! Who is calling: the `Principal` extractor.
//!
//! A cookie session's unsafe request is accepted only with the CSRF token bound to the very
//! session its access cookie names (see `cookies`): equal cookie and header are not enough.
//!
//! `Authorization: Bearer <token>` is either an API key (`rk_…`) or a JWT access token. A JWT
//! is accepted only while its session is live: not logged out, not revoked by a password
//! change, deactivation or refresh-token reuse. Session state is cached in process so the
//! common request costs no database round trip; every change that ends a session or changes a
//! user's role or stores invalidates the cache entry in the same request, so revocation takes
//! effect at once. (Across nodes the invalidation will go through Redis; the seam is
//! [`SessionCache`].)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use moka::future::Cache;

use ringup_core::ids::{ApiKeyId, SessionId, StoreId, UserId};
use ringup_core::tokens::{hash_token, looks_like_api_key};
use ringup_core::users::Role;
use ringup_store::{platform::time, users, users::api_keys, users::sessions};

use super::api_key_rate::Tier;
use super::cookies;
use ringup_app::{Actor, ActorKind, Capability};

use crate::http::error::ApiError;
use crate::state::AppState;

/// An authenticated caller: the [`Actor`] the use cases see (role, stores, who), and how it
/// authenticated. Derefs to its actor, so `principal.sees_store(s)` asks the one set of rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub actor: Actor,
}

impl std::ops::Deref for Principal {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.actor
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    User { user: UserId, session: SessionId },
    ApiKey { key: ApiKeyId, tier: Tier },
}

/// Left in a request by the API-key limiter when the key it presents was refused, so the
/// handler's extractor answers 401 without looking the key up a second time.
#[derive(Clone, Copy, Debug)]
pub(super) struct Refused;

impl Principal {
    /// 403 unless the principal has the capability.
    pub fn require(&self, capability: Capability) -> Result<(), ApiError> {
        if self.can(capability) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// What the cache keeps per live session.
#[derive(Clone, Debug)]
struct SessionEntry {
    user: UserId,
    role: Role,
    store_ids: Vec<StoreId>,
}

/// Live sessions and API keys, cached; entries are dropped the moment they change.
#[derive(Clone)]
pub struct SessionCache {
    sessions: Cache<SessionId, SessionEntry>,
    api_keys: Cache<String, Principal>,
    /// Bumped by every invalidation. A request that read the database before an invalidation
    /// and would cache what it read after it must not: it may be the state just revoked.
    generation: Arc<AtomicU64>,
}

impl SessionCache {
    pub fn new(ttl: Duration) -> SessionCache {
        SessionCache {
            sessions: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            api_keys: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Caches a session read from the database at `seen` generation, unless anything was
    /// invalidated since.
    async fn remember_session(&self, seen: u64, session: SessionId, entry: SessionEntry) {
        if self.generation() == seen {
            self.sessions.insert(session, entry).await;
            if self.generation() != seen {
                self.sessions.invalidate(&session).await;
            }
        }
    }

    async fn remember_api_key(&self, seen: u64, hash: String, principal: Principal) {
        if self.generation() == seen {
            self.api_keys.insert(hash.clone(), principal).await;
            if self.generation() != seen {
                self.api_keys.invalidate(&hash).await;
            }
        }
    }

    pub async fn forget_session(&self, session: SessionId) {
        self.bump();
        self.sessions.invalidate(&session).await;
    }

    /// Drops every cached session of a user (role or stores changed, password changed,
    /// deactivated).
    pub fn forget_user(&self, user: UserId) {
        self.bump();
        let _ = self
            .sessions
            .invalidate_entries_if(move |_, entry| entry.user == user);
    }

    pub fn forget_api_key(&self, key: ApiKeyId) {
        self.bump();
        let _ = self.api_keys.invalidate_entries_if(
            move |_, p| matches!(&p.kind, PrincipalKind::ApiKey { key: k, .. } if *k == key),
        );
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        if parts.extensions.get::<Refused>().is_some() {
            return Err(ApiError::Unauthorized);
        }
        // `csrf`: the token a cookie session's unsafe request sent, still to be checked
        // against the session the access token names.
        let (token, csrf) = match bearer(parts) {
            Some(token) => (token, None),
            None if parts.headers.contains_key(header::AUTHORIZATION) => {
                return Err(ApiError::Unauthorized);
            }
            None => match cookies::access_from_cookies(&parts.method, &parts.headers) {
                // Cookies carry sessions, never API keys: a key sent as a cookie would
                // otherwise be served outside its tier's rate limit, which reads bearers.
                Ok(Some(cookie)) if looks_like_api_key(&cookie.access) => {
                    return Err(ApiError::Unauthorized);
                }
                Ok(Some(cookie)) => (cookie.access, cookie.csrf),
                Ok(None) => return Err(ApiError::Unauthorized),
                Err(cookies::CsrfMismatch) => return Err(ApiError::CsrfFailed),
            },
        };
        let principal = if looks_like_api_key(&token) {
            api_key_principal(state, &token).await?
        } else {
            user_principal(state, &token).await?
        };
        if let Some(csrf) = csrf {
            let bound = match &principal.kind {
                PrincipalKind::User { session, .. } => state.auth.csrf.verify(*session, &csrf),
                // Refused above; kept so a future change cannot bind a token to a key.
                PrincipalKind::ApiKey { .. } => false,
            };
            if !bound {
                return Err(ApiError::CsrfFailed);
            }
        }
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

pub(super) fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

async fn user_principal(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let auth = &state.auth;
    let now = auth.clock.now();
    let access = auth.keys.verify(token, now).ok_or(ApiError::Unauthorized)?;
    let cached = auth.cache.sessions.get(&access.session).await;
    let entry = match cached {
        Some(entry) if entry.user == access.user => entry,
        Some(_) => return Err(ApiError::Unauthorized),
        None => {
            let seen = auth.cache.generation();
            let live = sessions::session_is_live(&state.db, access.session, now).await?;
            if !live {
                return Err(ApiError::Unauthorized);
            }
            let user = users::get_user(&state.db, access.user)
                .await?
                .filter(|u| u.active)
                .ok_or(ApiError::Unauthorized)?;
            let role = Role::parse(&user.role).map_err(ApiError::internal)?;
            let entry = SessionEntry {
                user: user.id,
                role,
                store_ids: user.store_ids,
            };
            auth.cache
                .remember_session(seen, access.session, entry.clone())
                .await;
            entry
        }
    };
    Ok(Principal {
        kind: PrincipalKind::User {
            user: entry.user,
            session: access.session,
        },
        actor: Actor {
            kind: ActorKind::User(entry.user),
            role: entry.role,
            store_ids: entry.store_ids,
        },
    })
}

async fn api_key_principal(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let auth = &state.auth;
    let hash = hash_token(token);
    if let Some(principal) = auth.cache.api_keys.get(&hash).await {
        return Ok(principal);
    }
    let seen = auth.cache.generation();
    let row = api_keys::find_live_by_hash(&state.db, &hash)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let principal = Principal {
        kind: PrincipalKind::ApiKey {
            key: row.id,
            tier: Tier::parse(&row.tier).map_err(ApiError::internal)?,
        },
        actor: Actor {
            kind: ActorKind::ApiKey(row.id),
            role: Role::parse(&row.role).map_err(ApiError::internal)?,
            store_ids: row.store_ids.clone(),
        },
    };
    auth.cache
        .remember_api_key(seen, hash, principal.clone())
        .await;
    let now = auth.clock.now();
    let stale = now - chrono::Duration::minutes(1);
    if row.last_used_at.as_deref() < Some(time::to_db(stale).as_str()) {
        api_keys::touch_last_used(&state.db, row.id, now, stale).await?;
    }
    Ok(principal)
}
