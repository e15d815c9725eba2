-- Error tracking (docs/OPERATIONS.md "Errors"): every 5xx answer and caught panic, grouped by
-- fingerprint (method, route template, kind and the message with its volatile parts replaced;
-- ringup-core/src/errors). The server counts occurrences in memory and adds them here about
-- once a second, so a storm of one error is one upsert a second, not a write per request.
-- `message` is the normalised message (no ids, numbers or quoted values), at most 300
-- characters; no request body or header is ever stored.

-- Mails to the admins about fingerprints not reported before, at most one an hour. Each mail
-- names the one before it (`previous_id`, '' for the first): two nodes that both decide to
-- mail insert the same `previous_id`, and the unique index lets only one of them succeed.
create table error_mails (
    id text primary key not null,
    previous_id text not null unique,
    sent_at text not null,
    fingerprints bigint not null,
    recipients bigint not null,
    created_at text not null,
    updated_at text not null,
    constraint error_mails_fingerprints_range check (fingerprints between 1 and 1000000),
    constraint error_mails_recipients_range check (recipients between 1 and 1000000)
);
create index error_mails_sent_at on error_mails (sent_at);

create table error_groups (
    id text primary key not null,
    fingerprint text not null unique,
    method text not null,
    route text not null,
    status bigint not null,
    kind text not null,
    message text not null,
    occurrences bigint not null,
    first_seen text not null,
    last_seen text not null,
    last_request_id text not null,
    -- The mail that reported this fingerprint; null until one has.
    mail_id text references error_mails (id),
    created_at text not null,
    updated_at text not null,
    constraint error_groups_status_range check (status between 500 and 599),
    constraint error_groups_occurrences_range check (occurrences >= 1)
);
-- The admin list: newest `last_seen` first.
create index error_groups_last_seen on error_groups (last_seen, id);
-- The fingerprints no mail has reported yet, oldest first.
create index error_groups_unmailed on error_groups (first_seen) where mail_id is null;
