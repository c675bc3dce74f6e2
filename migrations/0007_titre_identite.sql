-- Titre d'identité (FEATURES §4, §10): the file of a decided dossier's titre d'identité is
-- deleted from storage by the `purge_titres_identite` job, which then stamps its row. The
-- row stays, so the champ still reads « présent » and the pages can say why the file is gone.
alter table attachments add column purged_at timestamptz;
