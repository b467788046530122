-- Rollback of migrations/20251115090000_release_tenant_region.sql
-- Restores the schema as it was after 20251101090100_seed_rollout_tenants and
-- marks the migration as not applied, so a later `supabase db push` would apply
-- it again (same effect as `supabase migration repair --status reverted 20251115090000`).
-- Apply with: psql -v ON_ERROR_STOP=1 -f <this file>   (it carries its own transaction)
begin;
set local lock_timeout = '3s';
set local statement_timeout = '30s';

drop index if exists public.tenants_region_idx;
alter table public.tenants drop column if exists region;

do $$
begin
  if to_regclass('supabase_migrations.schema_migrations') is not null then
    delete from supabase_migrations.schema_migrations where version = '20251115090000';
  end if;
end
$$;

commit;
