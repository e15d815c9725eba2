-- Identity and access: stores (the scope of every role), users, sessions with rotating refresh
-- tokens, API keys, password resets, login failures and lockouts, and the hash-chained audit
-- log. Flags are integers 0/1 on both engines; timestamps are RFC 3339 UTC text.

create table stores (
    id text primary key not null,
    code text not null unique,
    name text not null,
    currency text not null,
    timezone text not null,
    prices_include_tax integer not null default 1 check (prices_include_tax in (0, 1)),
    allow_negative_stock integer not null default 0 check (allow_negative_stock in (0, 1)),
    created_at text not null,
    updated_at text not null
);

create table users (
    id text primary key not null,
    username text not null,
    username_key text not null unique,
    email text not null,
    email_key text not null unique,
    password_hash text not null,
    role text not null check (role in ('admin', 'manager', 'cashier', 'employee')),
    active integer not null default 1 check (active in (0, 1)),
    commission_rate_bp bigint not null default 0 check (commission_rate_bp between 0 and 10000),
    created_at text not null,
    updated_at text not null
);

create table user_stores (
    user_id text not null references users (id) on delete cascade,
    store_id text not null references stores (id),
    created_at text not null,
    updated_at text not null,
    primary key (user_id, store_id)
);
create index user_stores_store_id on user_stores (store_id);

create table sessions (
    id text primary key not null,
    user_id text not null references users (id),
    ip text,
    user_agent text,
    expires_at text not null,
    revoked_at text,
    revoked_reason text,
    created_at text not null,
    updated_at text not null
);
create index sessions_user_id on sessions (user_id);

create table refresh_tokens (
    id text primary key not null,
    session_id text not null references sessions (id),
    token_hash text not null unique,
    expires_at text not null,
    used_at text,
    created_at text not null,
    updated_at text not null
);
create index refresh_tokens_session_id on refresh_tokens (session_id);

create table api_keys (
    id text primary key not null,
    name text not null,
    key_hash text not null unique,
    key_prefix text not null,
    tier text not null check (tier in ('free', 'basic', 'pro', 'enterprise')),
    role text not null check (role in ('admin', 'manager', 'cashier', 'employee')),
    created_by text references users (id),
    last_used_at text,
    revoked_at text,
    created_at text not null,
    updated_at text not null
);

create table api_key_stores (
    api_key_id text not null references api_keys (id) on delete cascade,
    store_id text not null references stores (id),
    created_at text not null,
    updated_at text not null,
    primary key (api_key_id, store_id)
);

create table password_resets (
    id text primary key not null,
    user_id text not null references users (id),
    token_hash text not null unique,
    expires_at text not null,
    used_at text,
    created_at text not null,
    updated_at text not null
);
create index password_resets_user_id on password_resets (user_id);

-- One row per username (lower-cased, whether or not such a user exists): failures in the
-- current window and, once too many, until when logins for it are refused. Updated by one
-- atomic upsert per attempt, so concurrent guesses are counted exactly on both engines.
create table login_throttles (
    username_key text primary key not null,
    window_started_at text not null,
    failures bigint not null,
    locked_until text,
    created_at text not null,
    updated_at text not null
);

create table audit_chain_heads (
    chain text primary key not null,
    last_seq bigint not null,
    last_hash text not null,
    created_at text not null,
    updated_at text not null
);

create table audit_events (
    id text primary key not null,
    chain text not null,
    seq bigint not null,
    at text not null,
    actor_id text,
    action text not null,
    target_type text,
    target_id text,
    store_id text,
    ip text,
    user_agent text,
    request_id text,
    details text not null,
    prev_hash text not null,
    hash text not null,
    created_at text not null,
    updated_at text not null,
    unique (chain, seq)
);
create index audit_events_at on audit_events (at);
create index audit_events_actor_id on audit_events (actor_id, at);
create index audit_events_action on audit_events (action, at);
