-- PostgreSQL gains the audit chain's hash as a function in this migration (its 0015), so an
-- audit event is appended in one statement there. SQLite's writer hashes in the server, where
-- a statement costs microseconds, and needs no change. This migration keeps the two engines'
-- schema versions equal: a backup names its version, and a restore refuses a newer one.
select 1;
