-- Up Migration

-- One row per started checklist (runbooks/checklists/checklist-store.ts). Items are copied from
-- the definition when it starts, so a checklist reads the same after the code changed.
CREATE TABLE checklists (
  id            uuid PRIMARY KEY,
  checklist     text NOT NULL,
  title         text NOT NULL,
  started_by    text NOT NULL,
  origin        text NOT NULL,
  -- Where it was started in Slack, and its message there once the bot posted it.
  channel       text,
  message_ts    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- Set once every item passed or is ticked: who made the last of them so.
  completed_at  timestamptz,
  completed_by  text,
  -- One more with every change, so a Slack edit rendered from an older state can tell it is stale.
  revision      integer NOT NULL DEFAULT 1,
  CONSTRAINT checklists_completed_together CHECK ((completed_at IS NULL) = (completed_by IS NULL))
);

CREATE INDEX checklists_open ON checklists (created_at) WHERE completed_at IS NULL;
CREATE INDEX checklists_completed ON checklists (completed_at DESC) WHERE completed_at IS NOT NULL;

CREATE TABLE checklist_items (
  checklist_id  uuid NOT NULL REFERENCES checklists (id),
  position      integer NOT NULL,
  item_id       text NOT NULL,
  text          text NOT NULL,
  mode          text NOT NULL CHECK (mode IN ('auto', 'manual')),
  note          text NOT NULL,
  state         text NOT NULL CHECK (state IN ('open', 'ticked', 'pass', 'fail', 'unknown')),
  -- What the automatic check saw, and when it ran.
  evidence      text,
  checked_at    timestamptz,
  -- Who ticked it and when, while it is ticked.
  ticked_by     text,
  ticked_at     timestamptz,
  PRIMARY KEY (checklist_id, item_id),
  UNIQUE (checklist_id, position),
  CONSTRAINT checklist_items_ticked_together CHECK ((state = 'ticked') = (ticked_by IS NOT NULL AND ticked_at IS NOT NULL)),
  CONSTRAINT checklist_items_manual_never_checked CHECK (mode = 'auto' OR state IN ('open', 'ticked'))
);

-- Every tick, untick and automatic check: who, what, when. History: never updated or deleted.
CREATE TABLE checklist_events (
  -- An identity, not a serial: the bot's restricted role inserts without a grant on a sequence.
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  checklist_id  uuid NOT NULL REFERENCES checklists (id),
  item_id       text NOT NULL,
  action        text NOT NULL CHECK (action IN ('tick', 'untick', 'check')),
  actor         text NOT NULL,
  state         text NOT NULL,
  evidence      text,
  at            timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (checklist_id, item_id) REFERENCES checklist_items (checklist_id, item_id)
);

CREATE INDEX checklist_events_of ON checklist_events (checklist_id, id);

-- Down Migration

DROP TABLE checklist_events;
DROP TABLE checklist_items;
DROP TABLE checklists;
