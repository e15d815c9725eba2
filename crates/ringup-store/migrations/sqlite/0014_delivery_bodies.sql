-- Webhook attempts refer to their event instead of copying it (docs/ARCHITECTURE.md
-- "Webhooks"). A first attempt used to carry the event's JSON, about 1.5 KB a sale, written
-- once per endpoint when the relay fanned the event out and again when the attempt was marked
-- sent: on SQLite's one writer that was most of what delivering cost the tills. Now `body` is
-- null for an event of the outbox, whose envelope is built from `outbox_events` when the
-- attempt is claimed; only a test event (which is in no outbox) and a redelivery (which may
-- outlive its event) keep their own. The events purge spares every event a pending attempt
-- without a body still needs.
--
-- Also: the `next_attempt_at` index served the claim before heads were found by a skip scan
-- of the lane index, and is no longer read, so it is dropped (one index less to write per
-- attempt); the delivery log reads an endpoint's attempts by id (UUIDv7, so newest first),
-- and its index now says so.
--
-- SQLite cannot drop a `not null` in place: the table is rebuilt, as its docs describe.
create table webhook_deliveries_rebuilt (
    id text primary key not null,
    webhook_id text not null references webhooks (id) on delete cascade,
    event_id text not null,
    event_type text not null,
    -- The store id of the event, '' for events of no store; a test event or a manual
    -- redelivery has a lane of its own, so it neither waits for nor holds up the others.
    lane text not null,
    -- The event's stream position: the order inside a lane.
    position bigint not null,
    -- The event JSON exactly as signed and sent, when it is not the envelope of the outbox
    -- event `event_id` (null: built from that event when claimed).
    body text,
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
insert into webhook_deliveries_rebuilt (id, webhook_id, event_id, event_type, lane, position,
    body, attempt, status, response_status, latency_ms, error, created_at, next_attempt_at,
    lease_until, first_attempt_at, updated_at)
select id, webhook_id, event_id, event_type, lane, position, body, attempt, status,
    response_status, latency_ms, error, created_at, next_attempt_at, lease_until,
    first_attempt_at, updated_at
from webhook_deliveries;
drop table webhook_deliveries;
alter table webhook_deliveries_rebuilt rename to webhook_deliveries;
-- The head of each lane: the pending attempt with the lowest position.
create index webhook_deliveries_lane on webhook_deliveries (webhook_id, lane, position)
    where status = 'pending';
-- The delivery log of an endpoint, newest first.
create index webhook_deliveries_log on webhook_deliveries (webhook_id, id);
-- Redelivery looks an event's attempts up.
create index webhook_deliveries_event on webhook_deliveries (webhook_id, event_id);
