-- Database connections enforce `enabled_clients` from this version on. Before, every client
-- could use every database connection, so each client existing now is enabled on each
-- database connection existing now: today's tenants keep working. (`WHERE true`: SQLite
-- needs a WHERE before an upsert clause on INSERT ... SELECT.)
INSERT INTO connection_clients (connection_id, client_id)
SELECT c.id, k.client_id FROM connections c CROSS JOIN clients k
WHERE c.strategy = 'auth0'
ON CONFLICT DO NOTHING;
