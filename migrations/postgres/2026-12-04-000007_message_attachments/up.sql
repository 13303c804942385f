-- The files a message was sent with, as the Message object shows them (a JSON array of the
-- attachments' metadata), so history reads need no join. `attachments.message_id` links the
-- other way and is set in the same transaction.
ALTER TABLE messages ADD COLUMN attachments TEXT;
