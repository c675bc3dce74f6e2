-- Connectors enabled per démarche (src/procedures/connectors.rs): the capabilities the
-- connector declared when it was enabled (so the call sites find "the enabled address
-- connector" without asking the plugin host), and when the row last changed.
alter table procedure_connectors
  add column capabilities text[] not null default '{}',
  add column updated_at timestamptz not null default now();

create index procedure_connectors_capabilities_idx
  on procedure_connectors using gin (capabilities) where enabled;
