"""The conversation view: streamed markdown rendered fast at any length."""
