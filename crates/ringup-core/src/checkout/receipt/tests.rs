//! Golden output, layout cases and width properties of the text receipt.

use super::*;
use proptest::prelude::*;

/// A KES sale, prices incl. VAT: a 16% item, a 16% item with a 10% discount and a long
/// name, a zero-rated item; cash and mobile money, change due.
fn sample() -> Receipt {
    Receipt {
        store_name: "Duka Moja Supermarket".into(),
        store_code: "NRB1".into(),
        number: "NRB1-000042".into(),
        date: "2026-11-25 14:03".into(),
        cashier: "Amina Odhiambo".into(),
        currency: "KES".into(),
        decimals: 2,
        lines: vec![
            ReceiptLine {
                name: "Cooking Oil 5L".into(),
                sku: "OIL-5L".into(),
                quantity: 1,
                unit_price: 125_000,
                discount: 0,
                total: 125_000,
            },
            ReceiptLine {
                name: "Fresh Milk Long Life UHT Full Cream 500ml Tetra Pak".into(),
                sku: "MILK-500".into(),
                quantity: 3,
                unit_price: 6_500,
                discount: 1_950,
                total: 17_550,
            },
            ReceiptLine {
                name: "Bread".into(),
                sku: "BRD-400".into(),
                quantity: 2,
                unit_price: 6_000,
                discount: 0,
                total: 12_000,
            },
        ],
        subtotal: 156_500,
        discount_total: 1_950,
        tax_total: 19_662,
        total: 154_550,
        prices_include_tax: true,
        tax_breakdown: vec![
            ReceiptTax {
                rate_bp: 1600,
                net: 122_888,
                tax: 19_662,
            },
            ReceiptTax {
                rate_bp: 0,
                net: 12_000,
                tax: 0,
            },
        ],
        payments: vec![
            ReceiptPayment {
                method: "cash".into(),
                amount: 100_000,
                reference: None,
            },
            ReceiptPayment {
                method: "mobile_money".into(),
                amount: 60_000,
                reference: Some("QK12AB34CD".into()),
            },
        ],
        paid: 160_000,
        change: 5_450,
        voided: false,
        customer: Some("Peter Kamau".into()),
    }
}

/// The golden receipt, one entry per printed line.
const SAMPLE_LINES: &[&str] = &[
    "          Duka Moja Supermarket",
    "                Store NRB1",
    "",
    "Receipt:  NRB1-000042",
    "Date:     2026-11-25 14:03",
    "Cashier:  Amina Odhiambo",
    "Customer: Peter Kamau",
    "==========================================",
    "Cooking Oil 5L",
    "  1 x 1,250.00                    1,250.00",
    "Fresh Milk Long Life UHT Full Cream 500ml",
    "Tetra Pak",
    "  3 x 65.00                         175.50",
    "  Discount                          -19.50",
    "Bread",
    "  2 x 60.00                         120.00",
    "------------------------------------------",
    "Subtotal                          1,565.00",
    "Discount                            -19.50",
    "Incl. VAT                           196.62",
    "TOTAL KES                         1,545.50",
    "------------------------------------------",
    "VAT 16.00%     net 1,228.88     tax 196.62",
    "VAT 0.00%        net 120.00       tax 0.00",
    "------------------------------------------",
    "Cash                              1,000.00",
    "Mobile money                        600.00",
    "  Ref QK12AB34CD",
    "Paid                              1,600.00",
    "Change                               54.50",
    "==========================================",
    "      Thank you for shopping with us",
];

fn assert_fits(text: &str) {
    assert!(text.ends_with('\n'), "text must end with a newline");
    for line in text.lines() {
        assert!(
            line.chars().count() <= WIDTH,
            "line wider than {WIDTH} columns ({}): {line:?}",
            line.chars().count()
        );
        assert_eq!(line, line.trim_end(), "trailing spaces: {line:?}");
    }
}

#[test]
fn formats_amounts_with_grouping_and_decimals() {
    let cases: &[(i64, u32, &str)] = &[
        (123_456, 2, "1,234.56"),
        (-123_456, 2, "-1,234.56"),
        (0, 2, "0.00"),
        (5, 2, "0.05"),
        (-5, 2, "-0.05"),
        (99, 2, "0.99"),
        (100, 2, "1.00"),
        (100_000, 2, "1,000.00"),
        (1_235, 0, "1,235"),
        (-1_235, 0, "-1,235"),
        (999, 0, "999"),
        (1_000, 0, "1,000"),
        (0, 0, "0"),
        (1_234_567, 3, "1,234.567"),
        (1, 4, "0.0001"),
        (12_345_678, 1, "1,234,567.8"),
        (i64::MAX, 2, "92,233,720,368,547,758.07"),
        (i64::MIN, 2, "-92,233,720,368,547,758.08"),
        (i64::MIN, 0, "-9,223,372,036,854,775,808"),
        (i64::MIN, 19, "-0.9223372036854775808"),
        (1, 21, "0.000000000000000000001"),
    ];
    for &(minor, decimals, expected) in cases {
        assert_eq!(
            format_amount(minor, decimals),
            expected,
            "{minor} with {decimals}"
        );
    }
}

#[test]
fn deductions_never_overflow() {
    assert_eq!(format_deduction(650, 2), "-6.50");
    assert_eq!(format_deduction(0, 2), "0.00");
    assert_eq!(format_deduction(-650, 2), "6.50");
    assert_eq!(format_deduction(i64::MIN, 0), "9,223,372,036,854,775,808");
}

#[test]
fn renders_the_sample_exactly() {
    let text = render_text(&sample());
    let expected = SAMPLE_LINES.join("\n") + "\n";
    assert_eq!(text, expected, "\n{text}");
    assert_fits(&text);
    assert_eq!(render_lines(&sample()).join("\n") + "\n", text);
}

#[test]
fn wraps_long_names_on_words_and_breaks_overlong_words() {
    let mut receipt = sample();
    receipt.lines.truncate(1);
    receipt.lines[0].name = "Extra Virgin Olive Oil Cold Pressed Imported From Kalamata \
         Greece 750ml Glass Bottle SUPERCALIFRAGILISTICEXPIALIDOCIOUSANDEVENLONGERWORDTHANTHAT \
         end"
    .into();
    let text = render_text(&receipt);
    assert_fits(&text);
    let expected = [
        "==========================================",
        "Extra Virgin Olive Oil Cold Pressed",
        "Imported From Kalamata Greece 750ml Glass",
        "Bottle",
        "SUPERCALIFRAGILISTICEXPIALIDOCIOUSANDEVENL",
        "ONGERWORDTHANTHAT end",
        "  1 x 1,250.00                    1,250.00",
        "------------------------------------------",
    ]
    .join("\n");
    assert!(text.contains(&expected), "\n{text}");
}

#[test]
fn zero_decimal_currency_prints_whole_units() {
    let mut receipt = sample();
    receipt.currency = "UGX".into();
    receipt.decimals = 0;
    receipt.lines = vec![ReceiptLine {
        name: "Matooke bunch".into(),
        sku: "MTK".into(),
        quantity: 2,
        unit_price: 12_500,
        discount: 1_000,
        total: 24_000,
    }];
    receipt.subtotal = 25_000;
    receipt.discount_total = 1_000;
    receipt.tax_total = 0;
    receipt.total = 24_000;
    receipt.tax_breakdown = vec![ReceiptTax {
        rate_bp: 0,
        net: 24_000,
        tax: 0,
    }];
    receipt.payments = vec![ReceiptPayment {
        method: "cash".into(),
        amount: 30_000,
        reference: None,
    }];
    receipt.paid = 30_000;
    receipt.change = 6_000;
    let text = render_text(&receipt);
    assert_fits(&text);
    for row in [
        "  2 x 12,500                        24,000",
        "  Discount                          -1,000",
        "Subtotal                            25,000",
        "TOTAL UGX                           24,000",
        "VAT 0.00%        net 24,000          tax 0",
        "Cash                                30,000",
        "Change                               6,000",
    ] {
        assert!(text.lines().any(|l| l == row), "missing {row:?} in\n{text}");
    }
    assert!(!text.contains("Paid"), "one tender: no Paid row\n{text}");
}

#[test]
fn voided_receipt_carries_the_banner_twice() {
    let mut receipt = sample();
    receipt.voided = true;
    let text = render_text(&receipt);
    assert_fits(&text);
    let banner = [
        "******************************************",
        "               *** VOID ***",
        "        This sale has been voided",
        "******************************************",
    ]
    .join("\n");
    assert_eq!(text.matches(banner.as_str()).count(), 2, "\n{text}");
    assert!(
        text.find(banner.as_str()) < text.find("Cooking Oil"),
        "banner before the lines"
    );
    assert!(!render_text(&sample()).contains("VOID"));
}

#[test]
fn exclusive_tax_wording_and_odd_inputs() {
    let mut receipt = sample();
    receipt.prices_include_tax = false;
    receipt.customer = None;
    receipt.lines[0].name = "Line\none\ttwo\u{1b}[2J".into();
    receipt.payments[1].method = "gift_card".into();
    receipt.tax_breakdown.push(ReceiptTax {
        rate_bp: 1600,
        net: 100,
        tax: 16,
    });
    let text = render_text(&receipt);
    assert_fits(&text);
    assert!(
        text.lines()
            .any(|l| l.starts_with("VAT ") && l.ends_with(" 196.62"))
    );
    assert!(!text.contains("Incl. VAT") && !text.contains("Customer"));
    assert!(text.contains("\nLine one two [2J\n"), "\n{text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\t'));
    assert!(text.contains("\nGift card "), "\n{text}");
    // Same rate merged into one row.
    assert!(
        text.contains("VAT 16.00%     net 1,229.88     tax 196.78"),
        "\n{text}"
    );
    assert_eq!(text.matches("VAT 16.00%").count(), 1);
}

#[test]
fn utf8_names_are_counted_in_characters() {
    let mut receipt = sample();
    receipt.lines[0].name = "Café crème brûlée — ßüß 漢字漢字漢字 ".repeat(3);
    let text = render_text(&receipt);
    assert_fits(&text);
    assert!(
        text.contains("Café crème brûlée — ßüß 漢字漢字漢字 Café"),
        "\n{text}"
    );
}

fn text_strategy(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!("\\PC{{0,{max}}}")).unwrap(),
        proptest::collection::vec("[a-zA-Z0-9éüß漢—-]{1,60}", 0..8).prop_map(|w| w.join(" ")),
        proptest::string::string_regex(&format!("[ a-z\\n\\t\\u{{1b}}]{{0,{max}}}")).unwrap(),
    ]
}

fn receipt_strategy() -> impl Strategy<Value = Receipt> {
    let line = (
        text_strategy(120),
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
    )
        .prop_map(
            |(name, quantity, unit_price, discount, total)| ReceiptLine {
                name,
                sku: "SKU-1".into(),
                quantity,
                unit_price,
                discount,
                total,
            },
        );
    let tax = (any::<i64>(), any::<i64>(), any::<i64>())
        .prop_map(|(rate_bp, net, tax)| ReceiptTax { rate_bp, net, tax });
    let payment = (
        text_strategy(20),
        any::<i64>(),
        proptest::option::of(text_strategy(60)),
    )
        .prop_map(|(method, amount, reference)| ReceiptPayment {
            method,
            amount,
            reference,
        });
    let header = (
        text_strategy(80),
        text_strategy(20),
        text_strategy(50),
        text_strategy(50),
        proptest::option::of(text_strategy(80)),
        0u32..=4,
        any::<bool>(),
        any::<bool>(),
    );
    let amounts = proptest::array::uniform6(any::<i64>());
    (
        header,
        amounts,
        proptest::collection::vec(line, 0..6),
        proptest::collection::vec(tax, 0..4),
        proptest::collection::vec(payment, 0..4),
    )
        .prop_map(
            |(
                (store_name, store_code, number, cashier, customer, decimals, incl, voided),
                [subtotal, discount_total, tax_total, total, paid, change],
                lines,
                tax_breakdown,
                payments,
            )| Receipt {
                store_name,
                store_code,
                number,
                date: "2026-11-25 14:03".into(),
                cashier,
                currency: "KES".into(),
                decimals,
                lines,
                subtotal,
                discount_total,
                tax_total,
                total,
                prices_include_tax: incl,
                tax_breakdown,
                payments,
                paid,
                change,
                voided,
                customer,
            },
        )
}

proptest! {
    #[test]
    fn every_line_fits_and_every_name_word_is_printed(receipt in receipt_strategy()) {
        let text = render_text(&receipt);
        prop_assert!(text.ends_with('\n'));
        for line in text.lines() {
            prop_assert!(line.chars().count() <= WIDTH, "too wide: {:?}", line);
        }
        for item in &receipt.lines {
            for word in item.name.split(|c: char| c.is_whitespace() || c.is_control()) {
                let chars: Vec<char> = word.chars().collect();
                // A word wider than the paper is broken every WIDTH characters.
                for piece in chars.chunks(WIDTH) {
                    let piece: String = piece.iter().collect();
                    prop_assert!(text.contains(&piece), "{:?} missing from\n{}", piece, text);
                }
            }
        }
    }

    #[test]
    fn amounts_round_trip(minor in any::<i64>(), decimals in 0u32..=6) {
        let s = format_amount(minor, decimals);
        let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
        let back: i128 = digits.parse().unwrap();
        let back = if s.starts_with('-') { -back } else { back };
        prop_assert_eq!(back, i128::from(minor));
        prop_assert_eq!(s.contains('.'), decimals > 0);
        if let Some((_, frac)) = s.split_once('.') {
            prop_assert_eq!(frac.len(), decimals as usize);
        }
    }
}
