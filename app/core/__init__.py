"""Orchestration of chat, comparison, images, speech, transcription and usage. No Qt here."""
