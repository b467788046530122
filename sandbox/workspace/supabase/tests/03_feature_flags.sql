-- pgTAP: feature_flags behaviour the flags CLI depends on.
begin;
create extension if not exists pgtap;
select plan(6);

insert into public.tenants (id, slug, name, tier)
values ('00000000-0000-4000-8000-0000000f1a90', 'pgtap-flags', 'pgTAP flags tenant', 'pilot');

select lives_ok(
  $$insert into public.feature_flags (tenant_id, flag) values ('00000000-0000-4000-8000-0000000f1a90', 'new_checkout')$$,
  'a flag row can be inserted with defaults');
select is(
  (select enabled from public.feature_flags where tenant_id = '00000000-0000-4000-8000-0000000f1a90' and flag = 'new_checkout'),
  false, 'a new flag is disabled by default');
select throws_ok(
  $$insert into public.feature_flags (tenant_id, flag) values ('00000000-0000-4000-8000-0000000f1a90', 'new_checkout')$$,
  '23505', null, 'the same (tenant_id, flag) cannot be inserted twice');
select lives_ok(
  $$insert into public.feature_flags (tenant_id, flag, enabled, updated_by)
    values ('00000000-0000-4000-8000-0000000f1a90', 'new_checkout', true, 'pgtap')
    on conflict (tenant_id, flag) do update
      set enabled = excluded.enabled, updated_by = excluded.updated_by, updated_at = now()$$,
  'upsert on the (tenant_id, flag) key works (what flags:enable does)');
select is(
  (select enabled from public.feature_flags where tenant_id = '00000000-0000-4000-8000-0000000f1a90' and flag = 'new_checkout'),
  true, 'the upsert enabled the flag');
select throws_ok(
  $$insert into public.feature_flags (tenant_id, flag) values ('00000000-0000-4000-8000-00000000dead', 'new_checkout')$$,
  '23503', null, 'a flag for an unknown tenant is rejected by the foreign key');

select * from finish();
rollback;
