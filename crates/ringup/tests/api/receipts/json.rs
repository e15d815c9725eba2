//! The JSON receipt: served without `Accept`, for `*/*`, `application/json` and a browser's
//! `Accept`, one and the same body carrying the sale's values and the printed text.

use ringup_testkit::TestApp;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{
    BREAD, CUSTOMER, Fixture, MILK, NAIROBI_MINUTES, OIL, STORE_NAME, fixture, json_receipt,
    local_date, receipt_path, text_receipt,
};
use crate::checkout_support::{CODE, int, number};

/// A GET without any `Accept` header (reqwest always sends `Accept: */*`), as a bare
/// HTTP/1.1 request: `(status, content type, body)`.
async fn get_without_accept(app: &TestApp, path: &str, token: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n",
        app.port
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers: {}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert!(
        find("content-encoding").is_none(),
        "no encoding was offered: {head}"
    );
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(body)
    } else {
        body.to_vec()
    };
    let content_type = find("content-type").unwrap_or_default();
    (status, content_type, String::from_utf8(body).unwrap())
}

/// A `Transfer-Encoding: chunked` body, joined.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_line = std::str::from_utf8(&raw[..end]).unwrap();
        let size_hex = size_line.split(';').next().unwrap().trim();
        let size = usize::from_str_radix(size_hex, 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = end + 2;
        out.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
}

/// `fields` of every entry of `value[key]`.
fn project(value: &Value, key: &str, fields: &[&str]) -> Vec<Value> {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is not an array: {value}"))
        .iter()
        .map(|entry| {
            let object = fields
                .iter()
                .map(|f| {
                    (
                        (*f).to_owned(),
                        entry.get(*f).cloned().unwrap_or(Value::Null),
                    )
                })
                .collect();
            Value::Object(object)
        })
        .collect()
}

fn sorted(mut entries: Vec<Value>) -> Vec<Value> {
    entries.sort_by_key(|e| e.to_string());
    entries
}

#[tokio::test]
async fn the_json_receipt_shows_the_sale_and_its_printed_text_whatever_accepts_json() {
    // Arrange
    let Fixture { s, cashier, sale } = fixture().await;
    let path = receipt_path(&sale);

    // Act
    let (status, content_type, bare) = get_without_accept(&s.app, &path, &cashier.token).await;
    let any = json_receipt(&s.app, &cashier.token, &sale, "*/*").await;
    let explicit = json_receipt(&s.app, &cashier.token, &sale, "application/json").await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let browsing = json_receipt(&s.app, &cashier.token, &sale, browser).await;
    let text = text_receipt(&s.app, &cashier.token, &sale).await;
    let by_admin = json_receipt(&s.app, &s.admin, &sale, "application/json").await;

    // Assert
    assert_eq!(status, 200, "no Accept: {bare}");
    assert_eq!(content_type, "application/json", "no Accept");
    let receipt: Value = serde_json::from_str(&bare).unwrap();
    for other in [&any, &explicit, &browsing, &by_admin] {
        assert_eq!(other, &receipt, "one receipt whatever accepts JSON");
    }
    assert_eq!(receipt["number"], number(CODE, 1));
    assert_eq!(receipt["number"], sale["number"]);
    assert_eq!(receipt["store_code"], CODE);
    assert_eq!(receipt["store_name"], STORE_NAME);
    assert_eq!(receipt["cashier"], cashier.username.as_str());
    assert_eq!(receipt["currency"], "KES");
    assert_eq!(receipt["customer"], CUSTOMER);
    assert_eq!(receipt["date"], local_date(&sale, NAIROBI_MINUTES));
    let line_fields = ["name", "sku", "quantity", "unit_price", "discount", "total"];
    assert_eq!(
        project(&receipt, "lines", &line_fields),
        project(&sale, "lines", &line_fields),
        "{receipt}"
    );
    let names: Vec<&str> = receipt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [OIL, MILK, BREAD]);
    assert_eq!(
        receipt["lines"][1],
        json!({"name": MILK, "sku": "MILK-500", "quantity": 3, "unit_price": 6_500,
            "discount": 2_065, "total": 17_435}),
        "line discount 1,950 plus 115 of the cart's"
    );
    for field in [
        "subtotal",
        "discount_total",
        "tax_total",
        "total",
        "paid",
        "change",
    ] {
        assert_eq!(receipt[field], sale[field], "{field}: {receipt}");
    }
    assert_eq!(
        [
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "paid",
            "change"
        ]
        .map(|f| int(&receipt, f)),
        [153_956, 2_950, 19_714, 151_006, 160_000, 8_994]
    );
    let tax_fields = ["rate_bp", "net", "tax"];
    assert_eq!(
        sorted(project(&receipt, "tax_breakdown", &tax_fields)),
        sorted(project(&sale, "tax_breakdown", &tax_fields)),
        "{receipt}"
    );
    assert_eq!(
        sorted(project(&receipt, "tax_breakdown", &tax_fields)),
        sorted(vec![
            json!({"rate_bp": 1600, "net": 115_148, "tax": 18_423}),
            json!({"rate_bp": 800, "net": 16_144, "tax": 1_291}),
        ])
    );
    let payment_fields = ["method", "amount", "reference"];
    assert_eq!(
        project(&receipt, "payments", &payment_fields),
        vec![
            json!({"method": "mobile_money", "amount": 50_000, "reference": "QK12AB34CD"}),
            json!({"method": "card", "amount": 20_000, "reference": "VISA-4242"}),
            json!({"method": "cash", "amount": 90_000, "reference": null}),
        ]
    );
    assert_eq!(
        project(&receipt, "payments", &payment_fields),
        project(&sale, "payments", &payment_fields)
    );
    assert_eq!(receipt["voided"], false);
    assert_eq!(
        receipt["text"],
        text.as_str(),
        "`text` is the text/plain body"
    );
}
