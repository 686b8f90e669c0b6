-- +goose Up
-- change_counters counts, per account, every write of its procurements
-- and resources, so that a reader holding something rendered
-- from them (the API's cache of offer statuses) can tell with one
-- single-row read whether it is still current, whichever process or replica
-- made the change, and whatever code path, since triggers do the counting.
--
-- The triggers are deferred to commit: the counter row is locked last, as
-- event_counters' is, so it joins no lock cycle with the rows a transaction
-- changes (a row lock taken mid-transaction would: two transactions each
-- holding a resource the other wants next). No foreign key either: checking
-- one would lock the account's row at commit, which LockAccount holds.
CREATE TABLE change_counters (
    account_id BIGINT PRIMARY KEY,
    version    BIGINT NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION count_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    acct BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        acct := OLD.account_id;
    ELSE
        acct := NEW.account_id;
    END IF;
    INSERT INTO change_counters (account_id, version) VALUES (acct, 1)
    ON CONFLICT (account_id) DO UPDATE SET version = change_counters.version + 1;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER procurements_changed AFTER INSERT OR UPDATE OR DELETE ON procurements
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION count_change();
CREATE CONSTRAINT TRIGGER resources_changed AFTER INSERT OR UPDATE OR DELETE ON resources
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION count_change();

-- +goose Down
DROP TRIGGER resources_changed ON resources;
DROP TRIGGER procurements_changed ON procurements;
DROP FUNCTION count_change();
DROP TABLE change_counters;
