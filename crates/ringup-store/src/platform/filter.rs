//! The `where` clause of a filtered, cursor-paged list: conditions over numbered placeholders
//! whose values are bound in order. `$1` is the cursor (the last id seen, `''` for the first
//! page) and `$2` the row limit; filters take `$3` on. Only placeholders and column names
//! chosen by the caller's code go into the SQL text, never a value.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::platform::db::placeholders;
use crate::platform::error::StoreResult;
use crate::platform::page::After;

pub(crate) struct Conditions {
    parts: Vec<String>,
    binds: Vec<String>,
}

impl Conditions {
    /// Starts with `<id column> > $1`, the cursor condition.
    pub(crate) fn after_cursor(id_column: &str) -> Conditions {
        Conditions {
            parts: vec![format!("{id_column} > $1")],
            binds: Vec::new(),
        }
    }

    /// Binds `value` and returns its placeholder.
    pub(crate) fn param(&mut self, value: impl Into<String>) -> String {
        self.binds.push(value.into());
        placeholders(self.binds.len() + 2, 1)
    }

    /// Adds a condition written with placeholders from [`Conditions::param`].
    pub(crate) fn push(&mut self, condition: String) {
        self.parts.push(condition);
    }

    /// Adds `column in (…)` over `values`.
    pub(crate) fn push_in(&mut self, column: &str, values: impl IntoIterator<Item = String>) {
        let list: Vec<String> = values.into_iter().map(|v| self.param(v)).collect();
        // An empty list matches nothing; `in ()` itself is a syntax error on PostgreSQL.
        if list.is_empty() {
            self.parts.push("1 = 0".to_owned());
        } else {
            self.parts
                .push(format!("{column} in ({})", list.join(", ")));
        }
    }

    /// Runs `select … where <conditions> <tail>` (`tail` orders and limits with `$2`),
    /// fetching up to `limit + 1` rows so the caller can tell whether another page follows.
    pub(crate) async fn fetch<T>(
        self,
        conn: &mut AnyConnection,
        select: &str,
        tail: &str,
        after: Option<&After>,
        limit: usize,
    ) -> StoreResult<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        let sql = sqlx::AssertSqlSafe(format!(
            "{select} where {} {tail}",
            self.parts.join(" and ")
        ));
        let mut query = sqlx::query_as(sql)
            .bind(after.map(|a| a.0.clone()).unwrap_or_default())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1));
        for value in self.binds {
            query = query.bind(value);
        }
        Ok(query.fetch_all(&mut *conn).await?)
    }
}
