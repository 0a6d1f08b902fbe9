-- Run once by the postgres image's entrypoint when the data volume is empty
-- (docker-compose.yml mounts it into /docker-entrypoint-initdb.d). POSTGRES_USER=acgs owns both.
-- acgs_audit: the Audit Engine's tamper-evident event chain.
-- acgs_evolution: Evolution Oversight's proposals and reviews.
-- Each service creates its own tables with its migrations on start.
CREATE DATABASE acgs_audit OWNER acgs;
CREATE DATABASE acgs_evolution OWNER acgs;
