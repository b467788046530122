-- Fault switch "broken migration" (see ../README.md, "Fault files").
-- NOT a migration until the orchestrator copies it into migrations/ as
--   migrations/29991231235959_broken_migration.sql
-- It models a realistic bad release: the first statements succeed, then an
-- index names a column that does not exist (a typo), so the migration fails
-- halfway. `supabase db push` runs the file as one transaction, so everything
-- before the failing statement is rolled back and nothing is recorded in
-- supabase_migrations.schema_migrations: the database is left as it was
-- (it touches no sequence, so even pg_dump --data-only output is unchanged).
set local lock_timeout = '5s';
set local statement_timeout = '60s';

create table public.tenant_billing (
  tenant_id uuid primary key references public.tenants (id),
  plan text not null default 'standard',
  updated_at timestamptz not null default now()
);

alter table public.tenants add column billing_plan text;

update public.tenant_profiles
set settings = settings || '{"billing_plan": "standard"}'::jsonb, updated_at = now();

-- The bug: the column is billing_plan, not billing_region.
create index tenants_billing_region_idx on public.tenants (billing_region);

update public.tenants set billing_plan = 'standard';
