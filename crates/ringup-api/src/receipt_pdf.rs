//! Receipts as PDF. (Being written.)
