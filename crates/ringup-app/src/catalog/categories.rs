//! Creating categories. A parent must exist when the child is written: it is looked up inside
//! the write's transaction, so it cannot vanish before the insert.

use ringup_core::ids::CategoryId;
use ringup_store::Db;
use ringup_store::catalog::categories::{self, CategoryRow};

use super::CatalogError;
use crate::problem::FieldError;
use crate::write::{Effects, View, WriteError, WriteRequest, Written, begin_or_replay, retrying};

/// The problem of a `parent_id` that names no category (malformed or unknown alike).
pub fn unknown_parent() -> FieldError {
    FieldError::new("parent_id", "is not an existing category")
}

/// A category as the caller asked for it: `name` is `None` when it broke a rule, listed in
/// `problems` with the caller's other findings.
#[derive(Clone)]
pub struct NewCategory {
    pub name: Option<String>,
    pub parent_id: Option<CategoryId>,
    pub problems: Vec<FieldError>,
}

/// Creates a category, under its parent if it names one.
pub async fn create_category(
    db: &Db,
    request: WriteRequest<'_>,
    category: NewCategory,
    view: View<CategoryRow>,
) -> Result<Written<CategoryRow>, CatalogError> {
    retrying("category.create", request.is_keyed(), || {
        create_category_once(db, request, category.clone(), view)
    })
    .await
}

async fn create_category_once(
    db: &Db,
    request: WriteRequest<'_>,
    category: NewCategory,
    view: View<CategoryRow>,
) -> Result<Written<CategoryRow>, CatalogError> {
    let NewCategory {
        name,
        parent_id,
        mut problems,
    } = category;
    let mut write = begin_or_replay!(db, request);
    if let Some(parent) = parent_id
        && categories::find_category(write.tx(), parent)
            .await?
            .is_none()
    {
        problems.push(unknown_parent());
    }
    let (Some(name), true) = (name, problems.is_empty()) else {
        return Err(CatalogError::Invalid(problems));
    };
    let id = CategoryId::new();
    let at = write.at();
    let row = categories::insert_category(write.tx(), id, &name, parent_id, at).await?;
    let audit = write
        .audit_event("category.created", None)
        .on("category", id)
        .with(serde_json::json!({
            "name": name, "parent_id": parent_id.map(|p| p.to_string()),
        }));
    let shown = view(&row).map_err(WriteError::View)?;
    Ok(write
        .finish(row, Effects::new().audit(audit), 201, shown)
        .await?)
}
