-- A transaction that NOTIFYs holds a global lock from its pre-commit until its commit record
-- is flushed, so notifying from every deposit serializes all deposits behind one another's
-- WAL flush. Rows written by dossier commits now set `wake = false` and wake the worker
-- after their commit (coalesced by the application); other writers keep the trigger.
alter table outbox add column wake boolean not null default true;
drop trigger outbox_notify on outbox;
create trigger outbox_notify after insert on outbox
  for each row when (new.wake) execute function notify_worker();
