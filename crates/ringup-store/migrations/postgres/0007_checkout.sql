-- Checkout (API.md "Checkout", DESIGN.md "A sale is one transaction"). Money is integer minor
-- units, rates basis points. A sale, its lines, payments, stock movements, its shift's running
-- totals, its gapless per-store number, the audit link and the outbox event commit together.
-- Shift reports read the running totals on the shift row, never the sales themselves.

-- National phone numbers of customers are read in the store's country (ISO 3166 alpha-2).
alter table stores add column country text not null default 'KE';

create table customers (
    id text primary key not null,
    name text not null,
    -- The lower-cased name (folded in Rust, so both engines agree), for prefix search.
    name_key text not null,
    -- E.164, unique when present.
    phone text,
    email text,
    created_at text not null,
    updated_at text not null
);
create unique index customers_phone on customers (phone);
create index customers_name_key on customers (name_key, id);

-- The last number handed out per store: the row is the per-store serial section, so it is
-- taken right before commit.
create table sale_counters (
    store_id text primary key not null references stores (id),
    last_number bigint not null
);

create table shifts (
    id text primary key not null,
    store_id text not null references stores (id),
    register_id text not null references registers (id),
    cashier_id text not null references users (id),
    status text not null check (status in ('open', 'closed')),
    opening_float bigint not null check (opening_float >= 0),
    sales_count bigint not null default 0,
    gross bigint not null default 0,
    discounts bigint not null default 0,
    tax bigint not null default 0,
    net bigint not null default 0,
    total bigint not null default 0,
    tender_cash bigint not null default 0,
    tender_card bigint not null default 0,
    tender_mobile_money bigint not null default 0,
    tender_voucher bigint not null default 0,
    tender_other bigint not null default 0,
    change_given bigint not null default 0,
    voids_count bigint not null default 0,
    voids_total bigint not null default 0,
    returns_count bigint not null default 0,
    returns_total bigint not null default 0,
    refund_cash bigint not null default 0,
    refund_card bigint not null default 0,
    refund_mobile_money bigint not null default 0,
    refund_voucher bigint not null default 0,
    refund_other bigint not null default 0,
    paid_in bigint not null default 0,
    paid_out bigint not null default 0,
    counted_cash bigint,
    expected_cash bigint,
    over_short bigint,
    opened_at text not null,
    closed_at text,
    closed_by text
);
-- One open shift per register.
create unique index shifts_open_register on shifts (register_id) where status = 'open';
create index shifts_store on shifts (store_id, id);

create table shift_cash_movements (
    id text primary key not null,
    shift_id text not null references shifts (id),
    kind text not null check (kind in ('paid_in', 'paid_out')),
    amount bigint not null check (amount > 0),
    reason text not null,
    actor_id text not null,
    created_at text not null
);
create index shift_cash_movements_shift on shift_cash_movements (shift_id, id);

create table sales (
    id text primary key not null,
    store_id text not null references stores (id),
    seq bigint not null,
    number text not null,
    register_id text not null references registers (id),
    shift_id text not null references shifts (id),
    cashier_id text not null references users (id),
    customer_id text references customers (id),
    status text not null check (status in ('completed', 'voided')),
    subtotal bigint not null,
    discount_total bigint not null,
    net_total bigint not null,
    tax_total bigint not null,
    total bigint not null,
    paid bigint not null,
    change_given bigint not null,
    commission bigint not null,
    note text,
    -- Returns made against the sale; a sale with returns cannot be voided.
    returns_count bigint not null default 0,
    void_reason text,
    voided_by text,
    voided_at text,
    created_at text not null,
    unique (store_id, seq)
);
create index sales_store on sales (store_id, id);
create index sales_shift on sales (shift_id, id);
create index sales_cashier on sales (cashier_id, id);
create index sales_customer on sales (customer_id, id);
create index sales_created_at on sales (created_at, id);

create table sale_lines (
    id text primary key not null,
    sale_id text not null references sales (id),
    line_no bigint not null,
    product_id text not null references products (id),
    sku text not null,
    name text not null,
    quantity bigint not null check (quantity > 0),
    unit_price bigint not null,
    discount bigint not null,
    net bigint not null,
    tax bigint not null,
    total bigint not null,
    tax_rate_bp bigint not null,
    tax_class_id text not null,
    returned_quantity bigint not null default 0,
    refunded bigint not null default 0,
    check (returned_quantity between 0 and quantity),
    unique (sale_id, line_no)
);

create table sale_payments (
    sale_id text not null references sales (id),
    line_no bigint not null,
    method text not null check (method in ('cash', 'card', 'mobile_money', 'voucher', 'other')),
    amount bigint not null check (amount > 0),
    reference text,
    primary key (sale_id, line_no)
);

create table returns (
    id text primary key not null,
    sale_id text not null references sales (id),
    store_id text not null references stores (id),
    register_id text not null references registers (id),
    shift_id text not null references shifts (id),
    cashier_id text not null references users (id),
    reason text,
    total bigint not null,
    created_at text not null
);
create index returns_sale on returns (sale_id, id);
create index returns_store on returns (store_id, id);

create table return_lines (
    return_id text not null references returns (id),
    line_no bigint not null,
    sale_line_id text not null references sale_lines (id),
    product_id text not null references products (id),
    quantity bigint not null check (quantity > 0),
    restock integer not null check (restock in (0, 1)),
    refund bigint not null,
    primary key (return_id, line_no)
);

create table return_refunds (
    return_id text not null references returns (id),
    line_no bigint not null,
    method text not null check (method in ('cash', 'card', 'mobile_money', 'voucher', 'other')),
    amount bigint not null check (amount > 0),
    reference text,
    primary key (return_id, line_no)
);
