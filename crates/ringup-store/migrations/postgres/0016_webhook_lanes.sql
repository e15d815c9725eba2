-- Lanes of their own (docs/ARCHITECTURE.md "Webhooks"): one row per endpoint and lane, with a
-- floor under its head.
--
-- A claim used to find the lanes' heads by a recursive skip scan of the pending attempts'
-- partial index. On PostgreSQL an attempt that stops being pending leaves its entry in that
-- index until a vacuum, and the scan walked every one of them at the start of each lane; on
-- a delivery log of days, which autovacuum rarely visits, that is most of the lane. And its
-- planner, misjudging the heads, hash-joined them against every attempt of each endpoint: 20
-- to 40 ms a look at the checkout bench's load. Now each lane is looked up from its row:
-- its head is the first pending attempt at or above `floor`, one index descent that lands
-- past the lane's finished attempts, and the attempt is then read by its id.
--
-- `floor`: no pending attempt of the lane has a lower position. A lane is made with the
-- position of its first attempt; a claim raises it to the position of the head it takes.
-- That keeps it true, as a lane's new attempts come later in the stream (positions are handed
-- out in commit order) and a retry keeps its attempt's position. The lanes of a test event
-- or a redelivery (`test:…`, `redelivery:…`) get nothing after their one event and are purged
-- with it; a store's lane stays as long as its endpoint.
create table webhook_lanes (
    webhook_id text not null references webhooks (id) on delete cascade,
    lane text not null,
    floor bigint not null,
    primary key (webhook_id, lane)
);

insert into webhook_lanes (webhook_id, lane, floor)
select webhook_id, lane, min(position) from webhook_deliveries where status = 'pending'
group by webhook_id, lane;
