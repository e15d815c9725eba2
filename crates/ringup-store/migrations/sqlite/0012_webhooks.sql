-- Webhooks (docs/API.md "Webhooks", docs/OPERATIONS.md "Webhook delivery"): endpoints that
-- receive the events signed the Standard Webhooks way, and one row per delivery attempt.
--
-- The relay gives each event its position and, in the same transaction, inserts a pending
-- attempt for every endpoint whose filter selects it, so no event is positioned without its
-- deliveries. A worker claims the due attempts (on PostgreSQL with `for update skip locked`,
-- so several nodes share them), sends them and records the outcome; a failure adds the next
-- attempt as a new pending row. Order per endpoint and store: only the head of a lane (the
-- pending attempt with the lowest position of its endpoint and lane) is ever claimed.
create table webhooks (
    id text primary key not null,
    url text not null,
    -- JSON array of type patterns (`sale.*`, `stock.low`, `*`); empty: every type.
    events text not null,
    -- JSON array of store ids; empty: every store, and the events of no store.
    store_ids text not null,
    description text not null,
    enabled integer not null check (enabled in (0, 1)),
    -- `whsec_` and base64 of the key. Never logged, shown only on create and rotate.
    secret text not null,
    -- The secret before the last rotation, still used to sign until `previous_secret_until`.
    previous_secret text,
    previous_secret_until text,
    consecutive_failures bigint not null check (consecutive_failures >= 0),
    -- `closed` (deliver when due) or `open` (one probe a minute, at `next_probe_at`).
    circuit text not null check (circuit in ('closed', 'open')),
    next_probe_at text,
    created_at text not null,
    updated_at text not null
);
create index webhooks_created on webhooks (created_at, id);

create table webhook_deliveries (
    id text primary key not null,
    webhook_id text not null references webhooks (id) on delete cascade,
    event_id text not null,
    event_type text not null,
    -- The store id of the event, '' for events of no store; a test event or a manual
    -- redelivery has a lane of its own, so it neither waits for nor holds up the others.
    lane text not null,
    -- The event's stream position: the order inside a lane.
    position bigint not null,
    -- The event JSON exactly as signed and sent.
    body text not null,
    attempt bigint not null check (attempt >= 1),
    status text not null check (status in ('pending', 'succeeded', 'failed', 'dead')),
    response_status bigint,
    latency_ms bigint,
    error text,
    created_at text not null,
    next_attempt_at text not null,
    -- A node's claim: while in the future no other node sends this attempt; a node killed
    -- mid-send leaves it to expire, and the attempt is sent again.
    lease_until text,
    -- When the event was first attempted on this endpoint: after 3 days a failure is `dead`.
    first_attempt_at text not null,
    updated_at text not null
);
-- Due pending attempts.
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
-- The head of each lane: the pending attempt with the lowest position.
create index webhook_deliveries_lane on webhook_deliveries (webhook_id, lane, position)
    where status = 'pending';
-- The delivery log of an endpoint, newest first.
create index webhook_deliveries_log on webhook_deliveries (webhook_id, created_at, id);
-- Redelivery looks an event's attempts up.
create index webhook_deliveries_event on webhook_deliveries (webhook_id, event_id);
