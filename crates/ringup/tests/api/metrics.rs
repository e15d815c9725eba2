//! `/metrics` after a realistic mix of traffic: sales, a void and a return in two stores,
//! failed logins up to a lockout, a login over the per-address limit, an API key over its
//! quota, a password-reset mail, a 404 on a random path and a made-up method. Every label
//! value must come from a closed set (no id, username, address or raw path), and the
//! business figures must be the ones made.
//!
//! The Prometheus recorder is shared by every app of the test process, so the stores here
//! have codes no other test uses (their series are this test's alone), and process-wide
//! counters are compared as increases from a scrape taken before the traffic.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use reqwest::Method;
use ringup_core::ids::StoreId;
use ringup_testkit::{TestApp, json_of, spawn_app_with};
use serde_json::{Value, json};

use crate::checkout_support::{
    Shop, expect, int, line, pay, register_in, return_body, sale_body, shop,
};

/// One sample: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of a Prometheus text exposition (comments skipped).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| parse_line(l).unwrap_or_else(|| panic!("not a sample line: {l}")))
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let (name, mut rest) = match line.find(['{', ' ']) {
        Some(at) => line.split_at(at),
        None => return None,
    };
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let mut end = None;
        while let Some((at, c)) = chars.next() {
            if c == '}' {
                end = Some(at);
                break;
            }
            if c == ',' {
                continue;
            }
            let key_start = at;
            let mut key_end = at;
            for (at, c) in chars.by_ref() {
                if c == '=' {
                    key_end = at;
                    break;
                }
            }
            let key = inner[key_start..key_end].to_owned();
            assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
            let mut value = String::new();
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.insert(key, value);
        }
        rest = &inner[end? + 1..];
    }
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// The value of the sample `name` whose labels include `labels`, if there is one.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
        .map(|s| s.value)
}

/// `value`, or 0 for a series not exported yet (a counter nothing incremented).
fn count(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    value(samples, name, labels).unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> (String, Vec<Sample>) {
    let response = app.get("/metrics").await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

/// Label names a metric may use. A new one must be added here, after checking that its
/// values form a closed set.
const LABELS: [&str; 12] = [
    "method",
    "route",
    "status",
    "store",
    "limit",
    "result",
    "operation",
    "outcome",
    "pool",
    "state",
    "le",
    "quantile",
];

fn looks_like_uuid(value: &str) -> bool {
    let hex_run = value
        .split(|c: char| !c.is_ascii_hexdigit())
        .any(|run| run.len() >= 12 && run.bytes().any(|b| b.is_ascii_digit()));
    let dashed = value
        .split('-')
        .map(str::len)
        .collect::<Vec<_>>()
        .windows(5)
        .any(|w| w == [8, 4, 4, 4, 12]);
    hex_run || dashed
}

fn number_heavy(value: &str) -> bool {
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let longest_run = value
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    longest_run >= 5 || (value.len() >= 6 && digits * 2 >= value.len())
}

fn looks_like_ip(value: &str) -> bool {
    value.parse::<IpAddr>().is_ok()
        || value
            .split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
            .any(|part| part.parse::<IpAddr>().is_ok() && part.len() >= 3)
}

/// Every label value that breaks the cardinality rules, with why.
fn offences(samples: &[Sample], routes: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    for s in samples {
        for (key, value) in &s.labels {
            let mut flag =
                |why: &str| found.push(format!("{}{{{key}=\"{value}\"}}: {why}", s.name));
            if !LABELS.contains(&key.as_str()) {
                flag("a label name nobody checked");
            }
            if key == "le" || key == "quantile" {
                continue;
            }
            if looks_like_uuid(value) {
                flag("looks like an id");
            }
            if looks_like_ip(value) {
                flag("looks like an address");
            }
            match key.as_str() {
                // Store codes are 2–8 upper-case letters and digits (docs/API.md).
                "store" => {
                    let code = (2..=8).contains(&value.len())
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                    if !code {
                        flag("not a store code");
                    }
                }
                "route" => {
                    // The document lists neither itself nor the docs UI; probes are the test
                    // kit's.
                    let known = routes.contains(value)
                        || ["unmatched", "/api/v1/openapi.json"].contains(&value.as_str())
                        || value.starts_with("/__test/")
                        || value.starts_with("/docs");
                    if !known {
                        flag("not a route template");
                    }
                }
                "status" => {
                    if !(value.len() == 3 && value.bytes().all(|b| b.is_ascii_digit())) {
                        flag("not a status code");
                    }
                }
                _ => {
                    if value.contains('/') {
                        flag("a path outside `route`");
                    }
                    if number_heavy(value) {
                        flag("mostly digits");
                    }
                }
            }
        }
    }
    found
}

#[test]
fn the_offence_rules_catch_ids_addresses_paths_and_digits() {
    let routes = BTreeSet::from(["/api/v1/sales/{id}".to_owned()]);
    let offends = |key: &str, value: &str| {
        let labels = BTreeMap::from([(key.to_owned(), value.to_owned())]);
        let samples = [Sample {
            name: "m".into(),
            labels,
            value: 1.0,
        }];
        !offences(&samples, &routes).is_empty()
    };
    let bad = [
        (
            "route",
            "/api/v1/sales/0193a0b8-6c1e-7c3e-9d2a-1b2c3d4e5f60",
        ),
        ("store", "0193a0b86c1e7c3e9d2a1b2c3d4e5f60"),
        ("operation", "10.0.0.7"),
        ("result", "2001:db8::1"),
        ("limit", "user-4711234"),
        ("outcome", "/etc/passwd"),
        ("username", "alice"),
    ];
    for (key, value) in bad {
        assert!(offends(key, value), "{key}={value}");
    }
    let good = [
        ("route", "/api/v1/sales/{id}"),
        ("store", "MTRA"),
        ("operation", "sale.create"),
        ("status", "404"),
        ("le", "0.0005"),
        ("limit", "login_per_ip"),
    ];
    for (key, value) in good {
        assert!(!offends(key, value), "{key}={value}");
    }
}

/// The route templates the server documents.
async fn route_templates(app: &TestApp) -> BTreeSet<String> {
    let doc = json_of(app.get("/api/v1/openapi.json").await).await;
    doc["paths"].as_object().unwrap().keys().cloned().collect()
}

/// The statuses of `times` logins with `body`, one after the other.
async fn logins(app: &TestApp, body: &Value, times: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..times {
        let response = app.post_json("/api/v1/auth/login", body).await;
        statuses.push(response.status().as_u16());
    }
    statuses
}

/// A store of the shop with `registers` registers, each with an open shift of the admin.
async fn store_with_shifts(s: &Shop, code: &str, registers: usize) -> (StoreId, Vec<Value>) {
    let (store, first) = s.other_store(code, false).await;
    let mut shifts = vec![s.open(&s.admin, &first, 0).await];
    for n in 1..registers {
        let register = register_in(s, store, &format!("Till {}", n + 1)).await;
        shifts.push(s.open(&s.admin, &register, 0).await);
    }
    (store, shifts)
}

#[tokio::test]
async fn metrics_show_the_business_figures_and_no_label_grows_with_traffic() {
    // Arrange: a second app whose login limit is tiny; its scrape (the recorder is the
    // process's) is the "before" of the process-wide counters.
    let s = shop().await;
    let tight = spawn_app_with(|raw| raw.login_rate_per_minute = "2".into()).await;
    let (_, before) = scrape(&tight).await;
    let (a_store, a_shifts) = store_with_shifts(&s, "MTRA", 1).await;
    let (b_store, b_shifts) = store_with_shifts(&s, "MTRB", 2).await;
    let (a_id, b_id) = (a_store.to_string(), b_store.to_string());
    // Threshold 5: low in MTRA once 6 of 10 are sold, low in MTRB from the start (3 units).
    let watched = s.w.product(5).await;
    let plain = s.item(250, &s.standard).await;
    s.receive(a_store, &watched, 10).await;
    s.receive(b_store, &watched, 3).await;
    s.receive(a_store, &plain.id, 20).await;
    s.receive(b_store, &plain.id, 20).await;
    let watched_line = |quantity: i64| json!({"product_id": watched, "quantity": quantity});

    // Act: three sales in MTRA (one voided), two in MTRB (one partly returned).
    let mut sold = BTreeMap::<&str, Vec<i64>>::new();
    let carts = [
        ("MTRA", &a_shifts[0], vec![watched_line(6)]),
        ("MTRA", &a_shifts[0], vec![line(&plain, 2)]),
        ("MTRA", &a_shifts[0], vec![line(&plain, 1), watched_line(1)]),
        ("MTRB", &b_shifts[0], vec![line(&plain, 3)]),
        ("MTRB", &b_shifts[1], vec![line(&plain, 1)]),
    ];
    let mut sales = Vec::new();
    for (code, shift, lines) in carts {
        let sale = s
            .sell(
                &s.admin,
                &sale_body(shift, lines, vec![pay("cash", 10_000)]),
            )
            .await;
        sold.entry(code).or_default().push(int(&sale, "total"));
        sales.push(sale);
    }
    let voided = expect(s.void(&s.admin, &sales[1], "wrong item").await, 200).await;
    // The whole line comes back, so the refund due is the line's total; a wrong refund is
    // refused first (an operation that ends `refused`).
    let returned = &sales[3];
    let sale_line = &returned["lines"][0];
    let due = int(sale_line, "total");
    let refund_body =
        |amount| return_body(returned, &[(sale_line, 3, true)], vec![pay("cash", amount)]);
    let refused = s.try_return(&s.admin, &refund_body(due - 1), None).await;
    assert_eq!(refused.status().as_u16(), 422);
    let taken = s.give_back(&s.admin, &refund_body(due)).await;

    // Failed logins of one made-up username up to its lockout, then one more: refused 429.
    let ghost = format!(
        "ghost-{}",
        ringup_core::ids::ProductId::new()
            .to_string()
            .get(24..)
            .unwrap()
    );
    let wrong = json!({"username": ghost, "password": "Wrong-Password-1!"});
    assert_eq!(
        logins(&s.app, &wrong, 6).await,
        [401, 401, 401, 401, 401, 429]
    );
    // The tight app's per-address login limit (2 a minute).
    let nobody = json!({"username": "nobody", "password": "x"});
    assert_eq!(logins(&tight, &nobody, 3).await, [401, 401, 429]);
    // A free API key (burst 10) spent.
    let key_body =
        json!({"name": "metrics probe", "tier": "free", "role": "manager", "store_ids": [a_id]});
    let issued = expect(
        s.app
            .authed(Method::POST, "/api/v1/api-keys", &s.admin)
            .json(&key_body)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let api_key = issued["key"].as_str().unwrap().to_owned();
    let mut last = 0;
    for _ in 0..11 {
        last = s
            .app
            .authed(Method::GET, "/api/v1/me", &api_key)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
    }
    assert_eq!(last, 429);
    // A password-reset mail (written to the data directory's mail folder).
    let cashier = s.staff("cashier").await;
    let reset = json!({"email": format!("{}@example.com", cashier.username)});
    assert_eq!(
        s.app
            .post_json("/api/v1/auth/password-reset/request", &reset)
            .await
            .status()
            .as_u16(),
        202
    );
    // A 404 on a random path, and a method nobody defined.
    let random = format!("/nope/{}", ringup_core::ids::ProductId::new());
    assert_eq!(s.app.get(&random).await.status().as_u16(), 404);
    let brew = Method::from_bytes(b"BREW").unwrap();
    let odd = s
        .app
        .client
        .request(brew, s.app.url("/api/v1/sales"))
        .send()
        .await
        .unwrap();
    assert!(odd.status().is_client_error());
    s.app.clock.advance(chrono::Duration::seconds(90));
    // The mail is sent by a task of its own: wait for it to be counted.
    let mail = |samples: &[Sample]| {
        count(
            samples,
            "ringup_mail_deliveries_total",
            &[("result", "sent")],
        )
    };
    let mut after = scrape(&s.app).await;
    for _ in 0..50 {
        if mail(&after.1) > mail(&before) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = scrape(&s.app).await;
    }
    let (text, after) = after;

    // Assert: the business figures, per store.
    let per_store = |name: &str, code: &str| value(&after, name, &[("store", code)]);
    let total = |code: &str| sold[code].iter().sum::<i64>() as f64;
    assert_eq!(per_store("ringup_sales_total", "MTRA"), Some(3.0), "{text}");
    assert_eq!(per_store("ringup_sales_total", "MTRB"), Some(2.0));
    assert_eq!(
        per_store("ringup_sales_amount_total", "MTRA"),
        Some(total("MTRA"))
    );
    assert_eq!(
        per_store("ringup_sales_amount_total", "MTRB"),
        Some(total("MTRB"))
    );
    assert_eq!(per_store("ringup_voids_total", "MTRA"), Some(1.0));
    assert_eq!(
        per_store("ringup_voids_amount_total", "MTRA"),
        Some(int(&voided, "total") as f64)
    );
    assert_eq!(
        per_store("ringup_voids_total", "MTRB"),
        None,
        "no void in MTRB"
    );
    assert_eq!(per_store("ringup_returns_total", "MTRB"), Some(1.0));
    assert_eq!(
        per_store("ringup_returns_amount_total", "MTRB"),
        Some(int(&taken, "total") as f64)
    );
    assert_eq!(int(&taken, "total"), due);
    assert_eq!(per_store("ringup_open_shifts", "MTRA"), Some(1.0));
    assert_eq!(per_store("ringup_open_shifts", "MTRB"), Some(2.0));
    assert_eq!(
        per_store("ringup_low_stock_products", "MTRA"),
        Some(1.0),
        "3 of 10 left, threshold 5"
    );
    assert_eq!(
        per_store("ringup_low_stock_products", "MTRB"),
        Some(1.0),
        "3 units, threshold 5"
    );

    // The process-wide counters rose by at least what this test did.
    let rose = |name: &str, labels: &[(&str, &str)]| {
        count(&after, name, labels) - count(&before, name, labels)
    };
    assert!(rose("ringup_login_failures_total", &[]) >= 5.0, "{text}");
    for limit in ["login_lockout", "login_per_ip", "api_key"] {
        assert!(
            rose("ringup_rate_limited_total", &[("limit", limit)]) >= 1.0,
            "{limit}: {text}"
        );
    }
    assert!(
        rose("ringup_mail_deliveries_total", &[("result", "sent")]) >= 1.0,
        "{text}"
    );
    assert!(
        rose(
            "ringup_db_operation_seconds_count",
            &[("operation", "sale.create"), ("outcome", "ok")]
        ) >= 5.0
    );
    assert!(
        rose(
            "ringup_db_operation_seconds_count",
            &[("operation", "return.create"), ("outcome", "refused")]
        ) >= 1.0
    );
    assert!(
        rose(
            "http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ) >= 1.0
    );
    assert!(
        rose("http_requests_total", &[("method", "other")]) >= 1.0,
        "{text}"
    );

    // The database's outbox backlog as the store layer reads it (the gauge is the process's,
    // so another app's scrape may have set it last): the relay positions every committed
    // event within moments, so it drains to nothing; and the gauges are exported.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let backlog = loop {
        let backlog = ringup_store::platform::outbox::backlog(&s.app.db)
            .await
            .unwrap();
        if backlog.pending == 0 || std::time::Instant::now() > deadline {
            break backlog;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(backlog.pending, 0, "the relay left events: {backlog:?}");
    assert_eq!(backlog.oldest, None);
    let relayed = ringup_store::events::last_position(&s.app.db)
        .await
        .unwrap();
    assert!(
        relayed >= 8,
        "5 sales, a void, a return, stock events: {relayed}"
    );
    for gauge in [
        "ringup_outbox_backlog",
        "ringup_outbox_oldest_age_seconds",
        "ringup_ready",
        "ringup_data_dir_free_bytes",
        "ringup_data_dir_size_bytes",
    ] {
        assert!(
            value(&after, gauge, &[]).is_some(),
            "{gauge} missing: {text}"
        );
    }
    let size = value(&after, "ringup_data_dir_size_bytes", &[]).unwrap();
    let free = value(&after, "ringup_data_dir_free_bytes", &[]).unwrap();
    assert!(
        size > 0.0 && (0.0..=size).contains(&free),
        "free {free} of {size}"
    );

    // Every metric served is documented.
    let documented = operations_doc();
    let undocumented: BTreeSet<_> = after
        .iter()
        .map(|s| family(&s.name))
        .filter(|name| !documented.contains(&format!("`{name}`")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "not in docs/OPERATIONS.md: {undocumented:?}"
    );

    // And no label can grow with traffic.
    let routes = route_templates(&s.app).await;
    assert_eq!(offences(&after, &routes), Vec::<String>::new());
    let secrets = [&a_id, &b_id, &ghost, &cashier.username, &random];
    for secret in secrets.iter().map(|s| s.as_str()).chain(["127.0.0.1"]) {
        assert!(!text.contains(secret), "{secret} leaked into /metrics");
    }
}

/// The metric a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` are its own.
fn family(sample: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| sample.strip_suffix(suffix))
        .unwrap_or(sample)
}

fn repository_file(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn operations_doc() -> String {
    repository_file("docs/OPERATIONS.md")
}

/// The metric names a PromQL text mentions (ours: `ringup_`, `http_`, `db_`).
fn metrics_in(promql: &str) -> BTreeSet<String> {
    promql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| ["ringup_", "http_", "db_"].iter().any(|p| w.starts_with(p)))
        .map(|w| family(w).to_owned())
        .collect()
}

#[test]
fn the_dashboard_and_the_alert_rules_use_only_documented_metrics() {
    // Arrange
    let documented = operations_doc();
    let dashboard: Value = serde_json::from_str(&repository_file("deploy/grafana/ringup.json"))
        .expect("deploy/grafana/ringup.json is well-formed JSON");
    let alerts = repository_file("deploy/prometheus/alerts.yml");

    // Act
    let mut used = metrics_in(&alerts);
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            used.extend(metrics_in(target["expr"].as_str().expect("expr")));
        }
    }

    // Assert
    assert!(
        used.contains("ringup_sales_total") && used.contains("ringup_outbox_oldest_age_seconds")
    );
    let missing: Vec<_> = used
        .iter()
        .filter(|name| !documented.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "not in docs/OPERATIONS.md: {missing:?}");
}
