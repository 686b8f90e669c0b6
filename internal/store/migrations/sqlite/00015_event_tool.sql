-- +goose Up
-- The MCP tool whose API request made the change (the Supply-Mcp-Tool header
-- of a request an agent's tool made), besides the key: '' for any other.
ALTER TABLE events ADD COLUMN actor_tool TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE events DROP COLUMN actor_tool;
