-- Registers (tills) of a store; names are unique within their store.
create table registers (
    id text primary key not null,
    store_id text not null references stores (id),
    name text not null,
    active integer not null default 1 check (active in (0, 1)),
    created_at text not null,
    updated_at text not null,
    unique (store_id, name)
);
create index registers_store_id on registers (store_id);
