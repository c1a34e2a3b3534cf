-- A proposal's formal reply document (答复函) as the lead unit edited and kept it: JSON of
-- weibao_domain::proposals::reply_document::ReplyDocument, '' until one is kept (the page
-- then shows a draft from the platform's figures). The reply's attachments are
-- record_files with owner 'proposal'.

ALTER TABLE proposals ADD COLUMN reply_document TEXT NOT NULL DEFAULT '';
