-- +goose Up
-- change_counters counts, per account, every write of its procurements
-- and resources (see the PostgreSQL migration). SQLite has one
-- writer at a time, so the triggers need not wait for commit.
CREATE TABLE change_counters (
    account_id INTEGER PRIMARY KEY,
    version    INTEGER NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER procurements_insert_counted AFTER INSERT ON procurements BEGIN
    INSERT INTO change_counters (account_id, version) VALUES (NEW.account_id, 1)
    ON CONFLICT (account_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER procurements_update_counted AFTER UPDATE ON procurements BEGIN
    INSERT INTO change_counters (account_id, version) VALUES (NEW.account_id, 1)
    ON CONFLICT (account_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER procurements_delete_counted AFTER DELETE ON procurements BEGIN
    INSERT INTO change_counters (account_id, version) VALUES (OLD.account_id, 1)
    ON CONFLICT (account_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER resources_insert_counted AFTER INSERT ON resources BEGIN
    INSERT INTO change_counters (account_id, version) VALUES (NEW.account_id, 1)
    ON CONFLICT (account_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER resources_update_counted AFTER UPDATE ON resources BEGIN
    INSERT INTO change_counters (account_id, version) VALUES (NEW.account_id, 1)
    ON CONFLICT (account_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER resources_delete_counted AFTER DELETE ON resources BEGIN
    INSERT INTO change_counters (account_id, version) VALUES (OLD.account_id, 1)
    ON CONFLICT (account_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER resources_delete_counted;
DROP TRIGGER resources_update_counted;
DROP TRIGGER resources_insert_counted;
DROP TRIGGER procurements_delete_counted;
DROP TRIGGER procurements_update_counted;
DROP TRIGGER procurements_insert_counted;
DROP TABLE change_counters;
