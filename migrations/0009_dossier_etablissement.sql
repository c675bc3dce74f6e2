-- The établissement of a dossier of a démarche for personnes morales (procedures.for_individual
-- = false): the SIRET given at the dossier's first step, and what the démarche's `siret`
-- connector gave for it — the same states and shapes as champs.external_state /
-- external_data ('pending' | 'fetched' | 'not_found'; null: not looked up, e.g. no connector).
-- Written by the dossier's commit statement (a new SIRET replaces both) and by
-- store::external::record_dossier while the dossier still holds that SIRET.
alter table dossiers
  add column siret text,
  add column etablissement_state text,
  add column etablissement_data jsonb;
