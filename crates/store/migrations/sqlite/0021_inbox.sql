-- The inbox at 100k open items: its order is "most urgent first, then soonest due", so the
-- open-work indexes hold urgency descending and an owner's first page is read off the index
-- in order instead of sorting every open item of the owner. The count of urgent reports
-- waiting for acknowledgement walks only those (kind in the index), and the office head's
-- late supervised items have an index of their own.
DROP INDEX work_unit_open;
DROP INDEX work_user_open;
CREATE INDEX work_unit_open ON work_items (owner_unit_id, urgency DESC, due_at) WHERE state = 'open';
CREATE INDEX work_user_open ON work_items (owner_user_id, urgency DESC, due_at) WHERE state = 'open';
CREATE INDEX work_unit_kind_open ON work_items (owner_unit_id, kind) WHERE state = 'open';
CREATE INDEX work_escalated ON work_items (county_code, escalated_at)
    WHERE state = 'open' AND escalated_at IS NOT NULL;
