//! Reports: the rollups every sale, void and return keeps up to date, their recomputation, and
//! the reads each report makes (docs/ARCHITECTURE.md, "Reports read rollups").

pub mod queries;
pub mod rebuild;
pub mod rollups;
