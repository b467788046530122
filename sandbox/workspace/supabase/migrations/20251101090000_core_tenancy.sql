-- 20251101090000_core_tenancy
-- Core multi-tenant schema: tenants, their profiles, per-tenant feature flags
-- and the audit trail written by data migrations / backfills.
-- Rollback: rollbacks/20251101090000_core_tenancy_rollback.sql
--
-- `supabase db push` runs each migration file as one transaction, so SET LOCAL
-- scopes the timeouts to this migration only.
set local lock_timeout = '5s';
set local statement_timeout = '60s';

create table public.tenants (
  id uuid primary key default gen_random_uuid(),
  slug text not null,
  name text not null,
  tier text not null,
  created_at timestamptz not null default now(),
  constraint tenants_slug_key unique (slug),
  constraint tenants_slug_format check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 63),
  constraint tenants_tier_check check (tier in ('internal', 'pilot', 'low_volume', 'ga'))
);

comment on table public.tenants is 'One row per ICUPA tenant (venue group).';
comment on column public.tenants.tier is 'Rollout tier: internal -> pilot -> low_volume -> ga.';

create index tenants_tier_idx on public.tenants (tier);

create table public.tenant_profiles (
  tenant_id uuid primary key references public.tenants (id) on delete cascade,
  display_name text not null,
  locale text not null default 'en',
  timezone text not null default 'UTC',
  settings jsonb not null default '{}'::jsonb,
  updated_at timestamptz not null default now(),
  constraint tenant_profiles_settings_object check (jsonb_typeof(settings) = 'object')
);

comment on table public.tenant_profiles is 'Presentation settings per tenant; filled by seed/backfill_tenant_profiles.sql for tenants lacking one.';

-- Shape relied upon by the flags CLI: keep columns, types and the primary key as they are.
create table public.feature_flags (
  tenant_id uuid references public.tenants (id),
  flag text,
  enabled boolean not null default false,
  updated_at timestamptz not null default now(),
  updated_by text,
  primary key (tenant_id, flag)
);

comment on table public.feature_flags is 'Per-tenant feature flags, managed by the flags CLI (pnpm flags:enable ...).';

-- No foreign key on tenant_id: the audit trail outlives the tenants it mentions.
create table public.tenant_migration_audit (
  id bigserial primary key,
  tenant_id uuid,
  migration text not null,
  action text not null,
  rows_affected integer,
  recorded_at timestamptz not null default now(),
  constraint tenant_migration_audit_rows_affected_check check (rows_affected >= 0)
);

comment on table public.tenant_migration_audit is 'One row per tenant touched by a data migration or backfill.';

create index tenant_migration_audit_tenant_idx on public.tenant_migration_audit (tenant_id, recorded_at);
create index tenant_migration_audit_migration_idx on public.tenant_migration_audit (migration, action);
