-- Stock (DESIGN.md "Stock is a ledger"): stock_movements is append-only; stock_levels.on_hand is
-- the running sum of a (store, product)'s movements, changed only in the transaction that writes
-- the movement. Reservations hold units for a while: a line counts as reserved until its
-- reservation is released (the lines are deleted) or its expires_at passes, so expiry needs no
-- sweeper. Transfers move stock between stores through an approval state machine. The outbox
-- holds events (stock.low, later sale.completed) written with the change that caused them.

create table stock_levels (
    store_id text not null references stores (id),
    product_id text not null references products (id),
    on_hand bigint not null default 0,
    updated_at text not null,
    primary key (store_id, product_id)
);
create index stock_levels_product_id on stock_levels (product_id);

create table stock_movements (
    id text primary key not null,
    store_id text not null references stores (id),
    product_id text not null references products (id),
    delta bigint not null,
    kind text not null check (kind in ('receiving', 'count', 'damage', 'theft', 'correction',
        'sale', 'void', 'return', 'transfer_out', 'transfer_in')),
    ref_type text,
    ref_id text,
    actor_id text,
    note text,
    created_at text not null,
    check (delta <> 0 or kind = 'count')
);
create index stock_movements_store_product on stock_movements (store_id, product_id, id);
create index stock_movements_product on stock_movements (product_id, id);
create index stock_movements_created_at on stock_movements (created_at, id);

create table transfers (
    id text primary key not null,
    from_store_id text not null references stores (id),
    to_store_id text not null references stores (id),
    status text not null check (status in ('requested', 'approved', 'received', 'rejected',
        'cancelled')),
    note text,
    requested_by text not null,
    approved_by text,
    approved_at text,
    received_by text,
    received_at text,
    rejected_by text,
    rejected_at text,
    reject_reason text,
    cancelled_by text,
    cancelled_at text,
    created_at text not null,
    updated_at text not null,
    check (from_store_id <> to_store_id)
);
create index transfers_from_store on transfers (from_store_id, id);
create index transfers_to_store on transfers (to_store_id, id);

create table transfer_lines (
    transfer_id text not null references transfers (id),
    line_no bigint not null,
    product_id text not null references products (id),
    quantity bigint not null check (quantity > 0),
    primary key (transfer_id, line_no),
    unique (transfer_id, product_id)
);

create table reservations (
    id text primary key not null,
    store_id text not null references stores (id),
    reference text,
    expires_at text not null,
    created_by text not null,
    created_at text not null,
    released_at text,
    released_by text
);
create index reservations_store on reservations (store_id, id);

-- The live lines of unreleased reservations, with the store and expiry copied from their
-- reservation so `reserved` is one indexed sum.
create table reservation_lines (
    reservation_id text not null references reservations (id),
    store_id text not null references stores (id),
    product_id text not null references products (id),
    quantity bigint not null check (quantity > 0),
    expires_at text not null,
    primary key (reservation_id, product_id)
);
create index reservation_lines_level on reservation_lines (store_id, product_id, expires_at);

-- A copy of every reservation's lines, kept after release so a reservation reads back whole.
create table reservation_items (
    reservation_id text not null references reservations (id),
    line_no bigint not null,
    product_id text not null references products (id),
    quantity bigint not null check (quantity > 0),
    primary key (reservation_id, line_no)
);

create table outbox_events (
    id text primary key not null,
    event_type text not null,
    payload text not null,
    created_at text not null,
    delivered_at text,
    attempts bigint not null default 0
);
create index outbox_events_pending on outbox_events (delivered_at, id);
