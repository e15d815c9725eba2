//! What a database holds, counted: for the commands that may only run on an empty one
//! (`ringup demo`). Every business table hangs off one of the counted roots (a sale, a shift
//! or a stock movement needs a store; a sale line a product), so counting the roots answers
//! whether anything is there without reading the large tables.

use crate::platform::db::Db;
use crate::platform::error::StoreResult;

/// The rows of the tables a deployment fills first, and its users by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Contents {
    pub stores: i64,
    pub tax_classes: i64,
    pub categories: i64,
    pub products: i64,
    pub customers: i64,
    pub api_keys: i64,
    pub users: i64,
    /// Active admins among `users`.
    pub active_admins: i64,
}

impl Contents {
    /// Nothing but, at most, the first admin `ringup serve` creates on an empty database.
    pub fn is_empty_but_first_admin(&self) -> bool {
        let roots = [
            self.stores,
            self.tax_classes,
            self.categories,
            self.products,
            self.customers,
            self.api_keys,
        ];
        roots.iter().all(|n| *n == 0)
            && (self.users == 0 || (self.users == 1 && self.active_admins == 1))
    }
}

/// Counts the roots, on one snapshot.
pub async fn count(db: &Db) -> StoreResult<Contents> {
    let contents = sqlx::query_as(
        "select (select count(*) from stores) as stores, \
         (select count(*) from tax_classes) as tax_classes, \
         (select count(*) from categories) as categories, \
         (select count(*) from products) as products, \
         (select count(*) from customers) as customers, \
         (select count(*) from api_keys) as api_keys, \
         (select count(*) from users) as users, \
         (select count(*) from users where role = 'admin' and active = 1) as active_admins",
    )
    .fetch_one(db.reader())
    .await?;
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::Contents;

    #[test]
    fn a_lone_active_admin_is_still_empty_and_anything_else_is_not() {
        let admin = Contents {
            users: 1,
            active_admins: 1,
            ..Contents::default()
        };
        assert!(Contents::default().is_empty_but_first_admin());
        assert!(admin.is_empty_but_first_admin());
        let two_users = Contents {
            users: 2,
            active_admins: 1,
            ..admin
        };
        let a_cashier = Contents {
            users: 1,
            active_admins: 0,
            ..admin
        };
        let a_store = Contents { stores: 1, ..admin };
        let a_key = Contents {
            api_keys: 1,
            ..Contents::default()
        };
        for held in [two_users, a_cashier, a_store, a_key] {
            assert!(!held.is_empty_but_first_admin(), "{held:?}");
        }
    }
}
