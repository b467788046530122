-- Rollback of migrations/20251101090100_seed_rollout_tenants.sql
-- Removes the seeded tenants together with their profiles (on delete cascade)
-- and their feature flags. Audit rows in tenant_migration_audit are history and
-- are kept. The schema is unchanged by this migration and by its rollback.
-- Apply with: psql -v ON_ERROR_STOP=1 -f <this file>   (it carries its own transaction)
begin;
set local lock_timeout = '5s';
set local statement_timeout = '60s';

create temporary table seeded_tenants (id uuid primary key) on commit drop;
insert into seeded_tenants (id) values
  ('7e0a0000-0000-4000-8000-000000000001'), ('7e0a0000-0000-4000-8000-000000000002'),
  ('7e0a0000-0000-4000-8000-000000000003'), ('7e0a0000-0000-4000-8000-000000000004'),
  ('7e0a0000-0000-4000-8000-000000000005'), ('7e0a0000-0000-4000-8000-000000000006'),
  ('7e0a0000-0000-4000-8000-000000000007'), ('7e0a0000-0000-4000-8000-000000000008'),
  ('7e0a0000-0000-4000-8000-000000000009'), ('7e0a0000-0000-4000-8000-00000000000a'),
  ('7e0a0000-0000-4000-8000-00000000000b'), ('7e0a0000-0000-4000-8000-00000000000c');

delete from public.feature_flags where tenant_id in (select id from seeded_tenants);
delete from public.tenants where id in (select id from seeded_tenants);

do $$
begin
  if to_regclass('supabase_migrations.schema_migrations') is not null then
    delete from supabase_migrations.schema_migrations where version = '20251101090100';
  end if;
end
$$;

commit;
