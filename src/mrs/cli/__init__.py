"""mrs.cli — the click commands. Thin: parse options, call the rooms, print."""
