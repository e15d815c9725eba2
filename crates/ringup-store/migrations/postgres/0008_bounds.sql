-- Range guards on every money, quantity and rate column (API.md "Conventions": amounts
-- 0..=10^12 minor units, quantities 1..=10^6, stock levels within 10^9 units). The API refuses
-- out-of-range input and totals before they reach the database; these constraints refuse
-- whatever slips past. They are added NOT VALID, so a database that already holds a bad row
-- still migrates; `ringup check` lists such rows (ringup-store/src/bounds.rs holds the same
-- ranges) and docs/OPERATIONS.md says how to repair them. A refusal is a check violation of
-- `<table>_<column>_range`, which the store maps to a 422, never a 500.

alter table users add constraint users_commission_rate_bp_range check (commission_rate_bp between 0 and 10000) not valid;

alter table tax_classes add constraint tax_classes_rate_bp_range check (rate_bp between 0 and 10000) not valid;

alter table products add constraint products_price_range check (price between 0 and 1000000000000) not valid;
alter table products add constraint products_cost_range check (cost between 0 and 1000000000000) not valid;
alter table products add constraint products_low_stock_threshold_range check (low_stock_threshold between 0 and 1000000000) not valid;

alter table stock_levels add constraint stock_levels_on_hand_range check (on_hand between -1000000000 and 1000000000) not valid;

alter table stock_movements add constraint stock_movements_delta_range check (delta between -2000000000 and 2000000000) not valid;

alter table transfer_lines add constraint transfer_lines_quantity_range check (quantity between 1 and 1000000) not valid;

alter table reservation_lines add constraint reservation_lines_quantity_range check (quantity between 1 and 1000000) not valid;

alter table reservation_items add constraint reservation_items_quantity_range check (quantity between 1 and 1000000) not valid;

alter table shifts add constraint shifts_opening_float_range check (opening_float between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_sales_count_range check (sales_count between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_gross_range check (gross between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_discounts_range check (discounts between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_tax_range check (tax between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_net_range check (net between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_total_range check (total between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_tender_cash_range check (tender_cash between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_tender_card_range check (tender_card between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_tender_mobile_money_range check (tender_mobile_money between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_tender_voucher_range check (tender_voucher between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_tender_other_range check (tender_other between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_change_given_range check (change_given between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_voids_count_range check (voids_count between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_voids_total_range check (voids_total between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_returns_count_range check (returns_count between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_returns_total_range check (returns_total between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_refund_cash_range check (refund_cash between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_refund_card_range check (refund_card between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_refund_mobile_money_range check (refund_mobile_money between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_refund_voucher_range check (refund_voucher between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_refund_other_range check (refund_other between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_paid_in_range check (paid_in between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_paid_out_range check (paid_out between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_counted_cash_range check (counted_cash between 0 and 1000000000000) not valid;
alter table shifts add constraint shifts_expected_cash_range check (expected_cash between -4000000000000 and 4000000000000) not valid;
alter table shifts add constraint shifts_over_short_range check (over_short between -4000000000000 and 4000000000000) not valid;

alter table shift_cash_movements add constraint shift_cash_movements_amount_range check (amount between 1 and 1000000000000) not valid;

alter table sales add constraint sales_subtotal_range check (subtotal between 0 and 1000000000000) not valid;
alter table sales add constraint sales_discount_total_range check (discount_total between 0 and 1000000000000) not valid;
alter table sales add constraint sales_net_total_range check (net_total between 0 and 1000000000000) not valid;
alter table sales add constraint sales_tax_total_range check (tax_total between 0 and 1000000000000) not valid;
alter table sales add constraint sales_total_range check (total between 0 and 1000000000000) not valid;
alter table sales add constraint sales_paid_range check (paid between 0 and 1000000000000) not valid;
alter table sales add constraint sales_change_given_range check (change_given between 0 and 1000000000000) not valid;
alter table sales add constraint sales_commission_range check (commission between 0 and 1000000000000) not valid;
alter table sales add constraint sales_returns_count_range check (returns_count between 0 and 1000000000000) not valid;

alter table sale_lines add constraint sale_lines_quantity_range check (quantity between 1 and 1000000) not valid;
alter table sale_lines add constraint sale_lines_unit_price_range check (unit_price between 0 and 1000000000000) not valid;
alter table sale_lines add constraint sale_lines_discount_range check (discount between 0 and 1000000000000) not valid;
alter table sale_lines add constraint sale_lines_net_range check (net between 0 and 1000000000000) not valid;
alter table sale_lines add constraint sale_lines_tax_range check (tax between 0 and 1000000000000) not valid;
alter table sale_lines add constraint sale_lines_total_range check (total between 0 and 1000000000000) not valid;
alter table sale_lines add constraint sale_lines_tax_rate_bp_range check (tax_rate_bp between 0 and 10000) not valid;
alter table sale_lines add constraint sale_lines_returned_quantity_range check (returned_quantity between 0 and 1000000) not valid;
alter table sale_lines add constraint sale_lines_refunded_range check (refunded between 0 and 1000000000000) not valid;

alter table sale_payments add constraint sale_payments_amount_range check (amount between 1 and 1000000000000) not valid;

alter table returns add constraint returns_total_range check (total between 0 and 1000000000000) not valid;

alter table return_lines add constraint return_lines_quantity_range check (quantity between 1 and 1000000) not valid;
alter table return_lines add constraint return_lines_refund_range check (refund between 0 and 1000000000000) not valid;

alter table return_refunds add constraint return_refunds_amount_range check (amount between 1 and 1000000000000) not valid;
