//! Reservations: units of a store's stock held until a time, for an order being picked or a
//! web basket. A reservation needs every line available, whatever the store allows, and holds
//! at most [`longest_hold`]; it stops counting the moment it expires or is released. Who may
//! reserve is the caller's role alone, checked by the HTTP layer before calling.

use chrono::{DateTime, Utc};
use ringup_core::ids::{ReservationId, StoreId};
use ringup_store::Db;
use ringup_store::catalog::stores::StoreRow;
use ringup_store::stock::reservations::{self, ReservationRow};

use super::{LinesRequest, StockError, short_lines};
use crate::problem::FieldError;
use crate::write::{
    Effects, Shown, View, WriteError, WriteRequest, Written, retrying, write_direct,
};

/// The longest a reservation may hold stock.
pub fn longest_hold() -> chrono::Duration {
    chrono::Duration::days(30)
}

/// A reservation as the caller asked for it, in a store the caller sees: what failed to parse
/// is in `problems` (and `expires_at` left `None` when it is no timestamp).
#[derive(Clone)]
pub struct NewReservation {
    pub store: StoreRow,
    pub lines: LinesRequest,
    pub expires_at: Option<DateTime<Utc>>,
    pub reference: Option<String>,
    pub problems: Vec<FieldError>,
}

/// Reserves every line until `expires_at`, or nothing; idempotent under its key.
pub async fn create_reservation(
    db: &Db,
    request: WriteRequest<'_>,
    reservation: NewReservation,
    view: View<ReservationRow>,
) -> Result<Written<ReservationRow>, StockError> {
    retrying("reservation.create", request.is_keyed(), || {
        create_reservation_once(db, request, reservation.clone(), view)
    })
    .await
}

async fn create_reservation_once(
    db: &Db,
    request: WriteRequest<'_>,
    reservation: NewReservation,
    view: View<ReservationRow>,
) -> Result<Written<ReservationRow>, StockError> {
    let NewReservation {
        store,
        lines,
        expires_at,
        reference,
        mut problems,
    } = reservation;
    let at = request.at;
    let expires_at = match expires_at {
        Some(t) if t > at && t <= at + longest_hold() => Some(t),
        Some(_) => {
            problems.push(FieldError::new(
                "expires_at",
                "must be in the future and at most 30 days ahead",
            ));
            None
        }
        None => None,
    };
    write_direct!(db, request, |write, request| {
        lines.check_products(write.tx(), &mut problems).await?;
        let (Some(expires_at), true) = (expires_at, problems.is_empty()) else {
            return Err(StockError::Invalid(problems));
        };
        let actor_id = request.actor.actor_id();
        let at = write.at();
        let row = reservations::reserve(
            write.tx(),
            &reservations::NewReservation {
                id: ReservationId::new(),
                store_id: store.id,
                reference: reference.as_deref(),
                expires_at,
                created_by: &actor_id,
                lines: &lines.lines,
            },
            at,
        )
        .await?
        .map_err(short_lines)?;
        let shown = view(&row).map_err(WriteError::View)?;
        Ok(write.finish(row, Effects::new(), 201, shown).await?)
    })
    .await
}

/// Which reservation to release, in a store the caller sees.
#[derive(Clone)]
pub struct ReleaseReservation {
    pub store_id: StoreId,
    pub id: ReservationId,
}

/// Releases a reservation of the store: its units are available again at once. Releasing a
/// released or expired one changes nothing; the outcome says whether this call released it.
/// The reply is empty (no content).
pub async fn release_reservation(
    db: &Db,
    request: WriteRequest<'_>,
    release: ReleaseReservation,
) -> Result<Written<bool>, StockError> {
    retrying("reservation.release", request.is_keyed(), || {
        release_reservation_once(db, request, &release)
    })
    .await
}

async fn release_reservation_once(
    db: &Db,
    request: WriteRequest<'_>,
    release: &ReleaseReservation,
) -> Result<Written<bool>, StockError> {
    let release = release.clone();
    write_direct!(db, request, |write, request| {
        let reservation = reservations::find_reservation(write.tx(), release.id)
            .await?
            .filter(|r| r.store_id == release.store_id)
            .ok_or(StockError::NotFound)?;
        let actor_id = request.actor.actor_id();
        let at = write.at();
        let released = reservations::release(write.tx(), reservation.id, &actor_id, at).await?;
        Ok(write
            .finish(released, Effects::new(), 204, Shown::nothing())
            .await?)
    })
    .await
}
