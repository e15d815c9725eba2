-- Facts about this installation (schema owner, first start), one row per key.
create table app_meta (
    key text primary key not null,
    value text not null,
    created_at text not null,
    updated_at text not null
);
