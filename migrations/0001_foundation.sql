-- Foundation schema: accounts, démarches and their revisions, dossiers and their champs,
-- instruction (groupes, traitements, follows, avis, messagerie), attachments, and the
-- transactional outbox / jobs tables. PostgreSQL is the source of truth.

create type dossier_state as enum
  ('brouillon', 'en_construction', 'en_instruction', 'accepte', 'refuse', 'sans_suite');
create type procedure_state as enum ('brouillon', 'publiee', 'close', 'depubliee');

-- ---------------------------------------------------------------- accounts
create table users (
  id bigint primary key generated always as identity,
  email text not null,
  password_hash text,
  confirmed_at timestamptz,
  is_administrateur boolean not null default false,
  is_instructeur boolean not null default false,
  is_expert boolean not null default false,
  failed_attempts integer not null default 0,
  locked_until timestamptz,
  last_sign_in_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));

-- One-time links sent by e-mail (confirmation, password reset, account activation).
-- Only the SHA-256 of the token is stored.
create table user_tokens (
  token_hash text primary key,
  user_id bigint not null references users (id) on delete cascade,
  purpose text not null check (purpose in ('confirmation', 'reset_password', 'activation')),
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index user_tokens_user_idx on user_tokens (user_id, purpose);

-- Server-side sessions; the cookie holds a random token, the table its SHA-256.
create table sessions (
  token_hash text primary key,
  user_id bigint not null references users (id) on delete cascade,
  profile text not null default 'usager'
    check (profile in ('usager', 'instructeur', 'administrateur', 'expert')),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index sessions_user_idx on sessions (user_id);

-- ---------------------------------------------------------------- démarches
create table procedures (
  id bigint primary key generated always as identity,
  libelle text not null,
  description text not null,
  organisation text not null default '',
  for_individual boolean not null default true,
  state procedure_state not null default 'brouillon',
  path text not null,
  lien_site_web text,
  duree_conservation_dossiers integer not null default 12,
  draft_revision_id bigint,
  published_revision_id bigint,
  defaut_groupe_instructeur_id bigint,
  published_at timestamptz,
  closed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index procedures_path_key on procedures (path);

create table procedure_administrateurs (
  procedure_id bigint not null references procedures (id) on delete cascade,
  user_id bigint not null references users (id),
  created_at timestamptz not null default now(),
  primary key (procedure_id, user_id)
);
create index procedure_administrateurs_user_idx on procedure_administrateurs (user_id);

create table procedure_revisions (
  id bigint primary key generated always as identity,
  procedure_id bigint not null references procedures (id) on delete cascade,
  published_at timestamptz,
  created_at timestamptz not null default now()
);
alter table procedures
  add foreign key (draft_revision_id) references procedure_revisions (id),
  add foreign key (published_revision_id) references procedure_revisions (id);

-- stable_id identifies a champ across revisions; each revision holds its own copy of the definition.
create sequence types_de_champ_stable_id_seq;
create table types_de_champ (
  id bigint primary key generated always as identity,
  revision_id bigint not null references procedure_revisions (id) on delete cascade,
  stable_id bigint not null,
  parent_stable_id bigint,
  position integer not null,
  private boolean not null default false,
  type_champ text not null,
  libelle text not null,
  description text not null default '',
  mandatory boolean not null default true,
  options jsonb not null default '{}',
  condition jsonb,
  unique (revision_id, stable_id)
);
create index types_de_champ_revision_idx on types_de_champ (revision_id, private, position);

-- ---------------------------------------------------------------- groupes instructeurs
create table groupes_instructeurs (
  id bigint primary key generated always as identity,
  procedure_id bigint not null references procedures (id) on delete cascade,
  label text not null,
  closed boolean not null default false,
  routing_rule jsonb,
  created_at timestamptz not null default now(),
  unique (procedure_id, label)
);
alter table procedures
  add foreign key (defaut_groupe_instructeur_id) references groupes_instructeurs (id);

create table assign_tos (
  groupe_instructeur_id bigint not null references groupes_instructeurs (id) on delete cascade,
  instructeur_id bigint not null references users (id),
  instant_email_new_dossier boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (groupe_instructeur_id, instructeur_id)
);
create index assign_tos_instructeur_idx on assign_tos (instructeur_id);

-- ---------------------------------------------------------------- dossiers
create table dossiers (
  id bigint primary key generated always as identity,
  procedure_id bigint not null references procedures (id),
  revision_id bigint not null references procedure_revisions (id),
  user_id bigint not null references users (id),
  state dossier_state not null default 'brouillon',
  groupe_instructeur_id bigint references groupes_instructeurs (id),
  lock_version integer not null default 0,
  motivation text,
  depose_at timestamptz,
  en_construction_at timestamptz,
  en_instruction_at timestamptz,
  processed_at timestamptz,
  last_champ_updated_at timestamptz,
  hidden_by_user_at timestamptz,
  archived boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index dossiers_user_idx on dossiers (user_id, updated_at desc);
create index dossiers_groupe_state_idx on dossiers (groupe_instructeur_id, state, depose_at desc)
  where state <> 'brouillon';
create index dossiers_procedure_state_idx on dossiers (procedure_id, state);

create table individuals (
  dossier_id bigint primary key references dossiers (id) on delete cascade,
  civilite text not null check (civilite in ('M.', 'Mme')),
  nom text not null,
  prenom text not null,
  birthdate date,
  updated_at timestamptz not null default now()
);

-- row_id is the nil uuid outside repetition blocks.
create table champs (
  dossier_id bigint not null references dossiers (id) on delete cascade,
  stable_id bigint not null,
  row_id uuid not null default '00000000-0000-0000-0000-000000000000',
  private boolean not null default false,
  value jsonb,
  external_state text,
  external_data jsonb,
  updated_at timestamptz not null default now(),
  primary key (dossier_id, stable_id, row_id)
);

-- Append-only audit trail. (dossier_id, version) is the second guard against lost updates.
create table dossier_events (
  dossier_id bigint not null references dossiers (id) on delete cascade,
  version integer not null,
  kind text not null,
  actor_kind text not null,
  actor_id bigint,
  payload jsonb not null default '{}',
  at timestamptz not null default now(),
  primary key (dossier_id, version)
);
create function dossier_events_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'dossier_events is append-only';
end $$;
create trigger dossier_events_no_update before update on dossier_events
  for each row execute function dossier_events_append_only();

create table traitements (
  id bigint primary key generated always as identity,
  dossier_id bigint not null references dossiers (id) on delete cascade,
  state dossier_state not null,
  instructeur_email text,
  motivation text,
  processed_at timestamptz not null default now()
);
create index traitements_dossier_idx on traitements (dossier_id, processed_at);

create table follows (
  instructeur_id bigint not null references users (id),
  dossier_id bigint not null references dossiers (id) on delete cascade,
  demande_seen_at timestamptz not null default now(),
  messagerie_seen_at timestamptz not null default now(),
  annotations_privees_seen_at timestamptz not null default now(),
  avis_seen_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  unfollowed_at timestamptz,
  primary key (instructeur_id, dossier_id)
);
create index follows_dossier_idx on follows (dossier_id);

create table commentaires (
  id bigint primary key generated always as identity,
  dossier_id bigint not null references dossiers (id) on delete cascade,
  author_id bigint references users (id),
  email text not null,
  body text not null,
  created_at timestamptz not null default now(),
  discarded_at timestamptz
);
create index commentaires_dossier_idx on commentaires (dossier_id, created_at);

create table invites (
  id bigint primary key generated always as identity,
  dossier_id bigint not null references dossiers (id) on delete cascade,
  email text not null,
  user_id bigint references users (id),
  message text,
  created_at timestamptz not null default now(),
  unique (dossier_id, email)
);

create table avis (
  id bigint primary key generated always as identity,
  dossier_id bigint not null references dossiers (id) on delete cascade,
  expert_id bigint not null references users (id),
  claimant_id bigint not null references users (id),
  introduction text not null default '',
  question_label text,
  question_answer boolean,
  answer text,
  confidentiel boolean not null default false,
  answered_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index avis_dossier_idx on avis (dossier_id);
create index avis_expert_idx on avis (expert_id);

create table attachments (
  id uuid primary key,
  dossier_id bigint references dossiers (id) on delete cascade,
  record_kind text not null,
  record_key text not null,
  filename text not null,
  content_type text not null,
  byte_size bigint not null,
  checksum text not null,
  storage_key text not null,
  virus_scan text not null default 'pending' check (virus_scan in ('pending', 'safe', 'infected', 'integrity_error')),
  created_at timestamptz not null default now()
);
create index attachments_record_idx on attachments (record_kind, record_key);

create table procedure_connectors (
  procedure_id bigint not null references procedures (id) on delete cascade,
  connector text not null,
  interface_major integer not null,
  config jsonb not null default '{}',
  enabled boolean not null default true,
  primary key (procedure_id, connector)
);

-- ---------------------------------------------------------------- outbox and jobs
-- Side effects (e-mails, notifications) are rows written in the same transaction as the change
-- that caused them, then delivered at least once by the dispatcher.
create table outbox (
  id bigint primary key generated always as identity,
  topic text not null,
  idempotency_key text not null unique,
  payload jsonb not null,
  available_at timestamptz not null default now(),
  attempts integer not null default 0,
  last_error text,
  delivered_at timestamptz,
  created_at timestamptz not null default now()
);
create index outbox_pending_idx on outbox (available_at) where delivered_at is null;

create table jobs (
  id bigint primary key generated always as identity,
  kind text not null,
  payload jsonb not null default '{}',
  priority smallint not null default 0,
  run_at timestamptz not null default now(),
  attempts integer not null default 0,
  last_error text,
  done_at timestamptz,
  created_at timestamptz not null default now()
);
create index jobs_pending_idx on jobs (priority desc, run_at) where done_at is null;

create function notify_worker() returns trigger language plpgsql as $$
begin
  perform pg_notify('demarches_worker', tg_table_name);
  return null;
end $$;
create trigger outbox_notify after insert on outbox
  for each statement execute function notify_worker();
create trigger jobs_notify after insert on jobs
  for each statement execute function notify_worker();
