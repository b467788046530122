-- 20251115090000_release_tenant_region  (the release under test)
-- Expand step of an expand/contract change: tenants get an optional region.
--   * nullable column without default: catalog-only change, no table rewrite,
--     old application code keeps working (it never names the column);
--   * partial index on the new column: only rows that have a region.
-- A later release (the contract step) may backfill region and make it NOT NULL.
--
-- Why not CREATE INDEX CONCURRENTLY here: `supabase db push` sends a migration
-- file as one transaction; on PostgreSQL 15 a CONCURRENTLY statement inside that
-- batch is not refused but silently commits the statements before it, which
-- breaks the one-transaction-per-migration guarantee. On a large table, put the
-- CONCURRENTLY statement alone in its own migration file. The tenants table is
-- small and lock_timeout below bounds how long the (brief) lock may be waited for.
-- Rollback: rollbacks/20251115090000_release_tenant_region_rollback.sql
set local lock_timeout = '3s';
set local statement_timeout = '30s';

alter table public.tenants add column if not exists region text;

comment on column public.tenants.region is 'Optional serving region (e.g. rw-kigali); nullable during expand phase.';

-- release-gate: accept create-index-without-concurrently: tenants holds a few dozen rows, so the build is
-- brief; lock_timeout 3s bounds the wait, and CONCURRENTLY cannot run inside the migration's transaction.
create index if not exists tenants_region_idx on public.tenants (region) where region is not null;
