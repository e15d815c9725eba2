-- Events (docs/EVENTS.md): the outbox rows every business write appends in its own
-- transaction gain the store they concern (null for chain-wide events such as `product.*`) and
-- a stream position. Event ids (UUIDv7) are taken before commit, so two concurrent writes can
-- commit in the opposite order of their ids; a reader that resumed "after id X" would then skip
-- the one that committed later. The position is assigned after commit instead, by the relay,
-- in the order it finds committed rows: a row that commits later is always found later, so it
-- always gets a higher position, and resuming after a position never skips an event.
alter table outbox_events add column store_id text;
alter table outbox_events add column position bigint;

-- Events written before this migration: their store is in their payload.
update outbox_events set store_id = cast(payload as jsonb) ->> 'store_id'
where jsonb_typeof(cast(payload as jsonb) -> 'store_id') = 'string';

create unique index outbox_events_position on outbox_events (position);
-- The rows the relay has not positioned yet, oldest first.
create index outbox_events_unrelayed on outbox_events (created_at, id) where position is null;
-- Retention: events are purged by age, oldest first.
create index outbox_events_created_at on outbox_events (created_at);

-- The last position handed out. One row, written by the first relay (so an empty database
-- stays empty: a restore can tell it holds no data); the relay locks it, so two relays (two
-- nodes) take turns and never hand out a position twice.
create table event_stream (
    id bigint primary key not null check (id = 1),
    last_position bigint not null check (last_position >= 0)
);

-- How far each consumer of the stream (the NATS publisher, the mail notifier) has got: it
-- resumes after this position when the server starts again.
create table event_cursors (
    consumer text primary key not null,
    position bigint not null check (position >= 0),
    updated_at text not null
);
