-- pgTAP: seed tenants cover every rollout tier (migration 20251101090100_seed_rollout_tenants).
begin;
create extension if not exists pgtap;
select plan(5);

select cmp_ok((select count(*)::int from public.tenants where tier = 'internal'), '>=', 2, 'at least 2 internal tenants');
select cmp_ok((select count(*)::int from public.tenants where tier = 'pilot'), '>=', 2, 'at least 2 pilot tenants');
select cmp_ok((select count(*)::int from public.tenants where tier = 'low_volume'), '>=', 3, 'at least 3 low_volume tenants');
select cmp_ok((select count(*)::int from public.tenants where tier = 'ga'), '>=', 5, 'at least 5 ga tenants');
select set_eq(
  $$select slug from public.tenants where id::text like '7e0a0000-0000-4000-8000-%'$$,
  array['icupa-hq', 'icupa-qa', 'kigali-bistro', 'lakeside-grill', 'mountain-cafe', 'harbor-tacos',
        'city-noodles', 'sunset-diner', 'green-bowl', 'urban-pizza', 'river-sushi', 'central-bakery'],
  'the twelve seed tenants are present with their fixed ids');

select * from finish();
rollback;
