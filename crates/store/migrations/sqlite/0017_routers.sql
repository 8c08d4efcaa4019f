-- Routers and the networks they join (SQLite). A network joins at most one router (the
-- primary key of router_interfaces); a router with interfaces is not deleted, nor a joined network.

CREATE TABLE routers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE router_interfaces (
    network_id TEXT PRIMARY KEY REFERENCES networks(id),
    router_id  TEXT NOT NULL REFERENCES routers(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX router_interfaces_router ON router_interfaces (router_id);
