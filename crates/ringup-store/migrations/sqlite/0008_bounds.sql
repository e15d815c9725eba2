-- Range guards on every money, quantity and rate column (API.md "Conventions": amounts
-- 0..=10^12 minor units, quantities 1..=10^6, stock levels within 10^9 units). The API refuses
-- out-of-range input and totals before they reach the database; these triggers refuse whatever
-- slips past, so a non-integer (SQLite keeps an integer sum that overflows as a REAL) or an
-- out-of-range value can never be stored. ringup-store/src/bounds.rs lists the same ranges
-- for `ringup check`, which finds rows written before this migration; a test proves every
-- listed column is guarded. A refusal aborts the statement with `ringup-bounds: <table>`,
-- which the store maps to a 422, never a 500.

create trigger users_bounds_insert before insert on users
when typeof(new.commission_rate_bp) <> 'integer' or new.commission_rate_bp not between 0 and 10000
begin
    select raise(abort, 'ringup-bounds: users');
end;

create trigger users_bounds_update before update on users
when typeof(new.commission_rate_bp) <> 'integer' or new.commission_rate_bp not between 0 and 10000
begin
    select raise(abort, 'ringup-bounds: users');
end;

create trigger tax_classes_bounds_insert before insert on tax_classes
when typeof(new.rate_bp) <> 'integer' or new.rate_bp not between 0 and 10000
begin
    select raise(abort, 'ringup-bounds: tax_classes');
end;

create trigger tax_classes_bounds_update before update on tax_classes
when typeof(new.rate_bp) <> 'integer' or new.rate_bp not between 0 and 10000
begin
    select raise(abort, 'ringup-bounds: tax_classes');
end;

create trigger products_bounds_insert before insert on products
when typeof(new.price) <> 'integer' or new.price not between 0 and 1000000000000
    or typeof(new.cost) <> 'integer' or new.cost not between 0 and 1000000000000
    or typeof(new.low_stock_threshold) <> 'integer' or new.low_stock_threshold not between 0 and 1000000000
begin
    select raise(abort, 'ringup-bounds: products');
end;

create trigger products_bounds_update before update on products
when typeof(new.price) <> 'integer' or new.price not between 0 and 1000000000000
    or typeof(new.cost) <> 'integer' or new.cost not between 0 and 1000000000000
    or typeof(new.low_stock_threshold) <> 'integer' or new.low_stock_threshold not between 0 and 1000000000
begin
    select raise(abort, 'ringup-bounds: products');
end;

create trigger stock_levels_bounds_insert before insert on stock_levels
when typeof(new.on_hand) <> 'integer' or new.on_hand not between -1000000000 and 1000000000
begin
    select raise(abort, 'ringup-bounds: stock_levels');
end;

create trigger stock_levels_bounds_update before update on stock_levels
when typeof(new.on_hand) <> 'integer' or new.on_hand not between -1000000000 and 1000000000
begin
    select raise(abort, 'ringup-bounds: stock_levels');
end;

create trigger stock_movements_bounds_insert before insert on stock_movements
when typeof(new.delta) <> 'integer' or new.delta not between -2000000000 and 2000000000
begin
    select raise(abort, 'ringup-bounds: stock_movements');
end;

create trigger stock_movements_bounds_update before update on stock_movements
when typeof(new.delta) <> 'integer' or new.delta not between -2000000000 and 2000000000
begin
    select raise(abort, 'ringup-bounds: stock_movements');
end;

create trigger transfer_lines_bounds_insert before insert on transfer_lines
when typeof(new.quantity) <> 'integer' or new.quantity not between 1 and 1000000
begin
    select raise(abort, 'ringup-bounds: transfer_lines');
end;

create trigger transfer_lines_bounds_update before update on transfer_lines
when typeof(new.quantity) <> 'integer' or new.quantity not between 1 and 1000000
begin
    select raise(abort, 'ringup-bounds: transfer_lines');
end;

create trigger reservation_lines_bounds_insert before insert on reservation_lines
when typeof(new.quantity) <> 'integer' or new.quantity not between 1 and 1000000
begin
    select raise(abort, 'ringup-bounds: reservation_lines');
end;

create trigger reservation_lines_bounds_update before update on reservation_lines
when typeof(new.quantity) <> 'integer' or new.quantity not between 1 and 1000000
begin
    select raise(abort, 'ringup-bounds: reservation_lines');
end;

create trigger reservation_items_bounds_insert before insert on reservation_items
when typeof(new.quantity) <> 'integer' or new.quantity not between 1 and 1000000
begin
    select raise(abort, 'ringup-bounds: reservation_items');
end;

create trigger reservation_items_bounds_update before update on reservation_items
when typeof(new.quantity) <> 'integer' or new.quantity not between 1 and 1000000
begin
    select raise(abort, 'ringup-bounds: reservation_items');
end;

create trigger shifts_bounds_insert before insert on shifts
when typeof(new.opening_float) <> 'integer' or new.opening_float not between 0 and 1000000000000
    or typeof(new.sales_count) <> 'integer' or new.sales_count not between 0 and 1000000000000
    or typeof(new.gross) <> 'integer' or new.gross not between 0 and 1000000000000
    or typeof(new.discounts) <> 'integer' or new.discounts not between 0 and 1000000000000
    or typeof(new.tax) <> 'integer' or new.tax not between 0 and 1000000000000
    or typeof(new.net) <> 'integer' or new.net not between 0 and 1000000000000
    or typeof(new.total) <> 'integer' or new.total not between 0 and 1000000000000
    or typeof(new.tender_cash) <> 'integer' or new.tender_cash not between 0 and 1000000000000
    or typeof(new.tender_card) <> 'integer' or new.tender_card not between 0 and 1000000000000
    or typeof(new.tender_mobile_money) <> 'integer' or new.tender_mobile_money not between 0 and 1000000000000
    or typeof(new.tender_voucher) <> 'integer' or new.tender_voucher not between 0 and 1000000000000
    or typeof(new.tender_other) <> 'integer' or new.tender_other not between 0 and 1000000000000
    or typeof(new.change_given) <> 'integer' or new.change_given not between 0 and 1000000000000
    or typeof(new.voids_count) <> 'integer' or new.voids_count not between 0 and 1000000000000
    or typeof(new.voids_total) <> 'integer' or new.voids_total not between 0 and 1000000000000
    or typeof(new.returns_count) <> 'integer' or new.returns_count not between 0 and 1000000000000
    or typeof(new.returns_total) <> 'integer' or new.returns_total not between 0 and 1000000000000
    or typeof(new.refund_cash) <> 'integer' or new.refund_cash not between 0 and 1000000000000
    or typeof(new.refund_card) <> 'integer' or new.refund_card not between 0 and 1000000000000
    or typeof(new.refund_mobile_money) <> 'integer' or new.refund_mobile_money not between 0 and 1000000000000
    or typeof(new.refund_voucher) <> 'integer' or new.refund_voucher not between 0 and 1000000000000
    or typeof(new.refund_other) <> 'integer' or new.refund_other not between 0 and 1000000000000
    or typeof(new.paid_in) <> 'integer' or new.paid_in not between 0 and 1000000000000
    or typeof(new.paid_out) <> 'integer' or new.paid_out not between 0 and 1000000000000
    or (new.counted_cash is not null and (typeof(new.counted_cash) <> 'integer' or new.counted_cash not between 0 and 1000000000000))
    or (new.expected_cash is not null and (typeof(new.expected_cash) <> 'integer' or new.expected_cash not between -4000000000000 and 4000000000000))
    or (new.over_short is not null and (typeof(new.over_short) <> 'integer' or new.over_short not between -4000000000000 and 4000000000000))
begin
    select raise(abort, 'ringup-bounds: shifts');
end;

create trigger shifts_bounds_update before update on shifts
when typeof(new.opening_float) <> 'integer' or new.opening_float not between 0 and 1000000000000
    or typeof(new.sales_count) <> 'integer' or new.sales_count not between 0 and 1000000000000
    or typeof(new.gross) <> 'integer' or new.gross not between 0 and 1000000000000
    or typeof(new.discounts) <> 'integer' or new.discounts not between 0 and 1000000000000
    or typeof(new.tax) <> 'integer' or new.tax not between 0 and 1000000000000
    or typeof(new.net) <> 'integer' or new.net not between 0 and 1000000000000
    or typeof(new.total) <> 'integer' or new.total not between 0 and 1000000000000
    or typeof(new.tender_cash) <> 'integer' or new.tender_cash not between 0 and 1000000000000
    or typeof(new.tender_card) <> 'integer' or new.tender_card not between 0 and 1000000000000
    or typeof(new.tender_mobile_money) <> 'integer' or new.tender_mobile_money not between 0 and 1000000000000
    or typeof(new.tender_voucher) <> 'integer' or new.tender_voucher not between 0 and 1000000000000
    or typeof(new.tender_other) <> 'integer' or new.tender_other not between 0 and 1000000000000
    or typeof(new.change_given) <> 'integer' or new.change_given not between 0 and 1000000000000
    or typeof(new.voids_count) <> 'integer' or new.voids_count not between 0 and 1000000000000
    or typeof(new.voids_total) <> 'integer' or new.voids_total not between 0 and 1000000000000
    or typeof(new.returns_count) <> 'integer' or new.returns_count not between 0 and 1000000000000
    or typeof(new.returns_total) <> 'integer' or new.returns_total not between 0 and 1000000000000
    or typeof(new.refund_cash) <> 'integer' or new.refund_cash not between 0 and 1000000000000
    or typeof(new.refund_card) <> 'integer' or new.refund_card not between 0 and 1000000000000
    or typeof(new.refund_mobile_money) <> 'integer' or new.refund_mobile_money not between 0 and 1000000000000
    or typeof(new.refund_voucher) <> 'integer' or new.refund_voucher not between 0 and 1000000000000
    or typeof(new.refund_other) <> 'integer' or new.refund_other not between 0 and 1000000000000
    or typeof(new.paid_in) <> 'integer' or new.paid_in not between 0 and 1000000000000
    or typeof(new.paid_out) <> 'integer' or new.paid_out not between 0 and 1000000000000
    or (new.counted_cash is not null and (typeof(new.counted_cash) <> 'integer' or new.counted_cash not between 0 and 1000000000000))
    or (new.expected_cash is not null and (typeof(new.expected_cash) <> 'integer' or new.expected_cash not between -4000000000000 and 4000000000000))
    or (new.over_short is not null and (typeof(new.over_short) <> 'integer' or new.over_short not between -4000000000000 and 4000000000000))
begin
    select raise(abort, 'ringup-bounds: shifts');
end;

create trigger shift_cash_movements_bounds_insert before insert on shift_cash_movements
when typeof(new.amount) <> 'integer' or new.amount not between 1 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: shift_cash_movements');
end;

create trigger shift_cash_movements_bounds_update before update on shift_cash_movements
when typeof(new.amount) <> 'integer' or new.amount not between 1 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: shift_cash_movements');
end;

create trigger sales_bounds_insert before insert on sales
when typeof(new.subtotal) <> 'integer' or new.subtotal not between 0 and 1000000000000
    or typeof(new.discount_total) <> 'integer' or new.discount_total not between 0 and 1000000000000
    or typeof(new.net_total) <> 'integer' or new.net_total not between 0 and 1000000000000
    or typeof(new.tax_total) <> 'integer' or new.tax_total not between 0 and 1000000000000
    or typeof(new.total) <> 'integer' or new.total not between 0 and 1000000000000
    or typeof(new.paid) <> 'integer' or new.paid not between 0 and 1000000000000
    or typeof(new.change_given) <> 'integer' or new.change_given not between 0 and 1000000000000
    or typeof(new.commission) <> 'integer' or new.commission not between 0 and 1000000000000
    or typeof(new.returns_count) <> 'integer' or new.returns_count not between 0 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: sales');
end;

create trigger sales_bounds_update before update on sales
when typeof(new.subtotal) <> 'integer' or new.subtotal not between 0 and 1000000000000
    or typeof(new.discount_total) <> 'integer' or new.discount_total not between 0 and 1000000000000
    or typeof(new.net_total) <> 'integer' or new.net_total not between 0 and 1000000000000
    or typeof(new.tax_total) <> 'integer' or new.tax_total not between 0 and 1000000000000
    or typeof(new.total) <> 'integer' or new.total not between 0 and 1000000000000
    or typeof(new.paid) <> 'integer' or new.paid not between 0 and 1000000000000
    or typeof(new.change_given) <> 'integer' or new.change_given not between 0 and 1000000000000
    or typeof(new.commission) <> 'integer' or new.commission not between 0 and 1000000000000
    or typeof(new.returns_count) <> 'integer' or new.returns_count not between 0 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: sales');
end;

create trigger sale_lines_bounds_insert before insert on sale_lines
when typeof(new.quantity) <> 'integer' or new.quantity not between 1 and 1000000
    or typeof(new.unit_price) <> 'integer' or new.unit_price not between 0 and 1000000000000
    or typeof(new.discount) <> 'integer' or new.discount not between 0 and 1000000000000
    or typeof(new.net) <> 'integer' or new.net not between 0 and 1000000000000
    or typeof(new.tax) <> 'integer' or new.tax not between 0 and 1000000000000
    or typeof(new.total) <> 'integer' or new.total not between 0 and 1000000000000
    or typeof(new.tax_rate_bp) <> 'integer' or new.tax_rate_bp not between 0 and 10000
    or typeof(new.returned_quantity) <> 'integer' or new.returned_quantity not between 0 and 1000000
    or typeof(new.refunded) <> 'integer' or new.refunded not between 0 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: sale_lines');
end;

create trigger sale_lines_bounds_update before update on sale_lines
when typeof(new.quantity) <> 'integer' or new.quantity not between 1 and 1000000
    or typeof(new.unit_price) <> 'integer' or new.unit_price not between 0 and 1000000000000
    or typeof(new.discount) <> 'integer' or new.discount not between 0 and 1000000000000
    or typeof(new.net) <> 'integer' or new.net not between 0 and 1000000000000
    or typeof(new.tax) <> 'integer' or new.tax not between 0 and 1000000000000
    or typeof(new.total) <> 'integer' or new.total not between 0 and 1000000000000
    or typeof(new.tax_rate_bp) <> 'integer' or new.tax_rate_bp not between 0 and 10000
    or typeof(new.returned_quantity) <> 'integer' or new.returned_quantity not between 0 and 1000000
    or typeof(new.refunded) <> 'integer' or new.refunded not between 0 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: sale_lines');
end;

create trigger sale_payments_bounds_insert before insert on sale_payments
when typeof(new.amount) <> 'integer' or new.amount not between 1 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: sale_payments');
end;

create trigger sale_payments_bounds_update before update on sale_payments
when typeof(new.amount) <> 'integer' or new.amount not between 1 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: sale_payments');
end;

create trigger returns_bounds_insert before insert on returns
when typeof(new.total) <> 'integer' or new.total not between 0 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: returns');
end;

create trigger returns_bounds_update before update on returns
when typeof(new.total) <> 'integer' or new.total not between 0 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: returns');
end;

create trigger return_lines_bounds_insert before insert on return_lines
when typeof(new.quantity) <> 'integer' or new.quantity not between 1 and 1000000
    or typeof(new.refund) <> 'integer' or new.refund not between 0 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: return_lines');
end;

create trigger return_lines_bounds_update before update on return_lines
when typeof(new.quantity) <> 'integer' or new.quantity not between 1 and 1000000
    or typeof(new.refund) <> 'integer' or new.refund not between 0 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: return_lines');
end;

create trigger return_refunds_bounds_insert before insert on return_refunds
when typeof(new.amount) <> 'integer' or new.amount not between 1 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: return_refunds');
end;

create trigger return_refunds_bounds_update before update on return_refunds
when typeof(new.amount) <> 'integer' or new.amount not between 1 and 1000000000000
begin
    select raise(abort, 'ringup-bounds: return_refunds');
end;
