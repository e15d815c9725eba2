//! The sale transaction's statements, copied from the store functions `create_sale` runs, in
//! the order it runs them (the reference: when one of those changes, change it here):
//!
//! | # | statement | from |
//! | --- | --- | --- |
//! | 1 | claim the idempotency key | `platform::idempotency::claim` |
//! | 2 | add to the open shift's totals | `checkout::shifts::add_to_shift` |
//! | 3 | lock the stock levels (upsert … returning) | `stock::batch::lock_levels` |
//! | 4 | sum their live reservations | `stock::batch::read_reserved` |
//! | 5 | decrement the levels, conditionally | `stock::batch::update_levels` |
//! | 6 | the movements | `stock::batch::insert_movements` |
//! | (7) | a `stock.low` event per level crossing its threshold | `stock::note_low_stock` |
//! | 8 | the store's next number | `checkout::sales::record_sale` |
//! | 9–11 | the sale, its lines, its payments | `checkout::sales::insert_sale` |
//! | (11a) | the report rollups: day, cashier, lines, tenders | `reports::rollups::apply` |
//! | 12 | the `sale.completed` outbox event | `platform::outbox::append_json` |
//! | 13–15 | the store's audit chain: take the head, move it, the event | `audit::append` |
//! | 16 | keep the reply with the key | `platform::idempotency::complete` |
//!
//! The texts keep the store's `$n` placeholders; SQLite gets them as `?n` ([`numbered`]),
//! which binds by number as sqlx does (a bare `$n` would be a *named* parameter there, bound
//! in order of first appearance). PostgreSQL runs the same list inside one function
//! (`sale.sql`).

use ringup_store::platform::db::{placeholders, value_rows};

pub(super) const CLAIM_KEY: &str = "insert into idempotency_keys (scope, idempotency_key, \
     request_hash, expires_at, created_at, updated_at) values ($1, $2, $3, $4, $5, $5) \
     on conflict (scope, idempotency_key) do nothing";

/// `$1` the shift, `$2..=$24` the delta, `$25` the bound (`Money::MAX`): the store's own.
pub(super) fn add_to_shift() -> String {
    ringup_store::checkout::shifts::add_to_shift_sql()
}

pub(super) fn lock_levels(n: usize) -> String {
    format!(
        "insert into stock_levels (store_id, product_id, on_hand, updated_at) values {} \
         on conflict (store_id, product_id) do update set on_hand = stock_levels.on_hand \
         returning product_id, on_hand",
        value_rows(3, n, "($1, ?, 0, $2)")
    )
}

pub(super) fn read_reserved(n: usize) -> String {
    format!(
        "select product_id, cast(sum(quantity) as bigint) as reserved from reservation_lines \
         where store_id = $1 and expires_at > $2 and product_id in ({}) group by product_id",
        placeholders(3, n)
    )
}

pub(super) fn update_levels(n: usize) -> String {
    format!(
        "update stock_levels set on_hand = stock_levels.on_hand + v.column2, updated_at = $2 \
         from (values {}) as v \
         where stock_levels.store_id = $1 and stock_levels.product_id = v.column1 \
           and (v.column2 >= 0 or $3 = 1 or stock_levels.on_hand + v.column2 - v.column3 >= 0)",
        value_rows(4, n, "(?, cast(? as bigint), cast(? as bigint))")
    )
}

pub(super) fn insert_movements(n: usize) -> String {
    format!(
        "insert into stock_movements (id, store_id, product_id, delta, kind, ref_type, ref_id, \
         actor_id, created_at) values {}",
        value_rows(7, n, "(?, $1, ?, cast(? as bigint), $2, $3, $4, $5, $6)")
    )
}

pub(super) const APPEND_OUTBOX: &str = "insert into outbox_events (id, event_type, store_id, \
     payload, created_at, attempts) values ($1, $2, $3, $4, $5, 0)";

pub(super) const NEXT_NUMBER: &str = "insert into sale_counters (store_id, last_number) \
     values ($1, 1) on conflict (store_id) do update set last_number = \
     sale_counters.last_number + 1 returning last_number";

pub(super) const INSERT_SALE: &str = "insert into sales (id, store_id, seq, number, \
     register_id, shift_id, cashier_id, customer_id, status, subtotal, discount_total, \
     net_total, tax_total, total, paid, change_given, commission, note, created_at, \
     business_day) values ($1, $2, $3, $4, $5, $6, $7, $8, 'completed', $9, $10, $11, $12, $13, \
     $14, $15, $16, $17, $18, $19)";

pub(super) fn insert_lines(n: usize) -> String {
    const LINE: &str = "($1, ?, cast(? as bigint), ?, ?, ?, cast(? as bigint), \
         cast(? as bigint), cast(? as bigint), cast(? as bigint), cast(? as bigint), \
         cast(? as bigint), cast(? as bigint), ?, cast(? as bigint))";
    format!(
        "insert into sale_lines (sale_id, id, line_no, product_id, sku, name, quantity, \
         unit_price, discount, net, tax, total, tax_rate_bp, tax_class_id, returned_quantity) \
         values {}",
        value_rows(2, n, LINE)
    )
}

pub(super) fn insert_payments(n: usize) -> String {
    format!(
        "insert into sale_payments (sale_id, line_no, method, amount, reference) values {}",
        value_rows(2, n, "($1, cast(? as bigint), ?, cast(? as bigint), ?)")
    )
}

pub(super) const TAKE_AUDIT_HEAD: &str = "insert into audit_chain_heads (chain, last_seq, \
     last_hash, created_at, updated_at) values ($1, 1, $2, $3, $3) \
     on conflict (chain) do update set last_seq = audit_chain_heads.last_seq + 1, \
       updated_at = excluded.updated_at \
     returning last_seq, last_hash";

pub(super) const MOVE_AUDIT_HEAD: &str =
    "update audit_chain_heads set last_hash = $2 where chain = $1";

pub(super) const INSERT_AUDIT_EVENT: &str = "insert into audit_events (id, chain, seq, at, \
     actor_id, action, target_type, target_id, store_id, ip, user_agent, request_id, details, \
     prev_hash, hash, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
     $11, $12, $13, $14, $15, $4, $4)";

pub(super) const COMPLETE_KEY: &str = "update idempotency_keys set status_code = $3, \
     response_body = $4, updated_at = $5 where scope = $1 and idempotency_key = $2";

/// The store's `$n` placeholders as SQLite's numbered `?n`. The texts above hold no `$`
/// anywhere else.
pub(super) fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_parameters() {
        assert_eq!(
            numbered(&lock_levels(2)),
            "insert into stock_levels (store_id, product_id, on_hand, updated_at) values \
             (?1, ?3, 0, ?2), (?1, ?4, 0, ?2) on conflict (store_id, product_id) do update set \
             on_hand = stock_levels.on_hand returning product_id, on_hand"
        );
        let shift = add_to_shift();
        assert!(shift.starts_with("update shifts set sales_count = sales_count + $2, "));
        assert!(shift.ends_with("paid_out + $24 <= $25"));
    }
}
