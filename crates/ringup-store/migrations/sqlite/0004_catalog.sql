-- The catalog: tax classes (rates in basis points), a category tree, and products. Prices and
-- costs are minor units of the store's currency; SKUs are unique ignoring case, barcodes are
-- unique exactly as sent. Archived products (active = 0) keep their history.

create table tax_classes (
    id text primary key not null,
    name text not null unique,
    rate_bp bigint not null check (rate_bp between 0 and 10000),
    created_at text not null,
    updated_at text not null
);

create table categories (
    id text primary key not null,
    name text not null,
    parent_id text references categories (id),
    created_at text not null,
    updated_at text not null
);
create index categories_parent_id on categories (parent_id);

create table products (
    id text primary key not null,
    sku text not null,
    sku_key text not null unique,
    barcode text unique,
    name text not null,
    name_key text not null,
    category_id text references categories (id),
    price bigint not null check (price >= 0),
    cost bigint not null check (cost >= 0),
    tax_class_id text not null references tax_classes (id),
    low_stock_threshold bigint not null default 0 check (low_stock_threshold >= 0),
    active integer not null default 1 check (active in (0, 1)),
    created_at text not null,
    updated_at text not null
);
create index products_name_key on products (name_key, id);
create index products_category_id on products (category_id, id);
create index products_active on products (active, id);
