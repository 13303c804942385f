DROP TABLE webhook_leases;
DROP TABLE webhook_outbox;
DROP TABLE webhook_endpoints;
