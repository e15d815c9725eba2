-- Report rollups (API.md "Reports", docs/ARCHITECTURE.md, "Reports read rollups"). A sale, a void and a return add to
-- these rows in their own transaction, so a report reads O(days × groups) rows and never the
-- sales. `day` is the store's local day (YYYY-MM-DD) in its time zone when the sale or return
-- was made. The rows are derived data: `ringup rollups rebuild` recomputes them from the
-- sales and returns, and `ringup check` compares the two. They carry no created_at /
-- updated_at: every sale touches them, and what they say is recomputable at any time.
-- Reports always name their stores, so the primary keys serve every read. On SQLite the
-- tables are `without rowid`: an upsert then touches one B-tree, not a rowid table and its key
-- index (every sale runs four of them).

-- Per store and local day: the day's sales and returns, whoever made them. The daily and
-- store reports read these (one row per store and day); the cashier table below has the same
-- figures split by cashier.
create table sales_day_rollups (
    store_id text not null references stores (id),
    day text not null,
    sales bigint not null,
    gross bigint not null,
    discounts bigint not null,
    net bigint not null,
    tax bigint not null,
    total bigint not null,
    commission bigint not null,
    returns bigint not null,
    refunds bigint not null,
    primary key (store_id, day)
) without rowid;

-- Per store, local day and cashier: the sales they rang up and the returns they made.
create table sales_rollups (
    store_id text not null references stores (id),
    day text not null,
    cashier_id text not null references users (id),
    sales bigint not null,
    gross bigint not null,
    discounts bigint not null,
    net bigint not null,
    tax bigint not null,
    total bigint not null,
    commission bigint not null,
    returns bigint not null,
    refunds bigint not null,
    primary key (store_id, day, cashier_id)
) without rowid;

-- Per store, local day, product and tax class and rate: the lines' own amounts, and what
-- returns took back (quantity, refund and the tax share of it).
create table sale_line_rollups (
    store_id text not null references stores (id),
    day text not null,
    product_id text not null references products (id),
    tax_class_id text not null,
    rate_bp bigint not null,
    quantity bigint not null,
    gross bigint not null,
    discounts bigint not null,
    net bigint not null,
    tax bigint not null,
    total bigint not null,
    returned bigint not null,
    refunds bigint not null,
    refund_tax bigint not null,
    primary key (store_id, day, product_id, tax_class_id, rate_bp)
) without rowid;

-- Per store, local day and tender: payments, what they took in (cash net of change) and
-- refunds paid out.
create table tender_rollups (
    store_id text not null references stores (id),
    day text not null,
    method text not null check (method in ('cash', 'card', 'mobile_money', 'voucher', 'other')),
    payments bigint not null,
    taken bigint not null,
    refunds bigint not null,
    primary key (store_id, day, method)
) without rowid;

-- The local day a sale or return counts on, as its store's zone gave it when it was made: a
-- void takes the sale off that day even if the store's zone changed since, and a rebuild puts
-- every sale back on it. Rows made before this migration have none; they count on the day
-- their store's current zone gives them.
alter table sales add column business_day text;
alter table returns add column business_day text;

-- The tax share of a returned line's refund, kept as the return computed it (cumulative
-- rounding like the refund itself, API.md "Reports"), so the VAT report and its
-- recomputation never depend on the order returns are read back in. Rows written before this
-- migration get it recomputed here, in the order the returns were made.
alter table return_lines add column tax bigint not null default 0;
update return_lines set tax = (
    select
        (2 * l.tax * w.after_qty + l.quantity) / (2 * l.quantity)
        - (2 * l.tax * (w.after_qty - return_lines.quantity) + l.quantity) / (2 * l.quantity)
    from sale_lines l,
        (select rl.return_id, rl.line_no,
                cast(sum(rl.quantity) over (
                    partition by rl.sale_line_id order by r.created_at, r.id
                    rows between unbounded preceding and current row
                ) as bigint) as after_qty
           from return_lines rl join returns r on r.id = rl.return_id) w
    where l.id = return_lines.sale_line_id
      and w.return_id = return_lines.return_id and w.line_no = return_lines.line_no
);

-- Shifts closed in a period, per store (the shifts report).
create index shifts_closed_at on shifts (store_id, closed_at);
-- Stock movements of a store in a period (the stock movement report).
create index stock_movements_store_created on stock_movements (store_id, created_at);

-- Sales made before this migration are not in the rollups yet: the first start after it
-- rebuilds them (the flag is cleared by the rebuild).
insert into app_meta (key, value, created_at, updated_at)
values ('rollups_stale', 'migration 0009', '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z');
