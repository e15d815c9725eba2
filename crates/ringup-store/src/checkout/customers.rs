//! Customers: the people sales are made to, shared by every store of the chain.
//!
//! Invariants: `phone` is E.164 (the caller normalises it through
//! `ringup_core::checkout::customer::Phone`) and unique when present — a second customer with
//! the same number fails on the `customers_phone` index (a `phone` conflict, see
//! [`crate::platform::error::UNIQUE_FIELDS`]);
//! `name` is trimmed and `name_key` is its lower-case form, folded in Rust (as products do) so
//! both engines agree on every letter; a name search is a range on `name_key` that its index
//! serves, and a phone search is an exact match on the unique index.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use ringup_core::ids::{CustomerId, SaleId, StoreId};

use crate::platform::db::Db;
use crate::platform::error::StoreResult;
use crate::platform::filter::Conditions;
use crate::platform::page::{After, Page, page_of};
use crate::platform::time;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomerRow {
    #[sqlx(try_from = "String")]
    pub id: CustomerId,
    pub name: String,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const CUSTOMER_COLUMNS: &str = "id, name, phone, email, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct NameRow {
    name: String,
}

/// A customer's stored values, already validated and normalised.
pub struct CustomerValues<'a> {
    pub name: &'a str,
    /// E.164.
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
}

pub async fn insert_customer(
    conn: &mut AnyConnection,
    id: CustomerId,
    values: &CustomerValues<'_>,
    at: DateTime<Utc>,
) -> StoreResult<CustomerRow> {
    let now: &str = &time::to_db(at);
    let sql = sqlx::AssertSqlSafe(format!(
        "insert into customers (id, name, name_key, phone, email, created_at, updated_at) \
         values ($1, $2, $6, $3, $4, $5, $5) returning {CUSTOMER_COLUMNS}"
    ));
    Ok(sqlx::query_as(sql)
        .bind(id.to_string())
        .bind(values.name)
        .bind(values.phone)
        .bind(values.email)
        .bind(now)
        .bind(crate::catalog::products::name_key(values.name))
        .fetch_one(&mut *conn)
        .await?)
}

/// Replaces a customer's values; false when it does not exist.
pub async fn update_customer(
    conn: &mut AnyConnection,
    id: CustomerId,
    values: &CustomerValues<'_>,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let now: &str = &time::to_db(at);
    let n = sqlx::query(
        "update customers set name = $2, phone = $3, email = $4, updated_at = $5, name_key = $6 \
         where id = $1",
    )
    .bind(id.to_string())
    .bind(values.name)
    .bind(values.phone)
    .bind(values.email)
    .bind(now)
    .bind(crate::catalog::products::name_key(values.name))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// One customer, if it exists.
pub async fn find_customer(
    conn: &mut AnyConnection,
    id: CustomerId,
) -> StoreResult<Option<CustomerRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {CUSTOMER_COLUMNS} from customers where id = $1"
    ));
    Ok(sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?)
}

/// What a customer list is filtered by: customers matching *any* of the given criteria; with
/// neither, every customer.
#[derive(Default)]
pub struct CustomerSearch<'a> {
    /// A prefix of the name, ignoring case (non-blank, trimmed by the caller).
    pub name_prefix: Option<&'a str>,
    /// A phone number in E.164, matched exactly.
    pub phone: Option<&'a str>,
}

/// Customers matching `search`, in id (creation) order.
pub async fn list_customers(
    db: &Db,
    search: &CustomerSearch<'_>,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<CustomerRow>> {
    let mut conditions = Conditions::after_cursor("id");
    let mut any_of = Vec::new();
    if let Some(prefix) = search.name_prefix {
        let lower = crate::catalog::products::name_key(prefix);
        let lo = conditions.param(lower.clone());
        let hi = conditions.param(format!("{lower}\u{10FFFF}"));
        any_of.push(format!("(name_key >= {lo} and name_key < {hi})"));
    }
    if let Some(phone) = search.phone {
        let p = conditions.param(phone);
        any_of.push(format!("phone = {p}"));
    }
    if !any_of.is_empty() {
        conditions.push(format!("({})", any_of.join(" or ")));
    }
    let mut conn = db.read_conn().await?;
    let select = format!("select {CUSTOMER_COLUMNS} from customers");
    let customers: Vec<CustomerRow> = conditions
        .fetch(&mut conn, &select, "order by id limit $2", after, limit)
        .await?;
    Ok(page_of(customers, limit, |c| c.id.to_string()))
}

/// A sale of a customer, as much as the customer's history shows.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomerSaleRow {
    #[sqlx(try_from = "String")]
    pub id: SaleId,
    pub number: String,
    #[sqlx(try_from = "String")]
    pub store_id: StoreId,
    /// `completed` or `voided`.
    pub status: String,
    pub total: i64,
    pub created_at: String,
}

/// The customer's sales in id (creation) order; with `scope`, only those made in these stores.
pub async fn list_customer_sales(
    db: &Db,
    customer: CustomerId,
    scope: Option<&[StoreId]>,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<CustomerSaleRow>> {
    if scope.is_some_and(<[StoreId]>::is_empty) {
        return Ok(page_of(Vec::new(), limit, |s: &CustomerSaleRow| {
            s.id.to_string()
        }));
    }
    let mut conditions = Conditions::after_cursor("id");
    let p = conditions.param(customer.to_string());
    conditions.push(format!("customer_id = {p}"));
    if let Some(stores) = scope {
        conditions.push_in("store_id", stores.iter().map(ToString::to_string));
    }
    let mut conn = db.read_conn().await?;
    let sales: Vec<CustomerSaleRow> = conditions
        .fetch(
            &mut conn,
            "select id, number, store_id, status, total, created_at from sales",
            "order by id limit $2",
            after,
            limit,
        )
        .await?;
    Ok(page_of(sales, limit, |s| s.id.to_string()))
}

/// Whether a customer exists.
pub async fn customer_exists(conn: &mut AnyConnection, id: CustomerId) -> StoreResult<bool> {
    let row = sqlx::query("select 1 as found from customers where id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// A customer's name, for receipts.
pub async fn customer_name(
    conn: &mut AnyConnection,
    id: CustomerId,
) -> StoreResult<Option<String>> {
    let row: Option<NameRow> = sqlx::query_as("select name from customers where id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.name))
}
