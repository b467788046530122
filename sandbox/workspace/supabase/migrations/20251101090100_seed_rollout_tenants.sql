-- 20251101090100_seed_rollout_tenants
-- Seed tenants for every rollout tier (internal -> pilot -> low_volume -> ga).
-- Only the internal tenants get a profile here; the others are left for
-- seed/backfill_tenant_profiles.sql, which is the point of the backfill.
-- Fixed ids so tests, fixtures and the edge functions' catalog can rely on them.
-- Rollback: rollbacks/20251101090100_seed_rollout_tenants_rollback.sql
set local lock_timeout = '5s';
set local statement_timeout = '60s';

insert into public.tenants (id, slug, name, tier) values
  ('7e0a0000-0000-4000-8000-000000000001', 'icupa-hq',       'ICUPA HQ Canteen',   'internal'),
  ('7e0a0000-0000-4000-8000-000000000002', 'icupa-qa',       'ICUPA QA Kitchen',   'internal'),
  ('7e0a0000-0000-4000-8000-000000000003', 'kigali-bistro',  'Kigali Bistro',      'pilot'),
  ('7e0a0000-0000-4000-8000-000000000004', 'lakeside-grill', 'Lakeside Grill',     'pilot'),
  ('7e0a0000-0000-4000-8000-000000000005', 'mountain-cafe',  'Mountain Cafe',      'low_volume'),
  ('7e0a0000-0000-4000-8000-000000000006', 'harbor-tacos',   'Harbor Tacos',       'low_volume'),
  ('7e0a0000-0000-4000-8000-000000000007', 'city-noodles',   'City Noodles',       'low_volume'),
  ('7e0a0000-0000-4000-8000-000000000008', 'sunset-diner',   'Sunset Diner',       'ga'),
  ('7e0a0000-0000-4000-8000-000000000009', 'green-bowl',     'Green Bowl',         'ga'),
  ('7e0a0000-0000-4000-8000-00000000000a', 'urban-pizza',    'Urban Pizza',        'ga'),
  ('7e0a0000-0000-4000-8000-00000000000b', 'river-sushi',    'River Sushi',        'ga'),
  ('7e0a0000-0000-4000-8000-00000000000c', 'central-bakery', 'Central Bakery',     'ga')
on conflict (slug) do nothing;

insert into public.tenant_profiles (tenant_id, display_name, locale, timezone, settings)
select t.id, t.name, 'en', 'Africa/Kigali', jsonb_build_object('source', 'seed', 'tier', t.tier)
from public.tenants t
where t.tier = 'internal'
  and t.id in ('7e0a0000-0000-4000-8000-000000000001', '7e0a0000-0000-4000-8000-000000000002')
on conflict (tenant_id) do nothing;
