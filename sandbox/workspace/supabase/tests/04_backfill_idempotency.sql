-- pgTAP: seed/backfill_tenant_profiles.sql fills missing profiles, audits each
-- tenant it touches once, and is idempotent. Runs the real script twice inside
-- this test's transaction (psql \ir), then rolls everything back.
begin;
create extension if not exists pgtap;
select plan(9);

-- Two tenants that certainly lack a profile, whatever state the database is in.
insert into public.tenants (id, slug, name, tier) values
  ('00000000-0000-4000-8000-0000000b0f01', 'pgtap-backfill-a', 'Backfill probe A', 'low_volume'),
  ('00000000-0000-4000-8000-0000000b0f02', 'pgtap-backfill-b', 'Backfill probe B', 'ga');

-- Counts after each run: tenants, profiles, audit rows.
create temporary table backfill_runs (run int primary key, tenants bigint, profiles bigint, audit_rows bigint)
  on commit drop;
insert into backfill_runs
select 0, (select count(*) from public.tenants), (select count(*) from public.tenant_profiles),
       (select count(*) from public.tenant_migration_audit);

\o /dev/null
\ir ../seed/backfill_tenant_profiles.sql
\o
insert into backfill_runs
select 1, (select count(*) from public.tenants), (select count(*) from public.tenant_profiles),
       (select count(*) from public.tenant_migration_audit);

\o /dev/null
\ir ../seed/backfill_tenant_profiles.sql
\o
insert into backfill_runs
select 2, (select count(*) from public.tenants), (select count(*) from public.tenant_profiles),
       (select count(*) from public.tenant_migration_audit);

select is(
  (select count(*) from public.tenants t where not exists (select 1 from public.tenant_profiles p where p.tenant_id = t.id)),
  0::bigint, 'after the backfill every tenant has a profile');
select is(
  (select count(*) from public.tenant_profiles), (select count(*) from public.tenants),
  'exactly one profile per tenant');
select is(
  (select settings->>'source' from public.tenant_profiles where tenant_id = '00000000-0000-4000-8000-0000000b0f01'),
  'backfill', 'a backfilled profile is marked as such');
select is(
  (select display_name from public.tenant_profiles where tenant_id = '00000000-0000-4000-8000-0000000b0f02'),
  'Backfill probe B', 'the display name comes from the tenant name');
select results_eq(
  $$select migration, action, rows_affected from public.tenant_migration_audit
    where tenant_id = '00000000-0000-4000-8000-0000000b0f01'$$,
  $$values ('backfill_tenant_profiles'::text, 'backfill'::text, 1)$$,
  'one audit row (backfill, rows_affected 1) for a tenant touched');
select is(
  (select count(*) from public.tenant_profiles p
    where p.settings->>'source' = 'backfill'
      and not exists (select 1 from public.tenant_migration_audit a
                      where a.tenant_id = p.tenant_id and a.action = 'backfill'
                        and a.migration = 'backfill_tenant_profiles')),
  0::bigint, 'every backfilled profile has its backfill audit row');
select is(
  (select r1.audit_rows - r0.audit_rows from backfill_runs r0, backfill_runs r1 where r0.run = 0 and r1.run = 1),
  (select r1.profiles - r0.profiles from backfill_runs r0, backfill_runs r1 where r0.run = 0 and r1.run = 1),
  'the first run wrote one audit row per profile it inserted');
select cmp_ok(
  (select r1.profiles - r0.profiles from backfill_runs r0, backfill_runs r1 where r0.run = 0 and r1.run = 1),
  '>=', 2::bigint, 'the first run inserted the probe tenants'' profiles');
select results_eq(
  $$select tenants, profiles, audit_rows from backfill_runs where run = 2$$,
  $$select tenants, profiles, audit_rows from backfill_runs where run = 1$$,
  'the second run changes nothing: same tenant, profile and audit counts');

select * from finish();
rollback;
