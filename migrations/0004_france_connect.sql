-- FranceConnect (connector `france_connect`, identity world).

-- The identity FranceConnect vouches for, linked to one account by `sub` (pairwise per
-- service provider). Updated on every FranceConnect sign-in, as DS does.
create table france_connect_informations (
  id bigint primary key generated always as identity,
  user_id bigint not null references users (id) on delete cascade,
  france_connect_particulier_id text not null unique,
  given_name text not null,
  family_name text not null,
  birthdate date,
  birthplace text,
  birthcountry text,
  gender text,
  email_france_connect text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index france_connect_informations_user_idx on france_connect_informations (user_id);

-- A sign-in in progress: the browser holds a random cookie, we keep its SHA-256 with the
-- state and nonce sent to FranceConnect. One use, ten minutes.
create table france_connect_logins (
  token_hash text primary key,
  state text not null,
  nonce text not null,
  expires_at timestamptz not null
);

-- The id_token of a FranceConnect session, the id_token_hint of its logout.
alter table sessions add column france_connect_id_token text;
