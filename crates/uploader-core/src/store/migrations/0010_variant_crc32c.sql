-- The CRC32C of a staged variant's whole file, taken when it was staged: a multipart upload's
-- parts must add up to it before the upload is completed (NULL for variants staged before).
ALTER TABLE variants ADD COLUMN crc32c INTEGER CHECK (crc32c BETWEEN 0 AND 4294967295);
