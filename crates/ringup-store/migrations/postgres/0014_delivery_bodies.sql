-- Webhook attempts refer to their event instead of copying it (docs/ARCHITECTURE.md
-- "Webhooks"). A first attempt used to carry the event's JSON, about 1.5 KB a sale, written
-- once per endpoint when the relay fanned the event out and again when the attempt was marked
-- sent. Now `body` is null for an event of the outbox, whose envelope is built from
-- `outbox_events` when the attempt is claimed; only a test event (which is in no outbox) and a
-- redelivery (which may outlive its event) keep their own. The events purge spares every
-- event a pending attempt without a body still needs.
--
-- Also: the `next_attempt_at` index served the claim before heads were found by a skip scan
-- of the lane index, and is no longer read, so it is dropped (one index less to write per
-- attempt); the delivery log reads an endpoint's attempts by id (UUIDv7, so newest first),
-- and its index now says so.
-- `body`: the event JSON exactly as signed and sent, when it is not the envelope of the
-- outbox event `event_id` (null: built from that event when claimed).
alter table webhook_deliveries alter column body drop not null;
drop index webhook_deliveries_due;
drop index webhook_deliveries_log;
create index webhook_deliveries_log on webhook_deliveries (webhook_id, id);
