-- pgTAP: core tenancy schema (migration 20251101090000_core_tenancy).
begin;
create extension if not exists pgtap;
select plan(49);

-- tables
select has_table('public', 'tenants', 'tenants exists');
select has_table('public', 'tenant_profiles', 'tenant_profiles exists');
select has_table('public', 'feature_flags', 'feature_flags exists');
select has_table('public', 'tenant_migration_audit', 'tenant_migration_audit exists');

-- tenants
select col_is_pk('public', 'tenants', 'id', 'tenants.id is the primary key');
select col_type_is('public', 'tenants', 'id', 'uuid', 'tenants.id is uuid');
select col_default_is('public', 'tenants', 'id', 'gen_random_uuid()', 'tenants.id defaults to gen_random_uuid()');
select col_type_is('public', 'tenants', 'slug', 'text', 'tenants.slug is text');
select col_not_null('public', 'tenants', 'slug', 'tenants.slug is not null');
select col_is_unique('public', 'tenants', 'slug', 'tenants.slug is unique');
select col_not_null('public', 'tenants', 'name', 'tenants.name is not null');
select col_type_is('public', 'tenants', 'tier', 'text', 'tenants.tier is text');
select col_not_null('public', 'tenants', 'tier', 'tenants.tier is not null');
select col_has_check('public', 'tenants', 'tier', 'tenants.tier has a check constraint');
select col_type_is('public', 'tenants', 'created_at', 'timestamp with time zone', 'tenants.created_at is timestamptz');
select col_has_default('public', 'tenants', 'created_at', 'tenants.created_at has a default');
select throws_ok(
  $$insert into public.tenants (slug, name, tier) values ('pgtap-bad-tier', 'Bad tier', 'beta')$$,
  '23514', null, 'a tier outside internal/pilot/low_volume/ga is rejected');
select lives_ok(
  $$insert into public.tenants (slug, name, tier) values
      ('pgtap-t-internal', 'x', 'internal'), ('pgtap-t-pilot', 'x', 'pilot'),
      ('pgtap-t-low', 'x', 'low_volume'), ('pgtap-t-ga', 'x', 'ga')$$,
  'every rollout tier is accepted');
select throws_ok(
  $$insert into public.tenants (slug, name, tier) values ('pgtap-t-ga', 'dup', 'ga')$$,
  '23505', null, 'a duplicate slug is rejected');

-- tenant_profiles
select col_is_pk('public', 'tenant_profiles', 'tenant_id', 'tenant_profiles.tenant_id is the primary key');
select col_type_is('public', 'tenant_profiles', 'tenant_id', 'uuid', 'tenant_profiles.tenant_id is uuid');
select fk_ok('public', 'tenant_profiles', 'tenant_id', 'public', 'tenants', 'id', 'tenant_profiles.tenant_id references tenants.id');
select has_column('public', 'tenant_profiles', 'display_name', 'tenant_profiles.display_name exists');
select has_column('public', 'tenant_profiles', 'locale', 'tenant_profiles.locale exists');
select has_column('public', 'tenant_profiles', 'timezone', 'tenant_profiles.timezone exists');
select col_type_is('public', 'tenant_profiles', 'settings', 'jsonb', 'tenant_profiles.settings is jsonb');
select col_type_is('public', 'tenant_profiles', 'updated_at', 'timestamp with time zone', 'tenant_profiles.updated_at is timestamptz');

-- feature_flags (shape relied upon by the flags CLI)
select columns_are('public', 'feature_flags',
  array['tenant_id', 'flag', 'enabled', 'updated_at', 'updated_by'],
  'feature_flags has exactly the expected columns');
select col_is_pk('public', 'feature_flags', array['tenant_id', 'flag'], 'feature_flags primary key is (tenant_id, flag)');
select fk_ok('public', 'feature_flags', 'tenant_id', 'public', 'tenants', 'id', 'feature_flags.tenant_id references tenants.id');
select col_type_is('public', 'feature_flags', 'tenant_id', 'uuid', 'feature_flags.tenant_id is uuid');
select col_type_is('public', 'feature_flags', 'flag', 'text', 'feature_flags.flag is text');
select col_type_is('public', 'feature_flags', 'enabled', 'boolean', 'feature_flags.enabled is boolean');
select col_not_null('public', 'feature_flags', 'enabled', 'feature_flags.enabled is not null');
select col_default_is('public', 'feature_flags', 'enabled', 'false', 'feature_flags.enabled defaults to false');
select col_type_is('public', 'feature_flags', 'updated_at', 'timestamp with time zone', 'feature_flags.updated_at is timestamptz');
select col_not_null('public', 'feature_flags', 'updated_at', 'feature_flags.updated_at is not null');
select col_default_is('public', 'feature_flags', 'updated_at', 'now()', 'feature_flags.updated_at defaults to now()');
select col_type_is('public', 'feature_flags', 'updated_by', 'text', 'feature_flags.updated_by is text');
select col_is_null('public', 'feature_flags', 'updated_by', 'feature_flags.updated_by is nullable');

-- tenant_migration_audit
select col_is_pk('public', 'tenant_migration_audit', 'id', 'tenant_migration_audit.id is the primary key');
select col_type_is('public', 'tenant_migration_audit', 'id', 'bigint', 'tenant_migration_audit.id is bigint');
select col_default_is('public', 'tenant_migration_audit', 'id',
  $$nextval('tenant_migration_audit_id_seq'::regclass)$$, 'tenant_migration_audit.id is a bigserial');
select col_type_is('public', 'tenant_migration_audit', 'tenant_id', 'uuid', 'tenant_migration_audit.tenant_id is uuid');
select col_type_is('public', 'tenant_migration_audit', 'migration', 'text', 'tenant_migration_audit.migration is text');
select col_type_is('public', 'tenant_migration_audit', 'action', 'text', 'tenant_migration_audit.action is text');
select col_type_is('public', 'tenant_migration_audit', 'rows_affected', 'integer', 'tenant_migration_audit.rows_affected is integer');
select col_default_is('public', 'tenant_migration_audit', 'recorded_at', 'now()', 'tenant_migration_audit.recorded_at defaults to now()');
select hasnt_fk('public', 'tenant_migration_audit', 'tenant_migration_audit has no foreign key (audit outlives tenants)');

select * from finish();
rollback;
