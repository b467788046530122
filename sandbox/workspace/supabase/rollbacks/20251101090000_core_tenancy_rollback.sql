-- Rollback of migrations/20251101090000_core_tenancy.sql
-- Drops the core tenancy tables (and with them every row they hold): the schema
-- returns to what it was before the first migration.
-- Apply with: psql -v ON_ERROR_STOP=1 -f <this file>   (it carries its own transaction)
begin;
set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop table if exists public.tenant_migration_audit;
drop table if exists public.feature_flags;
drop table if exists public.tenant_profiles;
drop table if exists public.tenants;

do $$
begin
  if to_regclass('supabase_migrations.schema_migrations') is not null then
    delete from supabase_migrations.schema_migrations where version = '20251101090000';
  end if;
end
$$;

commit;
