-- Revisions (FEATURES §4.7): the brouillons and dossiers en construction of a démarche follow
-- its published revision. The rebase job picks them by (procedure, revision) in id order, and
-- counts those still to move; dossiers en instruction or terminés are not in this index.
create index dossiers_following_revision_idx on dossiers (procedure_id, revision_id, id)
  where state in ('brouillon', 'en_construction');
