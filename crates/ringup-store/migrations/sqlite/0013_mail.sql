-- Mail notifications (docs/ARCHITECTURE.md "Mail"): a durable queue every mail goes through,
-- so a slow or absent SMTP server never holds up the write that asked for the mail; the
-- low-stock notices waiting for their store's hourly mail; marks that make "once per store
-- per hour" and "one summary per store and day" hold across nodes; when each store wants its
-- daily summary; and each user's opt-outs.

-- One mail to one recipient. `dedupe_key` is unique: two nodes that decide on the same mail
-- insert it once. A worker claims a due row by setting `claimed_until` (a lease; a crashed
-- node's claim runs out) and counting the attempt; success sets `sent_at`, the last allowed
-- failure `failed_at`, any other failure a later `next_attempt_at`.
create table mail_queue (
    id text primary key not null,
    kind text not null check (kind in ('receipt', 'low_stock', 'daily_summary')),
    dedupe_key text not null unique,
    recipient text not null,
    subject text not null,
    body text not null,
    created_at text not null,
    attempts bigint not null default 0 check (attempts >= 0),
    next_attempt_at text not null,
    claimed_until text,
    sent_at text,
    failed_at text,
    last_error text
);
-- The rows still to send, soonest first.
create index mail_queue_due on mail_queue (next_attempt_at)
    where sent_at is null and failed_at is null;
create index mail_queue_created_at on mail_queue (created_at);

-- A product that fell to or below its threshold in a store on a (store-local) day: at most one
-- row per store, product and day, so a product is listed at most once a day. `mailed_at` is
-- set when the store's mail lists it.
create table low_stock_notices (
    store_id text not null references stores (id),
    product_id text not null references products (id),
    day text not null,
    noticed_at text not null,
    available bigint not null,
    threshold bigint not null,
    mailed_at text,
    primary key (store_id, product_id, day)
);
create index low_stock_notices_pending on low_stock_notices (store_id, noticed_at)
    where mailed_at is null;

-- Decisions that must be taken once across every node: `low_stock:<store>` holds when the
-- store's last low-stock mail went out (updated only when an hour has passed), and
-- `summary:<store>:<local date>` exists once that day's summary is queued.
create table mail_marks (
    key text primary key not null,
    at text not null
);

-- When a store's daily summary goes out, in its own time zone ('HH:MM').
alter table stores add column daily_summary_at text not null default '22:00';
create trigger stores_daily_summary_at_insert before insert on stores
when new.daily_summary_at not glob '[0-2][0-9]:[0-5][0-9]' or new.daily_summary_at > '23:59'
begin select raise(abort, 'stores.daily_summary_at must be HH:MM'); end;
create trigger stores_daily_summary_at_update before update of daily_summary_at on stores
when new.daily_summary_at not glob '[0-2][0-9]:[0-5][0-9]' or new.daily_summary_at > '23:59'
begin select raise(abort, 'stores.daily_summary_at must be HH:MM'); end;

-- Opt-outs: a user who sets one of these to 0 gets no such mail.
alter table users add column notify_low_stock integer not null default 1
    check (notify_low_stock in (0, 1));
alter table users add column notify_daily_summary integer not null default 1
    check (notify_daily_summary in (0, 1));
