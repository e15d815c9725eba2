//! Issuing and revoking API keys. A key is random (256 bits) and shown once, in the answer
//! that issues it; only its SHA-256 and first characters are kept. Revoking takes effect on
//! the key's next request; a caller that caches keys forgets this one after revoking it.

use ringup_core::ids::{ApiKeyId, StoreId};
use ringup_core::tokens::{hash_token, new_api_key};
use ringup_core::users::Role;
use ringup_store::Db;
use ringup_store::catalog::stores;
use ringup_store::users::api_keys::{self, ApiKeyRow, NewApiKeyRow};

use super::UsersError;
use crate::problem::FieldError;
use crate::write::{
    Effects, Shown, View, WriteError, WriteRequest, Written, begin_or_replay, retrying,
};

/// A key to issue, every field checked.
pub struct NewApiKey {
    pub name: String,
    /// The rate-limit tier's name (`free`, `basic`, `pro`, `enterprise`), checked by the
    /// caller, which owns the tiers.
    pub tier: &'static str,
    pub role: Role,
    /// The stores, each once.
    pub store_ids: Vec<StoreId>,
    /// The store ids as the client wrote them, for the audit log.
    pub store_ids_sent: Vec<String>,
}

/// An issued key: its row, and the key itself, which exists nowhere else (no `Debug`, so it
/// cannot reach a log by accident).
pub struct IssuedApiKey {
    pub row: ApiKeyRow,
    pub key: String,
}

/// Issues a key. The reply holds the key, so it is never kept for a replay: this operation
/// takes no idempotency key (`request.idempotency` must be `None`).
pub async fn create_api_key(
    db: &Db,
    request: WriteRequest<'_>,
    new: NewApiKey,
    view: View<IssuedApiKey>,
) -> Result<Written<IssuedApiKey>, UsersError> {
    retrying("api_key.create", request.is_keyed(), || {
        create_api_key_once(db, request, &new, view)
    })
    .await
}

async fn create_api_key_once(
    db: &Db,
    request: WriteRequest<'_>,
    new: &NewApiKey,
    view: View<IssuedApiKey>,
) -> Result<Written<IssuedApiKey>, UsersError> {
    let mut write = begin_or_replay!(db, request);
    // Checked inside the write transaction, so a store cannot vanish before the key names it.
    if !stores::missing_stores(write.tx(), &new.store_ids)
        .await?
        .is_empty()
    {
        return Err(UsersError::Invalid(vec![FieldError::new(
            "store_ids",
            "names a store that does not exist",
        )]));
    }
    let key = new_api_key();
    let id = ApiKeyId::new();
    let at = write.at();
    api_keys::insert_api_key(
        write.tx(),
        &NewApiKeyRow {
            id,
            name: &new.name,
            key_hash: &hash_token(&key),
            key_prefix: key.get(..10).unwrap_or_default(),
            tier: new.tier,
            role: new.role.as_str(),
            store_ids: &new.store_ids,
            created_by: request.actor.user_id(),
            at,
        },
    )
    .await?;
    let audit = write
        .audit_event("api_key.created", None)
        .on("api_key", id)
        .with(serde_json::json!({
            "name": new.name, "tier": new.tier, "role": new.role.as_str(),
            "store_ids": new.store_ids_sent,
        }));
    let row = api_keys::find_api_key(write.tx(), id)
        .await?
        .ok_or(UsersError::NotFound)?;
    let issued = IssuedApiKey { row, key };
    let shown = view(&issued).map_err(WriteError::View)?;
    Ok(write
        .finish(issued, Effects::new().audit(audit), 201, shown)
        .await?)
}

/// Revokes a live key; [`UsersError::NotFound`] when it does not exist or is already revoked.
pub async fn revoke_api_key(
    db: &Db,
    request: WriteRequest<'_>,
    id: ApiKeyId,
) -> Result<Written<ApiKeyId>, UsersError> {
    retrying("api_key.revoke", request.is_keyed(), || {
        revoke_api_key_once(db, request, id)
    })
    .await
}

async fn revoke_api_key_once(
    db: &Db,
    request: WriteRequest<'_>,
    id: ApiKeyId,
) -> Result<Written<ApiKeyId>, UsersError> {
    let mut write = begin_or_replay!(db, request);
    let at = write.at();
    if !api_keys::revoke_api_key(write.tx(), id, at).await? {
        return Err(UsersError::NotFound);
    }
    let audit = write.audit_event("api_key.revoked", None).on("api_key", id);
    Ok(write
        .finish(id, Effects::new().audit(audit), 204, Shown::nothing())
        .await?)
}
