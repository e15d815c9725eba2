//! The two write transactions as the store functions see them: [`Tx`] (statements through
//! [`Sql`], then commit) for [`WriteTx`] and for [`DirectTx`], the transaction of a hot write,
//! which on PostgreSQL also holds the statements deferred on it ([`Sql::defer`]).

use std::sync::Arc;

use sqlx::Transaction;
use tokio::sync::Notify;

use crate::platform::db::WriteTx;
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::sql::{Row, Sql, Stmt, one_statement};
use crate::platform::trace::TxSpan;
use crate::platform::writer::DirectLease;

impl Sql for WriteTx {
    fn is_postgres(&self) -> bool {
        Sql::is_postgres(&**self)
    }

    async fn run(&mut self, stmt: Stmt<'_>) -> StoreResult<u64> {
        Sql::run(&mut **self, stmt).await
    }

    async fn rows(&mut self, stmt: Stmt<'_>) -> StoreResult<Vec<Row>> {
        Sql::rows(&mut **self, stmt).await
    }
}

/// An open write transaction: statements through [`Sql`], then [`Tx::commit`]; dropping it
/// rolls back.
pub trait Tx: Sql + Sized {
    /// Commits, and raises `raise` once the commit is durable (for a write run on SQLite's
    /// writer, that is after this returns: the writer raises it).
    fn commit_raising(
        self,
        raise: Option<&Arc<Notify>>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Commits, raising nothing. On a [`DirectTx`] of SQLite, keeps the write in its batch
    /// and returns once the batch committed (for a lease), or at once (for a write the writer
    /// runs: its caller hears of the commit).
    fn commit(self) -> impl Future<Output = StoreResult<()>> + Send {
        self.commit_raising(None)
    }
}

impl Tx for WriteTx {
    async fn commit_raising(self, raise: Option<&Arc<Notify>>) -> StoreResult<()> {
        WriteTx::commit(self).await?;
        if let Some(raise) = raise {
            raise.notify_one();
        }
        Ok(())
    }
}

/// The transaction of a hot write, from [`Db::begin_direct`]: its statements go through
/// [`Sql`] only, so on SQLite they run on the writer's own synchronous connection (a turn in
/// a group-committed batch, like [`WriteTx`]), and on PostgreSQL on a pooled transaction.
#[derive(Debug)]
pub struct DirectTx(Direct, TxSpan);

impl DirectTx {
    pub(crate) fn pooled(tx: Transaction<'static, sqlx::Any>, span: TxSpan) -> DirectTx {
        let direct = Direct::Tx {
            tx,
            deferred: Vec::new(),
        };
        DirectTx(direct, span)
    }

    pub(crate) fn lease(lease: DirectLease, span: TxSpan) -> DirectTx {
        DirectTx(Direct::Lease(lease), span)
    }
}

#[derive(Debug)]
enum Direct {
    /// PostgreSQL: a pooled transaction, and the statements deferred on it ([`Sql::defer`]),
    /// sent as one before its next statement or its commit.
    Tx {
        tx: Transaction<'static, sqlx::Any>,
        deferred: Vec<Stmt<'static>>,
    },
    Lease(DirectLease),
}

/// Sends the deferred statements, as one.
async fn send_deferred(
    tx: &mut Transaction<'static, sqlx::Any>,
    deferred: &mut Vec<Stmt<'static>>,
) -> StoreResult<()> {
    if let Some(one) = one_statement(std::mem::take(deferred)) {
        Sql::run(&mut **tx, one).await?;
    }
    Ok(())
}

impl Sql for DirectTx {
    async fn run(&mut self, stmt: Stmt<'_>) -> StoreResult<u64> {
        match &mut self.0 {
            Direct::Tx { tx, deferred } => {
                send_deferred(tx, deferred).await?;
                Sql::run(&mut **tx, stmt).await
            }
            Direct::Lease(lease) => lease.run(stmt).await,
        }
    }

    async fn rows(&mut self, stmt: Stmt<'_>) -> StoreResult<Vec<Row>> {
        match &mut self.0 {
            Direct::Tx { tx, deferred } => {
                send_deferred(tx, deferred).await?;
                Sql::rows(&mut **tx, stmt).await
            }
            Direct::Lease(lease) => lease.rows(stmt).await,
        }
    }

    async fn optional_row_with_deferred(&mut self, stmt: Stmt<'_>) -> StoreResult<Option<Row>> {
        match &mut self.0 {
            Direct::Tx { tx, deferred } => {
                let mut all = std::mem::take(deferred);
                all.push(stmt.into_owned());
                let one = one_statement(all).ok_or(StoreError::NotFound)?;
                Ok(Sql::rows(&mut **tx, one).await?.into_iter().next())
            }
            Direct::Lease(lease) => lease.optional_row(stmt).await,
        }
    }

    fn is_postgres(&self) -> bool {
        match &self.0 {
            Direct::Tx { tx, .. } => Sql::is_postgres(&**tx),
            Direct::Lease(_) => false,
        }
    }

    async fn defer(&mut self, stmt: Stmt<'static>) -> StoreResult<()> {
        match &mut self.0 {
            Direct::Tx { deferred, .. } => {
                deferred.push(stmt);
                Ok(())
            }
            // On the writer's own connection a statement costs microseconds: no reason to wait.
            Direct::Lease(lease) => lease.run(stmt).await.map(drop),
        }
    }
}

impl Tx for DirectTx {
    async fn commit_raising(self, raise: Option<&Arc<Notify>>) -> StoreResult<()> {
        let DirectTx(direct, span) = self;
        let committed = match direct {
            Direct::Tx {
                mut tx,
                mut deferred,
            } => {
                let committed = match send_deferred(&mut tx, &mut deferred).await {
                    Ok(()) => tx.commit().await.map_err(StoreError::from),
                    Err(err) => Err(err),
                };
                if let (Ok(()), Some(raise)) = (&committed, raise) {
                    raise.notify_one();
                }
                committed
            }
            // The writer raises it after the batch's commit.
            Direct::Lease(lease) => lease.keep(raise.cloned()).await,
        };
        span.finish(&committed);
        committed
    }
}
