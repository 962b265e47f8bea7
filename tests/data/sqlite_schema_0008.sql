-- sqlite_master of a new database at revision 0008, as migrated before PostgreSQL was supported
-- (tests/test_postgres.py: a file migrated today must have exactly this schema).
-- index ix_pending_operations_resource_record_id on pending_operations
CREATE INDEX ix_pending_operations_resource_record_id ON pending_operations (resource, record_id);
-- index ix_time_entries_local_date on time_entries
CREATE INDEX ix_time_entries_local_date ON time_entries (local_date);
-- index ix_time_entries_project_id on time_entries
CREATE INDEX ix_time_entries_project_id ON time_entries (project_id);
-- index ix_time_entries_running on time_entries
CREATE INDEX ix_time_entries_running ON time_entries (start) WHERE duration < 0;
-- index ix_time_entries_start on time_entries
CREATE INDEX ix_time_entries_start ON time_entries (start);
-- index ix_time_entries_workspace_id_start on time_entries
CREATE INDEX ix_time_entries_workspace_id_start ON time_entries (workspace_id, start);
-- index ix_time_entry_tags_tag_id on time_entry_tags
CREATE INDEX ix_time_entry_tags_tag_id ON time_entry_tags (tag_id);
-- index sqlite_autoindex_alembic_version_1 on alembic_version (no SQL)
-- index sqlite_autoindex_id_map_1 on id_map (no SQL)
-- index sqlite_autoindex_quota_state_1 on quota_state (no SQL)
-- index sqlite_autoindex_sync_cursors_1 on sync_cursors (no SQL)
-- index sqlite_autoindex_time_entry_tags_1 on time_entry_tags (no SQL)
-- index sqlite_autoindex_tz_offsets_1 on tz_offsets (no SQL)
-- index sqlite_autoindex_workspace_users_1 on workspace_users (no SQL)
-- table account on account
CREATE TABLE account (
	id INTEGER NOT NULL, 
	email TEXT, 
	fullname TEXT, 
	timezone TEXT, 
	default_workspace_id BIGINT, 
	beginning_of_week INTEGER, 
	at TEXT, 
	raw TEXT, 
	synced_at TEXT NOT NULL, 
	CONSTRAINT pk_account PRIMARY KEY (id)
);
-- table alembic_version on alembic_version
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
-- table clients on clients
CREATE TABLE clients (
	id INTEGER NOT NULL, 
	workspace_id BIGINT NOT NULL, 
	name TEXT NOT NULL, 
	archived BOOLEAN DEFAULT 0 NOT NULL, 
	notes TEXT, 
	creator_id BIGINT, 
	at TEXT, 
	raw TEXT, 
	CONSTRAINT pk_clients PRIMARY KEY (id)
);
-- table conflicts on conflicts
CREATE TABLE conflicts (
	id INTEGER NOT NULL, 
	resource TEXT NOT NULL, 
	record_id BIGINT NOT NULL, 
	kind TEXT NOT NULL, 
	field TEXT, 
	base_value TEXT, 
	local_value TEXT, 
	remote_value TEXT, 
	kept TEXT, 
	detected_at TEXT NOT NULL, 
	resolved_at TEXT, 
	CONSTRAINT pk_conflicts PRIMARY KEY (id)
);
-- table id_map on id_map
CREATE TABLE id_map (
	kind TEXT NOT NULL, 
	local_id BIGINT NOT NULL, 
	toggl_id BIGINT NOT NULL, 
	pushed_at TEXT NOT NULL, 
	CONSTRAINT pk_id_map PRIMARY KEY (kind, local_id)
);
-- table pending_operations on pending_operations
CREATE TABLE pending_operations (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	resource TEXT NOT NULL, 
	action TEXT NOT NULL, 
	record_id BIGINT NOT NULL, 
	workspace_id BIGINT NOT NULL, 
	state TEXT DEFAULT 'queued' NOT NULL, 
	base TEXT, 
	fingerprint TEXT, 
	sent_at TEXT, 
	attempts INTEGER DEFAULT 0 NOT NULL, 
	error TEXT, 
	created_at TEXT NOT NULL, 
	updated_at TEXT NOT NULL, 
	CONSTRAINT ck_pending_operations_action CHECK (action IN ('create', 'update', 'delete')), 
	CONSTRAINT ck_pending_operations_state CHECK (state IN ('queued', 'in_flight', 'failed'))
);
-- table projects on projects
CREATE TABLE projects (
	id INTEGER NOT NULL, 
	workspace_id BIGINT NOT NULL, 
	client_id BIGINT, 
	name TEXT NOT NULL, 
	active BOOLEAN DEFAULT 1 NOT NULL, 
	is_private BOOLEAN DEFAULT 1 NOT NULL, 
	color TEXT, 
	billable BOOLEAN DEFAULT 0 NOT NULL, 
	created_at TEXT, 
	at TEXT, 
	raw TEXT, 
	CONSTRAINT pk_projects PRIMARY KEY (id)
);
-- table quota_state on quota_state
CREATE TABLE quota_state (
	pool TEXT NOT NULL, 
	remaining INTEGER, 
	resets_at TEXT, 
	observed_at TEXT NOT NULL, 
	CONSTRAINT pk_quota_state PRIMARY KEY (pool)
);
-- table sqlite_sequence on sqlite_sequence
CREATE TABLE sqlite_sequence(name,seq);
-- table sync_cursors on sync_cursors
CREATE TABLE sync_cursors (
	resource TEXT NOT NULL, 
	since TEXT NOT NULL, 
	full_sync_at TEXT, 
	updated_at TEXT NOT NULL, 
	CONSTRAINT pk_sync_cursors PRIMARY KEY (resource)
);
-- table tags on tags
CREATE TABLE tags (
	id INTEGER NOT NULL, 
	workspace_id BIGINT NOT NULL, 
	name TEXT NOT NULL, 
	creator_id BIGINT, 
	at TEXT, 
	raw TEXT, 
	CONSTRAINT pk_tags PRIMARY KEY (id)
);
-- table time_entries on time_entries
CREATE TABLE time_entries (
	id INTEGER NOT NULL, 
	workspace_id BIGINT NOT NULL, 
	user_id BIGINT, 
	project_id BIGINT, 
	task_id BIGINT, 
	description TEXT, 
	start TEXT NOT NULL, 
	stop TEXT, 
	duration INTEGER NOT NULL, 
	billable BOOLEAN DEFAULT 0 NOT NULL, 
	tag_ids TEXT DEFAULT '[]' NOT NULL, 
	tags TEXT DEFAULT '[]' NOT NULL, 
	at TEXT, 
	raw TEXT, local_date TEXT, 
	CONSTRAINT pk_time_entries PRIMARY KEY (id), 
	CONSTRAINT ck_time_entries_duration_normalised CHECK (duration >= -1)
);
-- table time_entry_tags on time_entry_tags
CREATE TABLE time_entry_tags (
	time_entry_id BIGINT NOT NULL, 
	tag_id BIGINT NOT NULL, 
	CONSTRAINT pk_time_entry_tags PRIMARY KEY (time_entry_id, tag_id), 
	CONSTRAINT fk_time_entry_tags_time_entry_id_time_entries FOREIGN KEY(time_entry_id) REFERENCES time_entries (id) ON DELETE CASCADE ON UPDATE CASCADE
);
-- table tz_offsets on tz_offsets
CREATE TABLE tz_offsets (
	utc_from TEXT NOT NULL, 
	utc_to TEXT NOT NULL, 
	offset_seconds INTEGER NOT NULL, 
	zone TEXT NOT NULL, 
	CONSTRAINT pk_tz_offsets PRIMARY KEY (utc_from)
);
-- table workspace_users on workspace_users
CREATE TABLE workspace_users (
	workspace_id BIGINT NOT NULL, 
	user_id BIGINT NOT NULL, 
	email TEXT, 
	fullname TEXT, 
	role TEXT, 
	is_active BOOLEAN DEFAULT 1 NOT NULL, 
	raw TEXT, 
	CONSTRAINT pk_workspace_users PRIMARY KEY (workspace_id, user_id)
);
-- table workspaces on workspaces
CREATE TABLE workspaces (
	id INTEGER NOT NULL, 
	organization_id BIGINT, 
	name TEXT NOT NULL, 
	premium BOOLEAN DEFAULT 0 NOT NULL, 
	at TEXT, 
	raw TEXT, 
	CONSTRAINT pk_workspaces PRIMARY KEY (id)
);
-- trigger time_entries_local_date_insert on time_entries
CREATE TRIGGER time_entries_local_date_insert AFTER INSERT ON time_entries
WHEN NEW.local_date IS NULL
BEGIN UPDATE time_entries SET local_date = date(NEW.start, COALESCE((SELECT o.offset_seconds FROM tz_offsets o WHERE o.utc_from <= NEW.start ORDER BY o.utc_from DESC LIMIT 1), 0) || ' seconds') WHERE id = NEW.id; END;
-- trigger time_entries_local_date_update on time_entries
CREATE TRIGGER time_entries_local_date_update AFTER UPDATE OF start ON time_entries
WHEN NEW.start IS NOT OLD.start
BEGIN UPDATE time_entries SET local_date = date(NEW.start, COALESCE((SELECT o.offset_seconds FROM tz_offsets o WHERE o.utc_from <= NEW.start ORDER BY o.utc_from DESC LIMIT 1), 0) || ' seconds') WHERE id = NEW.id; END;
-- view daily_totals on daily_totals
CREATE VIEW daily_totals AS
SELECT
    local_date AS date,
    count(*) AS entries,
    sum(duration) AS seconds,
    round(sum(duration) / 3600.0, 2) AS hours,
    sum(CASE WHEN billable THEN duration ELSE 0 END) AS billable_seconds
FROM entries
GROUP BY local_date;
-- view entries on entries
CREATE VIEW entries AS
SELECT
    e.id,
    e.workspace_id,
    w.name AS workspace,
    e.description,
    e.project_id,
    p.name AS project,
    p.client_id,
    c.name AS client,
    (SELECT group_concat(name, ', ') FROM (
        SELECT t.name FROM time_entry_tags et JOIN tags t ON t.id = et.tag_id
        WHERE et.time_entry_id = e.id ORDER BY t.name)) AS tags,
    e.start,
    e.stop,
    CASE WHEN e.duration < 0
         THEN CAST(strftime('%s', 'now') AS INTEGER) - CAST(strftime('%s', e.start) AS INTEGER)
         ELSE e.duration END AS duration,
    e.duration < 0 AS running,
    e.billable,
    datetime(e.start, COALESCE((SELECT o.offset_seconds FROM tz_offsets o WHERE o.utc_from <= e.start ORDER BY o.utc_from DESC LIMIT 1), 0) || ' seconds') AS local_start,
    e.local_date AS local_date,
    e.id < 0 AS unsynced
FROM time_entries e
LEFT JOIN workspaces w ON w.id = e.workspace_id
LEFT JOIN projects p ON p.id = e.project_id
LEFT JOIN clients c ON c.id = p.client_id;
-- view entry_tags on entry_tags
CREATE VIEW entry_tags AS
SELECT et.time_entry_id, et.tag_id, t.name AS tag
FROM time_entry_tags et
LEFT JOIN tags t ON t.id = et.tag_id;
