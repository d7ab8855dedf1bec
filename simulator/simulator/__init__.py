"""The portfolio simulator: a lending book run through the real platform, day by day."""
