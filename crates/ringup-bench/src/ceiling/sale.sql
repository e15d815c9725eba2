-- The checkout ceiling on PostgreSQL: the whole sale transaction of `create_sale` as one
-- function, so a sale is one `select` (autocommit: one transaction, one round trip). The
-- statements are the store's (see sql.rs), in its order, with the rows that the store binds
-- one by one passed as arrays. Installed by ringup-bench in its own benchmark database only.
-- `{shift_sets}`, `{shift_bounds}` and `{genesis_hash}` are filled in from the Rust constants.

-- The audit chain's encoding (ringup_core::audit::chain_hash): a string is its UTF-8 length as
-- a big-endian u64 and its bytes; an optional string is 0x00, or 0x01 and the string.
create or replace function ringup_bench_audit_str(t text) returns bytea
language sql immutable strict parallel safe
as $$ select int8send(octet_length(convert_to(t, 'UTF8'))::bigint) || convert_to(t, 'UTF8') $$;

create or replace function ringup_bench_audit_opt(t text) returns bytea
language sql immutable parallel safe
as $$ select case when t is null then decode('00', 'hex')
                  else decode('01', 'hex') || ringup_bench_audit_str(t) end $$;

create or replace function ringup_bench_ceiling_sale(
    p_scope text, p_key text, p_request_hash text, p_now text, p_expires_at text,
    p_shift_id text, d bigint[], p_money_max bigint,
    p_store_id text, p_store_code text, p_allow_negative bigint,
    p_level_products text[], p_level_deltas bigint[], p_level_thresholds bigint[],
    p_low_event_ids text[],
    p_move_ids text[], p_move_products text[], p_move_deltas bigint[],
    p_sale_id text, p_register_id text, p_cashier_id text, p_totals bigint[],
    p_line_ids text[], p_line_products text[], p_line_skus text[], p_line_names text[],
    p_line_quantities bigint[], p_line_unit_prices bigint[], p_line_discounts bigint[],
    p_line_nets bigint[], p_line_taxes bigint[], p_line_totals bigint[], p_line_rates bigint[],
    p_line_tax_classes text[],
    p_pay_methods text[], p_pay_amounts bigint[], p_pay_references text[],
    p_outbox_id text, p_view_head text, p_view_tail text,
    p_audit_id text, p_ip text, p_user_agent text, p_request_id text,
    p_details_head text, p_details_tail text, p_business_day text
) returns text
language plpgsql
as $fn$
declare
    n bigint;
    levels int := coalesce(array_length(p_level_products, 1), 0);
    v_on_hand bigint[];
    v_reserved bigint[];
    before_available bigint;
    after_available bigint;
    v_status text;
    v_seq bigint;
    v_number text;
    v_view text;
    v_details text;
    v_audit_seq bigint;
    v_prev_hash text;
    v_hash text;
begin
    -- 1. Claim the idempotency key.
    insert into idempotency_keys (scope, idempotency_key, request_hash, expires_at,
        created_at, updated_at) values (p_scope, p_key, p_request_hash, p_expires_at, p_now, p_now)
    on conflict (scope, idempotency_key) do nothing;
    get diagnostics n = row_count;
    if n <> 1 then
        raise exception 'the idempotency key % was used before', p_key;
    end if;

    -- 2. Add to the open shift's totals (refused when closed or a total would pass the bound).
    update shifts set {shift_sets}
    where id = p_shift_id and status = 'open' and {shift_bounds};
    get diagnostics n = row_count;
    if n <> 1 then
        select status into v_status from shifts where id = p_shift_id;
        raise exception 'shift %: %', p_shift_id,
            case when v_status = 'open' then 'totals out of range' else 'closed' end;
    end if;

    -- 3. Lock the levels, in product order (as given).
    with locked as (
        insert into stock_levels (store_id, product_id, on_hand, updated_at)
        select p_store_id, v.product, 0, p_now
        from unnest(p_level_products) with ordinality as v(product, i) order by v.i
        on conflict (store_id, product_id) do update set on_hand = stock_levels.on_hand
        returning product_id, stock_levels.on_hand
    )
    select array_agg(l.on_hand order by v.i) into v_on_hand
    from unnest(p_level_products) with ordinality as v(product, i)
    join locked l on l.product_id = v.product;
    if coalesce(array_length(v_on_hand, 1), 0) <> levels then
        raise exception 'a stock level was not locked';
    end if;

    -- 4. Their live reservations.
    select array_agg(coalesce(r.reserved, 0) order by v.i) into v_reserved
    from unnest(p_level_products) with ordinality as v(product, i)
    left join (
        select product_id, cast(sum(quantity) as bigint) as reserved from reservation_lines
        where store_id = p_store_id and expires_at > p_now and product_id = any(p_level_products)
        group by product_id
    ) r on r.product_id = v.product;

    -- Decide (StockLevel::apply): a decrease may not take `available` below zero.
    for i in 1 .. levels loop
        before_available := v_on_hand[i] - v_reserved[i];
        if p_level_deltas[i] < 0 and p_allow_negative = 0
            and before_available + p_level_deltas[i] < 0 then
            raise exception 'not enough of product % in stock: only % available, % needed',
                p_level_products[i], before_available, -p_level_deltas[i];
        end if;
    end loop;

    -- 5. Decrement, with the rule repeated in the condition.
    update stock_levels set on_hand = stock_levels.on_hand + v.delta, updated_at = p_now
    from unnest(p_level_products, p_level_deltas, v_reserved) as v(product, delta, reserved)
    where stock_levels.store_id = p_store_id and stock_levels.product_id = v.product
      and (v.delta >= 0 or p_allow_negative = 1
           or stock_levels.on_hand + v.delta - v.reserved >= 0);
    get diagnostics n = row_count;
    if n <> levels then
        raise exception 'a locked level refused a change the rules allowed';
    end if;

    -- 6. The movements.
    insert into stock_movements (id, store_id, product_id, delta, kind, ref_type, ref_id,
        actor_id, created_at)
    select v.id, p_store_id, v.product, v.delta, 'sale', 'sale', p_sale_id, p_cashier_id, p_now
    from unnest(p_move_ids, p_move_products, p_move_deltas) as v(id, product, delta);

    -- 7. A stock.low event for each level that crossed its threshold (crosses_low).
    for i in 1 .. levels loop
        before_available := v_on_hand[i] - v_reserved[i];
        after_available := before_available + p_level_deltas[i];
        if before_available > p_level_thresholds[i]
            and after_available <= p_level_thresholds[i] then
            insert into outbox_events (id, event_type, store_id, payload, created_at, attempts)
            values (p_low_event_ids[i], 'stock.low', p_store_id, format(
                '{"available":%s,"low_stock_threshold":%s,"on_hand":%s,"product_id":%s,'
                '"reserved":%s,"store_id":%s}',
                after_available, p_level_thresholds[i], v_on_hand[i] + p_level_deltas[i],
                to_json(p_level_products[i])::text, v_reserved[i], to_json(p_store_id)::text),
                p_now, 0);
        end if;
    end loop;

    -- 8. The store's next number: the serial section starts here.
    insert into sale_counters (store_id, last_number) values (p_store_id, 1)
    on conflict (store_id) do update set last_number = sale_counters.last_number + 1
    returning last_number into v_seq;
    v_number := p_store_code || '-'
        || case when v_seq < 1000000 then lpad(v_seq::text, 6, '0') else v_seq::text end;

    -- 9–11. The sale, its lines, its payments.
    insert into sales (id, store_id, seq, number, register_id, shift_id, cashier_id,
        customer_id, status, subtotal, discount_total, net_total, tax_total, total, paid,
        change_given, commission, note, created_at, business_day)
    values (p_sale_id, p_store_id, v_seq, v_number, p_register_id, p_shift_id, p_cashier_id,
        null, 'completed', p_totals[1], p_totals[2], p_totals[3], p_totals[4], p_totals[5],
        p_totals[6], p_totals[7], p_totals[8], null, p_now, p_business_day);
    insert into sale_lines (sale_id, id, line_no, product_id, sku, name, quantity, unit_price,
        discount, net, tax, total, tax_rate_bp, tax_class_id, returned_quantity)
    select p_sale_id, v.id, v.line_no, v.product, v.sku, v.name, v.quantity, v.unit_price,
        v.discount, v.net, v.tax, v.total, v.rate, v.tax_class, 0
    from unnest(p_line_ids, p_line_products, p_line_skus, p_line_names, p_line_quantities,
        p_line_unit_prices, p_line_discounts, p_line_nets, p_line_taxes, p_line_totals,
        p_line_rates, p_line_tax_classes) with ordinality
        as v(id, product, sku, name, quantity, unit_price, discount, net, tax, total, rate,
             tax_class, line_no);
    insert into sale_payments (sale_id, line_no, method, amount, reference)
    select p_sale_id, v.line_no, v.method, v.amount, v.reference
    from unnest(p_pay_methods, p_pay_amounts, p_pay_references) with ordinality
        as v(method, amount, reference, line_no);

    -- 12. The sale.completed event: the sale as clients see it.
    v_view := p_view_head || v_number || p_view_tail;
    insert into outbox_events (id, event_type, store_id, payload, created_at, attempts)
    values (p_outbox_id, 'sale.completed', p_store_id, v_view, p_now, 0);

    -- 13–15. The store's audit chain: take the head, link the event, move the head.
    insert into audit_chain_heads (chain, last_seq, last_hash, created_at, updated_at)
    values (p_store_id, 1, '{genesis_hash}', p_now, p_now)
    on conflict (chain) do update set last_seq = audit_chain_heads.last_seq + 1,
        updated_at = excluded.updated_at
    returning last_seq, last_hash into v_audit_seq, v_prev_hash;
    v_details := p_details_head || v_number || p_details_tail;
    v_hash := encode(sha256(
        ringup_bench_audit_str('ringup.audit.v1')
        || ringup_bench_audit_str(p_audit_id)
        || ringup_bench_audit_str(p_store_id)
        || int8send(v_audit_seq)
        || ringup_bench_audit_str(p_now)
        || ringup_bench_audit_opt(p_cashier_id)
        || ringup_bench_audit_str('sale.completed')
        || ringup_bench_audit_opt('sale')
        || ringup_bench_audit_opt(p_sale_id)
        || ringup_bench_audit_opt(p_store_id)
        || ringup_bench_audit_opt(p_ip)
        || ringup_bench_audit_opt(p_user_agent)
        || ringup_bench_audit_opt(p_request_id)
        || ringup_bench_audit_str(v_details)
        || ringup_bench_audit_str(v_prev_hash)), 'hex');
    update audit_chain_heads set last_hash = v_hash where chain = p_store_id;
    insert into audit_events (id, chain, seq, at, actor_id, action, target_type, target_id,
        store_id, ip, user_agent, request_id, details, prev_hash, hash, created_at, updated_at)
    values (p_audit_id, p_store_id, v_audit_seq, p_now, p_cashier_id, 'sale.completed', 'sale',
        p_sale_id, p_store_id, p_ip, p_user_agent, p_request_id, v_details, v_prev_hash, v_hash,
        p_now, p_now);

    -- 16. Keep the reply with the key.
    update idempotency_keys set status_code = 201, response_body = v_view, updated_at = p_now
    where scope = p_scope and idempotency_key = p_key;
    return v_number;
end
$fn$;
