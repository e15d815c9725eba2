-- The audit chain's hash, computed where the link is made (docs/ARCHITECTURE.md, "The audit
-- log"): on PostgreSQL an audit event is appended by one statement that takes the chain's head,
-- hashes the new link and moves the head, instead of a round trip to read the head, a hash in
-- the server and another round trip to write the link. The encoding is
-- `ringup_core::audit::chain_hash`, byte for byte: a string is its UTF-8 length as a big-endian
-- 64-bit integer and its bytes; an optional string is 0x00, or 0x01 and the string; the
-- sequence number is 8 bytes big-endian. The store's tests compare the two on both kinds of
-- input, and every chain verification reads links made either way.
--
-- `stable`, not `immutable`: `convert_to` is stable, and PostgreSQL inlines an SQL function
-- into the statement that calls it only when its declared volatility is no stricter than its
-- body's. Declared `immutable`, these ran as three nested function calls per link and made the
-- sale's last statement ~0.45 ms slower in the server (its statement log, one client); inlined
-- they cost what the round trip they save costs.

create function ringup_audit_str(t text) returns bytea
language sql stable strict parallel safe
as $$ select int8send(octet_length(convert_to(t, 'UTF8'))::bigint) || convert_to(t, 'UTF8') $$;

create function ringup_audit_opt(t text) returns bytea
language sql stable parallel safe
as $$ select case when t is null then '\x00'::bytea
                  else '\x01'::bytea || ringup_audit_str(t) end $$;

create function ringup_audit_hash(
    id text, chain text, seq bigint, at text, actor_id text, action text, target_type text,
    target_id text, store_id text, ip text, user_agent text, request_id text, details text,
    prev_hash text
) returns text
language sql stable parallel safe
as $$ select encode(sha256(
        ringup_audit_str('ringup.audit.v1')
        || ringup_audit_str(id)
        || ringup_audit_str(chain)
        || int8send(seq)
        || ringup_audit_str(at)
        || ringup_audit_opt(actor_id)
        || ringup_audit_str(action)
        || ringup_audit_opt(target_type)
        || ringup_audit_opt(target_id)
        || ringup_audit_opt(store_id)
        || ringup_audit_opt(ip)
        || ringup_audit_opt(user_agent)
        || ringup_audit_opt(request_id)
        || ringup_audit_str(details)
        || ringup_audit_str(prev_hash)), 'hex') $$;
