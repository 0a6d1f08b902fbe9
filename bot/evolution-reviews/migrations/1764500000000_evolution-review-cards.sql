-- Up Migration

-- One row per proposal posted (or being posted) as a review card. The primary key is the claim:
-- whichever bot replica inserts the row posts the card, so a proposal is posted once across
-- restarts and replicas. A claim that never got its message (a crash between claim and post)
-- may be taken over once it is older than the poster's lease.
CREATE TABLE evolution_review_cards (
  evolution_id  uuid PRIMARY KEY,
  -- Who holds the claim (the replica's instance name) and a token only that claim knows.
  claimed_by    text NOT NULL,
  claim_token   uuid NOT NULL,
  claimed_at    timestamptz NOT NULL,
  -- Where the card is, once posted; opaque Slack references.
  channel       text,
  ts            text,
  posted_at     timestamptz,
  -- The proposal's status the card last showed once it was decided; the card is then closed.
  final_status  text,
  closed_at     timestamptz,
  CONSTRAINT evolution_review_cards_posted_together CHECK ((channel IS NULL) = (ts IS NULL) AND (ts IS NULL) = (posted_at IS NULL)),
  CONSTRAINT evolution_review_cards_closed_after_posting CHECK (closed_at IS NULL OR ts IS NOT NULL)
);

-- Every poll round reads the cards still open.
CREATE INDEX evolution_review_cards_open ON evolution_review_cards (claimed_at) WHERE closed_at IS NULL;

-- Down Migration

DROP TABLE evolution_review_cards;
