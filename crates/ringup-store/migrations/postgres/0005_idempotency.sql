-- Idempotency keys (API.md "Idempotency"): one row per caller and key, written in the same
-- transaction as the effect it protects, holding the request's hash and the response to replay.
create table idempotency_keys (
    scope text not null,
    idempotency_key text not null,
    request_hash text not null,
    status_code bigint,
    response_body text,
    expires_at text not null,
    created_at text not null,
    updated_at text not null,
    primary key (scope, idempotency_key)
);
create index idempotency_keys_expires_at on idempotency_keys (expires_at);
