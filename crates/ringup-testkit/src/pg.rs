//! A database per test: a SQLite file in the test's directory, or a fresh PostgreSQL database
//! when `RINGUP_TEST_DATABASE_URL` is set (dropped when the test ends).

use std::path::Path;

use ringup_store::{DatabaseUrl, Engine};
use sqlx::{Connection, Executor, PgConnection};

use crate::TEST_DATABASE_URL;

pub struct TestDatabase {
    url: DatabaseUrl,
    /// The server's maintenance URL, for PostgreSQL.
    admin: Option<DatabaseUrl>,
}

impl TestDatabase {
    pub async fn create(dir: &Path) -> TestDatabase {
        match std::env::var(TEST_DATABASE_URL)
            .ok()
            .filter(|v| !v.is_empty())
        {
            Some(admin) => {
                let admin = DatabaseUrl::parse(&admin)
                    .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL} is invalid: {e}"));
                assert_eq!(
                    admin.engine(),
                    Engine::Postgres,
                    "{TEST_DATABASE_URL} must be a postgres:// URL"
                );
                let name = format!("ringup_t_{}", uuid::Uuid::now_v7().simple());
                let mut conn = PgConnection::connect(admin.expose())
                    .await
                    .unwrap_or_else(|e| panic!("cannot reach {admin}: {e}"));
                conn.execute(sqlx::AssertSqlSafe(format!("create database \"{name}\"")))
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                TestDatabase {
                    url: admin.with_database(&name),
                    admin: Some(admin),
                }
            }
            None => TestDatabase {
                url: DatabaseUrl::sqlite_file(&dir.join("ringup-test.db")).expect("sqlite URL"),
                admin: None,
            },
        }
    }

    /// A SQLite database in `dir`, whatever engine the suite runs on.
    pub fn sqlite(dir: &Path) -> TestDatabase {
        let file = dir.join(format!("ringup-{}.db", uuid::Uuid::now_v7().simple()));
        TestDatabase {
            url: DatabaseUrl::sqlite_file(&file).expect("sqlite URL"),
            admin: None,
        }
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Drops a PostgreSQL test database, closing every connection to it.
    pub async fn drop_now(&self) {
        if let (Some(admin), Some(name)) = (&self.admin, self.url.database_name()) {
            drop_database(admin.expose().to_owned(), name.to_owned()).await;
        }
    }
}

async fn drop_database(admin: String, name: String) {
    if let Ok(mut conn) = PgConnection::connect(&admin).await {
        let _ = conn
            .execute(sqlx::AssertSqlSafe(format!(
                "drop database if exists \"{name}\" with (force)"
            )))
            .await;
        let _ = conn.close().await;
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (Some(admin), Some(name)) = (&self.admin, self.url.database_name()) else {
            return;
        };
        let (admin, name) = (admin.expose().to_owned(), name.to_owned());
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived thread
        // with its own runtime does the cleanup and is waited for.
        let cleanup = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(drop_database(admin, name));
            }
        });
        let _ = cleanup.join();
    }
}
