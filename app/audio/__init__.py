"""Audio: record, play, encode and decode with sounddevice/soundfile. No Qt here."""
