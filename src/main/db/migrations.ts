/**
 * Numbered schema steps. Step N takes a database at schema version N-1 to N; PRAGMA user_version
 * records where a file stands. Never edit a step that has shipped: add the next one.
 */
export const migrations: readonly string[] = [
  // 1: datasets with versions, their examples and preference pairs, and the jobs that made them.
  `
  CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
  );
  CREATE TABLE dataset_versions (
    id          INTEGER PRIMARY KEY,
    dataset_id  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    format      TEXT NOT NULL,
    source_file TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    source_bytes INTEGER NOT NULL,
    summary     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (dataset_id, version)
  );
  CREATE TABLE examples (
    id            INTEGER PRIMARY KEY,
    version_id    INTEGER NOT NULL REFERENCES dataset_versions(id) ON DELETE CASCADE,
    line          INTEGER NOT NULL,
    prompt        TEXT NOT NULL,
    response      TEXT NOT NULL,
    reward        REAL,
    reward_source TEXT,
    metadata      TEXT
  );
  CREATE INDEX examples_by_version ON examples (version_id, id);
  CREATE TABLE preference_pairs (
    id          INTEGER PRIMARY KEY,
    version_id  INTEGER NOT NULL REFERENCES dataset_versions(id) ON DELETE CASCADE,
    line        INTEGER NOT NULL,
    prompt      TEXT NOT NULL,
    chosen      TEXT NOT NULL,
    rejected    TEXT NOT NULL,
    metadata    TEXT
  );
  CREATE INDEX pairs_by_version ON preference_pairs (version_id, id);
  CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    params      TEXT NOT NULL,
    result      TEXT,
    error       TEXT,
    owner_pid   INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    finished_at TEXT
  );
  `,
  // 2: language models in the project: where each came from and where its checkpoint folder is.
  `
  CREATE TABLE models (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    origin      TEXT NOT NULL CHECK (origin IN ('imported', 'created', 'trained')),
    source      TEXT NOT NULL,
    parent_id   INTEGER REFERENCES models(id),
    config      TEXT NOT NULL,
    parameters  INTEGER NOT NULL,
    tokenizer   TEXT NOT NULL,
    folder      TEXT NOT NULL,
    weights_sha256 TEXT NOT NULL,
    created_at  TEXT NOT NULL
  );
  `,
  // 3: training runs, their metrics per step, and sampled responses.
  `
  CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    algo          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
    config        TEXT NOT NULL,
    out_model     TEXT NOT NULL,
    folder        TEXT NOT NULL,
    step          INTEGER NOT NULL DEFAULT 0,
    total_steps   INTEGER,
    job_id        INTEGER REFERENCES jobs(id),
    summary       TEXT,
    error         TEXT,
    created_at    TEXT NOT NULL,
    finished_at   TEXT
  );
  CREATE TABLE run_metrics (
    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step    INTEGER NOT NULL,
    name    TEXT NOT NULL,
    value   REAL NOT NULL,
    PRIMARY KEY (run_id, step, name)
  ) WITHOUT ROWID;
  CREATE TABLE samples (
    id          INTEGER PRIMARY KEY,
    model_id    INTEGER NOT NULL REFERENCES models(id),
    prompt      TEXT NOT NULL,
    response    TEXT NOT NULL,
    settings    TEXT NOT NULL,
    rewards     TEXT,
    source      TEXT NOT NULL,
    created_at  TEXT NOT NULL
  );
  CREATE INDEX samples_by_model ON samples (model_id, id);
  `,
  // 4: rating campaigns: blinded pairs of responses, annotators with their own tokens, their
  // assignments (the seeded side order lives here) and one committed rating per assignment.
  `
  CREATE TABLE campaigns (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    status             TEXT NOT NULL CHECK (status IN ('preparing', 'ready', 'failed')),
    config             TEXT NOT NULL,
    guidelines         TEXT NOT NULL,
    guidelines_version TEXT NOT NULL,
    job_id             INTEGER REFERENCES jobs(id),
    error              TEXT,
    created_at         TEXT NOT NULL
  );
  CREATE TABLE items (
    id             INTEGER PRIMARY KEY,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('pair', 'gold')),
    prompt         TEXT NOT NULL,
    first_sample   INTEGER NOT NULL REFERENCES samples(id),
    second_sample  INTEGER NOT NULL REFERENCES samples(id),
    first_system   TEXT NOT NULL,
    second_system  TEXT NOT NULL,
    gold_helpful   TEXT,
    gold_safe      TEXT,
    reveals        INTEGER NOT NULL DEFAULT 0,
    rank           INTEGER NOT NULL,
    assigned       INTEGER NOT NULL DEFAULT 0,
    open           INTEGER NOT NULL DEFAULT 1
  );
  CREATE INDEX items_queue ON items (campaign_id, open, rank);
  CREATE INDEX items_progress ON items (campaign_id, kind, assigned);
  CREATE TABLE annotators (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
  );
  CREATE TABLE campaign_annotators (
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    annotator_id  INTEGER NOT NULL REFERENCES annotators(id),
    token_sha256  TEXT UNIQUE,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (campaign_id, annotator_id)
  );
  CREATE TABLE assignments (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    item_id       INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    annotator_id  INTEGER NOT NULL REFERENCES annotators(id),
    swapped       INTEGER NOT NULL,
    repeat_of     INTEGER REFERENCES assignments(id),
    want_repeat   INTEGER NOT NULL DEFAULT 0,
    rated         INTEGER NOT NULL DEFAULT 0,
    reopened_at   TEXT,
    created_at    TEXT NOT NULL
  );
  CREATE UNIQUE INDEX assignments_once ON assignments (item_id, annotator_id) WHERE repeat_of IS NULL;
  CREATE UNIQUE INDEX assignments_repeat_once ON assignments (repeat_of) WHERE repeat_of IS NOT NULL;
  CREATE INDEX assignments_by_annotator ON assignments (campaign_id, annotator_id, id);
  CREATE INDEX assignments_unrated ON assignments (campaign_id, annotator_id) WHERE rated = 0;
  CREATE INDEX assignments_repeat_due ON assignments (campaign_id, annotator_id, id) WHERE want_repeat = 1;
  CREATE TABLE ratings (
    assignment_id      INTEGER PRIMARY KEY REFERENCES assignments(id) ON DELETE CASCADE,
    campaign_id        INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    annotator_id       INTEGER NOT NULL REFERENCES annotators(id),
    helpful            TEXT CHECK (helpful IN ('first', 'second', 'both_good', 'both_bad')),
    safe               TEXT CHECK (safe IN ('first', 'second', 'both_good', 'both_bad')),
    helpful_strength   TEXT CHECK (helpful_strength IN ('slight', 'clear', 'strong')),
    safe_strength      TEXT CHECK (safe_strength IN ('slight', 'clear', 'strong')),
    rationale          TEXT NOT NULL DEFAULT '',
    flag               TEXT CHECK (flag IN ('broken', 'truncated', 'other')),
    flag_note          TEXT NOT NULL DEFAULT '',
    skipped            INTEGER NOT NULL DEFAULT 0,
    swapped            INTEGER NOT NULL,
    active_ms          INTEGER NOT NULL,
    guidelines_version TEXT NOT NULL,
    source             TEXT NOT NULL DEFAULT 'studio',
    edits              INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
  );
  CREATE INDEX ratings_by_annotator ON ratings (campaign_id, annotator_id, updated_at);
  `,
  // 5: retrains: a run on a campaign's rewards, and the campaign that will compare its model.
  `
  CREATE TABLE retrains (
    id             INTEGER PRIMARY KEY,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns(id),
    dataset        TEXT NOT NULL,
    run_id         INTEGER NOT NULL REFERENCES runs(id),
    next_campaign  TEXT NOT NULL,
    created_at     TEXT NOT NULL
  );
  `,
  // 6: responses that no model gave (a dataset's own answers, gold items read from a file) are
  // samples without a model, so items keep pointing at samples; an item records which side is the
  // dataset's chosen response (relabelling campaigns); a gold item's expected answers become a
  // JSON list of the accepted verdicts, and an automatic gold item (every one made so far) also
  // accepts "both bad", since the on-topic response may be as useless as the off-topic one.
  // samples is rebuilt (model_id loses NOT NULL), which migrate() runs with foreign keys off.
  `
  CREATE TABLE samples_new (
    id          INTEGER PRIMARY KEY,
    model_id    INTEGER REFERENCES models(id),
    prompt      TEXT NOT NULL,
    response    TEXT NOT NULL,
    settings    TEXT NOT NULL,
    rewards     TEXT,
    source      TEXT NOT NULL,
    created_at  TEXT NOT NULL
  );
  INSERT INTO samples_new (id, model_id, prompt, response, settings, rewards, source, created_at)
    SELECT id, model_id, prompt, response, settings, rewards, source, created_at FROM samples;
  DROP TABLE samples;
  ALTER TABLE samples_new RENAME TO samples;
  CREATE INDEX samples_by_model ON samples (model_id, id);
  CREATE INDEX samples_by_source ON samples (source, id);
  ALTER TABLE items ADD COLUMN dataset_chosen TEXT CHECK (dataset_chosen IN ('first', 'second'));
  UPDATE items SET gold_helpful = json_array(gold_helpful, 'both_bad') WHERE gold_helpful IS NOT NULL;
  UPDATE items SET gold_safe = json_array(gold_safe) WHERE gold_safe IS NOT NULL;
  `,
  // 7: an annotator's skips, found without reading every rating of theirs: a first skip comes back
  // at the end of their queue, and their progress (read at every decision) counts those.
  `
  CREATE INDEX ratings_skipped ON ratings (campaign_id, annotator_id) WHERE skipped = 1;
  `,
  // 8: exactly-once submits: the rating page sends each answer with a key of its own and sends it
  // again when the answer to it was lost. A key is stored once per annotator, in the transaction
  // that stores its rating, with a hash of what was submitted (the same key with other content is
  // refused) and the item the answer handed out next (a repeat is answered with it again).
  `
  CREATE TABLE submit_keys (
    annotator_id     INTEGER NOT NULL REFERENCES annotators(id),
    key              TEXT NOT NULL,
    campaign_id      INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    assignment_id    INTEGER NOT NULL,
    request_sha256   TEXT NOT NULL,
    next_assignment  INTEGER,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (annotator_id, key)
  ) WITHOUT ROWID;
  CREATE INDEX submit_keys_by_campaign ON submit_keys (campaign_id);
  `,
  // 9: the tensor backends a run computed on, in order: a JSON list of {backend, adapter, fromStep,
  // at}, one entry per job that trained it (a resume on another backend adds one).
  `
  ALTER TABLE runs ADD COLUMN tensor_backends TEXT NOT NULL DEFAULT '[]';
  `,
];

export const SCHEMA_VERSION = migrations.length;
