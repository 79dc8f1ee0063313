"""Text forms shared by every layer above records: the canonical comparison form of an ad."""
