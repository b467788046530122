-- Backfill tenant_profiles for every tenant that has none, and write one
-- tenant_migration_audit row per tenant touched
-- (migration 'backfill_tenant_profiles', action 'backfill', rows_affected 1).
--
-- Idempotent: a tenant that already has a profile is skipped, and audit rows are
-- written only for profiles actually inserted by this run (RETURNING), so a
-- second run inserts 0 profiles and 0 audit rows. Two concurrent runs cannot
-- duplicate either: the profile primary key plus ON CONFLICT DO NOTHING means a
-- profile is inserted (and audited) by exactly one of them.
--
-- The work is a single statement, hence atomic with or without an explicit
-- transaction. Run it with:
--   psql -v ON_ERROR_STOP=1 -X -f supabase/seed/backfill_tenant_profiles.sql
-- It prints one row:
--   tenants_total | profiles_before | profiles_backfilled | audit_rows_written
-- After it, tenants_total = profiles_before + profiles_backfilled, and
-- audit_rows_written = profiles_backfilled.
set lock_timeout = '5s';
set statement_timeout = '120s';

with missing as (
  select t.id, t.name, t.tier
  from public.tenants t
  where not exists (select 1 from public.tenant_profiles p where p.tenant_id = t.id)
),
inserted as (
  insert into public.tenant_profiles (tenant_id, display_name, locale, timezone, settings)
  select m.id, m.name, 'en', 'UTC', jsonb_build_object('source', 'backfill', 'tier', m.tier)
  from missing m
  on conflict (tenant_id) do nothing
  returning tenant_id
),
audited as (
  insert into public.tenant_migration_audit (tenant_id, migration, action, rows_affected)
  select i.tenant_id, 'backfill_tenant_profiles', 'backfill', 1
  from inserted i
  returning id
)
select
  (select count(*) from public.tenants) as tenants_total,
  (select count(*) from public.tenant_profiles) as profiles_before,
  (select count(*) from inserted) as profiles_backfilled,
  (select count(*) from audited) as audit_rows_written;
