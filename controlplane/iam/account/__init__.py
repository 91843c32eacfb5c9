"""The account as a whole: its alias, its authorization details and its summary."""
